#!/usr/bin/env bash
# Set up everything crossnet needs on a fresh machine: a virtualenv with the
# Python dependencies and, when run as root, the lab's Debian packages
# (strongSwan with userspace IPsec, FRR, nftables, graphviz; OpenSSH's sshd and sudo
# for the nightly's SSH path on the lab).
# Idempotent: a second run only checks.
set -euo pipefail
cd "$(dirname "$0")/.."

PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv"
  "$PY" -m venv .venv
fi
stamp=.venv/.crossnet-deps
if [ ! -f "$stamp" ] || [ requirements.txt -nt "$stamp" ] || [ requirements-dev.txt -nt "$stamp" ] \
   || [ pyproject.toml -nt "$stamp" ]; then
  echo "setup: installing Python dependencies"
  # (this machine's pip.conf lists local wheel folders that may not exist: drop that noise)
  .venv/bin/pip install -q --disable-pip-version-check -r requirements-dev.txt 2>&1 \
    | { grep -v "^WARNING: Location 'file:" || true; }
  .venv/bin/pip install -q --disable-pip-version-check --no-deps -e . 2>&1 \
    | { grep -v "^WARNING: Location 'file:" || true; }
  touch "$stamp"
fi

PKGS="strongswan-charon strongswan-swanctl libcharon-extra-plugins libstrongswan-standard-plugins
      frr frr-pythontools iputils-ping iproute2 nftables procps socat graphviz openssh-server openssh-client
      sudo"
missing=""
for p in $PKGS; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "setup: not root, so the lab's packages are not installed:$missing" >&2
    echo "setup: the lab tests will be skipped; run as root to install them" >&2
  else
    echo "setup: installing Debian packages:$missing"
    # Keep the packages' own daemons from starting: the lab starts its own.
    created_policy=0
    if [ ! -e /usr/sbin/policy-rc.d ]; then
      printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
      chmod +x /usr/sbin/policy-rc.d
      created_policy=1
    fi
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    # shellcheck disable=SC2086
    apt-get install -y -qq --no-install-recommends $missing >/dev/null
    [ "$created_policy" = 1 ] && rm -f /usr/sbin/policy-rc.d
  fi
fi
echo "setup: ready"
