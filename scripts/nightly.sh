#!/usr/bin/env bash
# The nightly check, exactly as .github/workflows/nightly.yml (real hosts) and the cron
# line of docs/lab.md run it; tests/reachability/test_reach_ssh_nightly.py runs this very
# script against the lab over SSH.
#   scripts/nightly.sh STACK INVENTORY OUTPUTS REPORT_DIR
# Bounded as a whole (NIGHTLY_TIMEOUT, default 25 min); every SSH step has its own
# bounds (the inventory's ssh_config: ConnectTimeout, ServerAliveInterval; each command
# runs under `timeout`). Exit: crossnet check's (0 green, 1 failures), 124 on the bound.
set -euo pipefail
if [ $# -ne 4 ]; then
  echo "usage: $0 STACK INVENTORY OUTPUTS REPORT_DIR" >&2
  exit 2
fi
stack=$1 inventory=$2 outputs=$3 report=$4
crossnet=${CROSSNET:-.venv/bin/crossnet}
# shellcheck disable=SC2086  # CROSSNET may be "python -m network.cli"
exec timeout -k 30 "${NIGHTLY_TIMEOUT:-1500}" $crossnet check --stack "$stack" \
  --inventory "$inventory" --outputs "$outputs" --report-dir "$report"
