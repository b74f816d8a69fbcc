"""Real routers of every platform: an SSH session, their live state, their drift.

- `facts`: one typed structure for a router's SAs, BGP neighbours and prefix
  counts (`RouterFacts`), and the checks on it (`check_facts`);
- `readers`: per platform, the commands and their parsers (ntc-templates,
  TextFSM, the lab's strongSwan/FRR readers) -> `RouterFacts`;
- `session`: netmiko sessions bounded by timeouts, with strict host keys;
- `drift`: running config vs `crossnet render`, remediation via hier_config.

Nothing here imports netmiko, textfsm or hier_config at start-up.
"""
