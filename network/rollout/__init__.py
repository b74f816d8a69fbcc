"""`crossnet rollout`: the order of a change to a live network, computed (pure planner).

`plan_rollout(Inputs) -> Rollout` (network.rollout.planner); the classes and
their orders are in docs/rollout.md. No Pulumi import: the CLI module
(network.rollout.cli) reads the files and writes the plan.
"""

from network.rollout.model import CLASSES, Change, Check, Rollout, Step
from network.rollout.planner import Inputs, plan_rollout

__all__ = ["CLASSES", "Change", "Check", "Inputs", "Rollout", "Step", "plan_rollout"]
