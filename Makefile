# The two commands of the README:
#   make demo   - set up, then run the main job on the embedded default (STACK=dev)
#   make test   - set up, then lint, type-check and run the whole test suite (lab: dev, prod, hybrid)
STACK ?= dev
VENV := .venv/bin

.PHONY: setup demo test lint types unit bench bench-lab clean

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
test: lint types
	$(VENV)/pytest
	$(VENV)/pytest -q tests/reachability --crossnet-stack prod -m lab -k "not test_reach_lifecycle"
	$(VENV)/pytest -q tests/reachability --crossnet-stack hybrid -m lab -k "not test_reach_lifecycle"

unit: setup
	$(VENV)/pytest tests/unit tests/golden -q

bench: setup
	$(VENV)/python bench/apply_bench.py
	$(VENV)/python bench/render_bench.py

bench-lab: setup
	$(VENV)/python bench/lab_bench.py --stacks dev,prod

clean:
	rm -rf .crossnet reports
