"""Read a rendered router config back into facts, one module per platform (pure).

`readback/<platform>.py` mirrors `templates/<platform>/`; `facts` holds the shared
types. `network.render.check` compares the facts with the stack's tunnel options.
"""

from __future__ import annotations

from collections.abc import Callable

from network.render.readback.facts import ConfigFacts, Policy, RejectedLineError, TunnelFacts
from network.render.readback.fortios import fortios_facts
from network.render.readback.iosxe import iosxe_facts
from network.render.readback.junos import junos_facts
from network.render.readback.linux import linux_facts
from network.render.readback.vyos import vyos_facts

READERS: dict[str, Callable[[dict[str, str]], ConfigFacts]] = {
    "linux": linux_facts,
    "iosxe": iosxe_facts,
    "junos": junos_facts,
    "vyos": vyos_facts,
    "fortios": fortios_facts,
}

__all__ = ["READERS", "ConfigFacts", "Policy", "RejectedLineError", "TunnelFacts"]
