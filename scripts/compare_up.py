"""Compare what `crossnet up` writes and prints in two checkouts (a refactor's check).

For each stack: `up --seed 7` from nothing, again with nothing changed, with `--fresh`,
and with `--json`, each in a fresh process, in each checkout (one state directory,
emptied before each checkout's first run). Compared: state.json, outputs.json and
applied.json after each run, their modes, and each run's stdout, stderr and exit code.

Exact bytes, except: AWS IDs and AWS's outside addresses (198.51.100.x, 203.0.113.x)
are drawn in the order the engine's threads register resources, so one checkout
differs from itself run to run; each distinct one becomes ID<n> (n by first
appearance over one run's files), which still compares which resource refers to
which. The state's program fingerprint (a digest of the sources) and outputs digest
are masked; the digest is checked against outputs.json instead. Also checked in each
checkout: the unchanged run leaves the three files' bytes as they were and says
"no changes".

Run: .venv/bin/python scripts/compare_up.py OLD_CHECKOUT NEW_CHECKOUT [STACK ...]
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

FILES = ("state.json", "outputs.json", "applied.json")
RUNS: tuple[list[str], ...] = ([], [], ["--fresh"], ["--json"])
ID = re.compile(
    rb"(?<![0-9A-Za-z-])[a-z]+(?:-[a-z]+)*-[0-9a-f]{8,}(?![0-9a-zA-Z])"
    rb"|(?<![0-9.])(?:198\.51\.100|203\.0\.113)\.[0-9]+(?![0-9])"
)
DIGEST = re.compile(rb'"(outputsDigest|fingerprint)": "[0-9a-f]{64}"')


def _run(checkout: str, stack: str, state: Path) -> dict[str, bytes]:
    shutil.rmtree(state, ignore_errors=True)
    state.mkdir(parents=True)
    env = {**os.environ, "CROSSNET_STATE_DIR": str(state)}
    out: dict[str, bytes] = {}
    for i, extra in enumerate(RUNS):
        argv = [sys.executable, "-m", "network.cli", "up", "--stack", stack, "--seed", "7"]
        p = subprocess.run(
            [*argv, "--no-progress", *extra],
            cwd=checkout,
            env=env,
            capture_output=True,
            timeout=600,
        )
        out |= {f"up{i}.stdout": p.stdout, f"up{i}.stderr": p.stderr}
        out[f"up{i}.rc"] = str(p.returncode).encode()
        text = (state / stack / "outputs.json").read_bytes()
        digest = json.loads((state / stack / "state.json").read_text())["outputsDigest"]
        if digest != hashlib.sha256(text).hexdigest():
            raise SystemExit(f"{checkout} {stack} run {i}: outputsDigest is not outputs.json's")
        for name in FILES:
            f = state / stack / name
            out[f"up{i}/{name}"] = f.read_bytes()
            out[f"up{i}/{name}.mode"] = oct(f.stat().st_mode).encode()
    for name in FILES:
        if out[f"up0/{name}"] != out[f"up1/{name}"]:
            raise SystemExit(f"{checkout} {stack}: an unchanged up rewrote {name}")
    if b"no changes" not in out["up1.stdout"]:
        raise SystemExit(f"{checkout} {stack}: an unchanged up did not say 'no changes'")
    return out


def _canon(out: dict[str, bytes]) -> dict[str, bytes]:
    seen: dict[tuple[str, bytes], int] = {}
    res = {}
    for key, value in sorted(out.items()):
        run = key[:3]  # one mapping per run: a --fresh run may draw an earlier run's IDs

        def sub(m: re.Match[bytes], run: str = run) -> bytes:
            return b"ID%d" % seen.setdefault((run, m.group(0)), len(seen) + 1)

        res[key] = ID.sub(sub, DIGEST.sub(rb'"\1": "D"', value))
    return res


def main(argv: list[str]) -> int:
    old, new, *stacks = argv
    bad = 0
    with tempfile.TemporaryDirectory() as tmp:
        for stack in stacks or ["dev", "staging", "prod", "hybrid"]:
            a = _canon(_run(old, stack, Path(tmp) / "state"))
            b = _canon(_run(new, stack, Path(tmp) / "state"))
            diff = [k for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)]
            if diff:
                bad = 1
                print(f"{stack}: DIFFERENT in {', '.join(diff)}")
            else:
                print(f"{stack}: identical ({', '.join(FILES)}, stdout, stderr, exit codes, modes)")
    return bad


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
