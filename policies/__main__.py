"""The tkestack CrossGuard policy pack: builds the `PolicyPack` from `rules/`, nothing else.

Run by the Pulumi CLI (`pulumi preview --policy-pack policies --policy-pack-config
policies/config/<env>.json`) or offline by `tkestack review`. The pack's interpreter needs
the `tkestack` distribution installed (`pip install -e .`): the rules import the catalog.
"""

from pulumi_policy import EnforcementLevel, PolicyPack

from tkestack.policies import decode_once
from tkestack.policies.pack import policies
from tkestack.policies.rules import PACK_NAME

decode_once.install()  # each resource decoded once per call, not once per policy

PolicyPack(name=PACK_NAME, enforcement_level=EnforcementLevel.ADVISORY, policies=policies())
