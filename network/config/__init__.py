"""Reading the stack config into a typed `NetworkSpec` (pure: no pulumi import).

`network` parses the whole network (VPCs, datacenters, gateways, peerings),
`tunnels` a connection's tunnel options, tunnels and keys, and `reader` holds
the typed, problem-recording access both use.
"""

from network.config.network import config_source, load_network, parse_network, psk_config_keys
from network.config.reader import NAME_RE, NAME_RULE, NETWORK_KEY
from network.config.tunnels import (
    DEFAULT_DH_GROUPS,
    DEFAULT_ENCRYPTION,
    DEFAULT_IKE_VERSIONS,
    DEFAULT_INTEGRITY,
)

__all__ = [
    "DEFAULT_DH_GROUPS",
    "DEFAULT_ENCRYPTION",
    "DEFAULT_IKE_VERSIONS",
    "DEFAULT_INTEGRITY",
    "NAME_RE",
    "NAME_RULE",
    "NETWORK_KEY",
    "config_source",
    "load_network",
    "parse_network",
    "psk_config_keys",
]
