# The two commands of the README:
#   make demo   - set up, then run the main job on the embedded default (STACK=dev)
#   make test   - set up, then lint, type-check and run the whole test suite (lab: dev, prod, hybrid)
STACK ?= dev
VENV := .venv/bin

.PHONY: setup demo test test-slow lint types unit bench bench-lab clean

setup:
	@scripts/setup.sh

demo: setup
	$(VENV)/crossnet demo --stack $(STACK)

lint: setup
	$(VENV)/ruff check .
	$(VENV)/ruff format --check .

types: setup
	$(VENV)/mypy

# The whole suite (the lab's on dev), then the lab suite again on prod (two
# datacenters, four routers, a transit gateway with ECMP) and on hybrid (a
# VGW and a TGW, IKEv1 with static routing over two prefixes, 192.168/16
# datacenters filling their address space). About 1, 1.5 and 2.5 minutes.
# Then the nightly's path on dev's lab: `crossnet check --inventory` over SSH, and the
# failures a nightly meets (docs/lab.md, "The nightly over SSH"); about 25 s.
NOT_AGAIN := not test_reach_lifecycle and not test_reach_ssh_nightly
test: lint types
	$(VENV)/pytest
	$(VENV)/pytest -q tests/reachability/test_reach_ssh_nightly.py --crossnet-stack dev
	$(VENV)/pytest -q tests/reachability --crossnet-stack prod -m lab -k "$(NOT_AGAIN)"
	$(VENV)/pytest -q tests/reachability --crossnet-stack hybrid -m lab -k "$(NOT_AGAIN)"

# The long lab cases (marked slow; `make test` skips them): the nightly runs these. Then
# prod's whole-router failover over the datacenter fabric (docs/lab.md, item 8).
test-slow: setup
	$(VENV)/pytest -q tests/rollout_lab tests/unit tests/devices/test_rollout_push_vyfo.py --run-slow -m slow
	$(VENV)/pytest -q tests/reachability/test_reach_failover.py --crossnet-stack prod --run-slow -m "lab and slow"

unit: setup
	$(VENV)/pytest tests/unit tests/golden -q

bench: setup
	$(VENV)/python bench/apply_bench.py
	$(VENV)/python bench/render_bench.py

bench-lab: setup
	$(VENV)/python bench/lab_bench.py --stacks dev,prod

clean:
	rm -rf .crossnet reports
