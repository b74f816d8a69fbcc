"""Regenerate the lab's golden cases: `python tests/golden/make_lab_fixtures.py [--check]`.

The sibling of make_fixtures.py for the lab's own config files (the AWS side's
swanctl.conf, updown.sh and frr.conf, and every charon's strongswan.conf), as
`network.lab.configs` renders them from templates/lab/. Each case is
`tests/golden/lab/<case>/`:

- `stack-outputs.json`: the stack outputs, built as make_fixtures.py builds
  them (documentation-range outside addresses, `FAKE_TEST_KEY_...` keys),
  every router on linux, as the lab renders it. (Not `outputs.json`: that
  name marks a datacenter case for test_golden.py.)
- `config/<instance>/<file>`: every file the lab writes under its `config/`,
  for a lab directory of `/var/lib/crossnet/<stack>/lab` and `ip` at
  `/usr/sbin/ip`, with AWS's timers (the `-fast` case: the lab's fast ones);
- `modes.txt`: each file's mode (the ones holding a key are 0600).

Expected files are what the lab renders now: review the diff before
committing regenerated files. `--check` exits 1 if anything would change.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent))

from network.contract import parse_outputs  # noqa: E402
from network.lab import aws  # noqa: E402
from network.lab.configs import config_files  # noqa: E402
from network.lab.runtime import LabPaths  # noqa: E402
from network.lab.topology import build_lab  # noqa: E402
from network.plan import build_plan  # noqa: E402
from network.render import render_router  # noqa: E402
from tests.golden.make_fixtures import outputs_for, stack_config  # noqa: E402

GOLDEN = HERE / "lab"
OUTPUTS = "stack-outputs.json"
IP = "/usr/sbin/ip"
# case -> (stack config, timers)
CASES = {
    "dev": ("dev", "aws"),
    "staging": ("staging", "aws"),
    "prod": ("prod", "aws"),
    "prod-fast": ("prod", "fast"),
    "mixed": ("mixed", "aws"),
    "hybrid": ("hybrid", "aws"),
}


def lab_root(stack: str) -> Path:
    return Path("/var/lib/crossnet") / stack / "lab"


def rendered_files(outputs: dict[str, object], stack: str, timers: str) -> dict[str, str]:
    """Relative path -> text of a case directory (but its outputs file), from its outputs."""
    parsed = parse_outputs(outputs, f"lab golden case {stack}")
    lab = build_lab(parsed, build_plan(stack_config(stack), stack))
    with_d = frozenset(
        r.key
        for r in lab.routers
        if any(n.startswith("strongswan.d/") for n in render_router(r.router))
    )
    files = config_files(lab, aws.TIMERS[timers], LabPaths(lab_root(stack)), with_d, IP)
    out = {f"config/{rel}": f.text for rel, f in sorted(files.items())}
    out["modes.txt"] = "".join(f"{f.mode:04o} config/{rel}\n" for rel, f in sorted(files.items()))
    return out


def expected_files(case: str) -> dict[str, str]:
    stack, timers = CASES[case]
    outputs = outputs_for(stack, "linux")
    return {
        OUTPUTS: json.dumps(outputs, indent=2, sort_keys=True) + "\n",
        **rendered_files(outputs, stack, timers),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--check", action="store_true", help="report differences, write nothing")
    args = ap.parse_args(argv)
    changed = []
    for case in CASES:
        d = GOLDEN / case
        want = expected_files(case)
        have = (
            {str(p.relative_to(d)): p.read_text() for p in d.rglob("*") if p.is_file()}
            if d.exists()
            else {}
        )
        if want == have:
            continue
        changed.append(case)
        if not args.check:
            for stale in set(have) - set(want):
                (d / stale).unlink()
            for rel, text in want.items():
                (d / rel).parent.mkdir(parents=True, exist_ok=True)
                (d / rel).write_text(text)
    for name in changed:
        print(("differs: " if args.check else "written: ") + f"lab/{name}")
    return 1 if args.check and changed else 0


if __name__ == "__main__":
    sys.exit(main())
