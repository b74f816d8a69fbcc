# The two commands of the README:
#   make demo   - set up, then run the main job on the embedded default (STACK=dev)
#   make test   - set up, then lint, type-check and run the whole test suite
STACK ?= dev
VENV := .venv/bin

.PHONY: setup demo test lint types unit bench clean

setup:
	@scripts/setup.sh

demo: setup
	$(VENV)/crossnet demo --stack $(STACK)

lint: setup
	$(VENV)/ruff check .

types: setup
	$(VENV)/mypy

test: lint types
	$(VENV)/pytest

unit: setup
	$(VENV)/pytest tests/unit tests/golden -q

bench: setup
	$(VENV)/python bench/apply_bench.py

clean:
	rm -rf .crossnet reports
