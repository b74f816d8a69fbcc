"""crossnet's CrossGuard policy pack: `pulumi preview --policy-pack policy`.

The rules are in network/review/guardrails.py (run from a crossnet checkout);
crossnet_policies.py turns each into a CrossGuard policy. See docs/review.md.
"""

from crossnet_policies import PACK_NAME, capture_stack_configure, make_policies
from pulumi_policy import EnforcementLevel, PolicyPack

# Keep the stack name and config the engine sends with ConfigureStack (the SDK
# keeps only the tags); the environment stays the fallback.
capture_stack_configure()
PolicyPack(
    name=PACK_NAME,
    enforcement_level=EnforcementLevel.MANDATORY,
    policies=make_policies(),
)
