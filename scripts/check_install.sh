#!/usr/bin/env bash
# CI job: crossnet as a new user installs it. A fresh virtualenv from
# requirements.txt alone (not -dev), crossnet installed non-editable, and every
# non-lab command run from a project directory outside the checkout; then the
# same from an editable install. Exits non-zero on the first failure.
#
#   scripts/check_install.sh            (pip's cache makes a second run quick)
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/crossnet-install.XXXXXX")
trap 'rm -rf "$work"' EXIT
t0=$(date +%s)
say() { printf 'check_install: %s\n' "$*"; }

# The tracked files as they are in the work tree (a build must not write into the
# checkout: no build/ or egg-info there).
mkdir "$work/src"
git -C "$repo" ls-files -z | (cd "$repo" && xargs -0 tar -cf - --no-recursion) | tar -xf - -C "$work/src"

say "venv from requirements.txt only"; t1=$(date +%s)
python3 -m venv "$work/venv"
pip() {  # quiet; the log only on failure
  "$work/venv/bin/pip" install -q --no-compile --disable-pip-version-check "$@" >"$work/pip.log" 2>&1 \
    || { cat "$work/pip.log" >&2; exit 1; }
}
pip -r "$work/src/requirements.txt"
say "requirements installed in $(( $(date +%s) - t1 )) s; pip install . (non-editable)"
pip --no-deps "$work/src"
cx="$work/venv/bin/crossnet"

# the user's project: stack files only, no crossnet source
project="$work/project"
mkdir -p "$project/stacks"
cp "$repo"/stacks/Pulumi.*.yaml "$project/stacks/"
rm -rf "$work/src"  # the installed copy must not lean on the source tree

installed_from=$(cd "$project" && "$work/venv/bin/python" -c 'import network; print(network.__file__)')
case "$installed_from" in
  "$work/venv/"*) ;;
  *) say "network imported from $installed_from, not the venv"; exit 1 ;;
esac

run() {  # run EXPECTED_EXIT crossnet-args...; from the project directory, output kept short
  local want=$1; shift
  local rc=0
  (cd "$project" && CI=1 "$cx" "$@") >"$work/out" 2>"$work/err" || rc=$?
  if [ "$rc" != "$want" ]; then
    say "crossnet $* exited $rc, expected $want"; cat "$work/err" >&2; tail -20 "$work/out" >&2
    exit 1
  fi
  if grep -q Traceback "$work/err"; then
    say "crossnet $* printed a traceback"; cat "$work/err" >&2; exit 1
  fi
  say "ok: crossnet $* (exit $rc)"
}

run 0 up --stack dev --seed 1
test -f "$project/.crossnet/dev/outputs.json" || { say "no outputs in the project"; exit 1; }
run 0 up --stack dev                 # against its state: no changes (the fast path)
run 0 rollout --stack dev            # nothing changed since the apply: nothing to roll out
run 0 render --stack dev
test -n "$(ls "$project/.crossnet/dev/configs")" || { say "no configs rendered"; exit 1; }
run 0 plan --stack prod
run 0 plan --stack prod --json
run 0 diff --stack dev                 # just applied: no change
run 1 diff --stack prod --no-configs   # never applied: everything is new
run 0 estimate --stack prod --data 20TB
run 0 guardrails --stack prod
run 0 guardrails --stack prod --pack-dir
test -f "$(cat "$work/out")/PulumiPolicy.yaml" || { say "the policy pack is not shipped"; exit 1; }
if command -v dot >/dev/null 2>&1; then
  run 0 diagram --stack prod --out "$project/prod.svg"
  grep -q "<svg" "$project/prod.svg"
else
  run 1 diagram --stack prod   # says that Graphviz is missing, in one line
  test "$(wc -l <"$work/err")" = 1
fi
# from anywhere, with --project-dir
(cd / && "$cx" --project-dir "$project" plan --stack dev --json >/dev/null)
say "ok: --project-dir from /"

say "pip install -e (editable), same commands"
mkdir "$work/src"
git -C "$repo" ls-files -z | (cd "$repo" && xargs -0 tar -cf - --no-recursion) | tar -xf - -C "$work/src"
pip --no-deps -e "$work/src"
rm -rf "$project/.crossnet"
run 0 up --stack dev --seed 1
run 0 render --stack dev
run 0 plan --stack prod
run 0 estimate --stack prod --data 20TB

say "all passed in $(( $(date +%s) - t0 )) s"
