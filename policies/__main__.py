"""The tkestack CrossGuard policy pack: builds the `PolicyPack` from `rules/`, nothing else.

Run by the Pulumi CLI (`pulumi preview --policy-pack policies --policy-pack-config
policies/config/<env>.json`) or offline by `tkestack review`. The pack's interpreter needs
the `tkestack` distribution installed (`pip install -e .`): the rules import the catalog.
"""

import gc

from pulumi_policy import EnforcementLevel, PolicyPack

from tkestack.policies import decode_once
from tkestack.policies.pack import policies
from tkestack.policies.rules import PACK_NAME

decode_once.install()  # each resource decoded once per call, not once per policy
# AnalyzeStack builds every resource's view once per stack policy: with CPython's default
# collector thresholds, collections rescanning them took half of it on a 4,722-resource fleet.
gc.set_threshold(50_000, 20, 100)

PolicyPack(name=PACK_NAME, enforcement_level=EnforcementLevel.ADVISORY, policies=policies())
