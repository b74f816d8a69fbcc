"""The local lab: both sides of a stack in Linux network namespaces, and its checks.

`crossnet lab up|down|status` (control), `crossnet check` (check, running
tests/reachability). The datacenter routers run the configs `network.render`
produces for Linux, unchanged; the AWS side is this package's own model of a
VGW/TGW (aws). What the lab does differently from real routers is stated in
`topology` and docs/lab.md.

Modules: topology (pure layout), aws (the AWS side's model) and configs (the
lab's own config files, from templates/lab/), sg (security groups as
nftables), probe (daemon JSON, json_cmp, run_and_expect), vici (strongSwan
client), system (namespaces, processes), runtime (state and paths), control
(the life cycle: up/down/status), daemons (what `up` starts), readiness
(convergence and its diagnosis), inventory (the suite's inventory), faults
(failure injection, outage measurement), agent (listeners and probes on
hosts), suite (helpers of the pytest suite), check (the `crossnet check`
runner), cli.
"""
