"""The tkestack CrossGuard policy pack: builds the `PolicyPack` from `rules/`, nothing else.

Run by the Pulumi CLI (`pulumi preview --policy-pack policies --policy-pack-config
policies/config/<env>.json`) or offline by `tkestack review`. The pack's interpreter needs
the `tkestack` distribution installed (`pip install -e .`): the rules import the catalog.
"""

import gc
import os

from pulumi_policy import EnforcementLevel, PolicyPack

from tkestack.policies import servicer
from tkestack.policies.pack import policies, policy_types
from tkestack.policies.rules import PACK_NAME

if os.environ.get(servicer.LIBRARY_LOOP_ENV) != "1":
    # Each call does its work once, and runs a policy only on the types it looks at.
    servicer.install(policy_types())
# A fleet's AnalyzeStack holds thousands of resource views at once: with CPython's default
# collector thresholds, collections rescanning them took half of it on a 4,722-resource fleet.
gc.set_threshold(50_000, 20, 100)

PolicyPack(name=PACK_NAME, enforcement_level=EnforcementLevel.ADVISORY, policies=policies())
