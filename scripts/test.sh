#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Installs what is missing, builds a plain and an ASan+UBSan tree, and runs the
# whole test suite in both.  The last line is always "N passed, M failed",
# summed over both runs, for CI to read; M is 0 exactly when the script exits 0
# (a build failure or a meson test run that failed without a count of failed
# tests counts as one failure).

set -euo pipefail

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo_root"

build_dir=${MAILSCOPE_BUILD_DIR:-_build}
asan_dir=${build_dir}-asan

passed=0
failed=0

say () { printf 'test: %s\n' "$*"; }
summary () { printf '%d passed, %d failed\n' "$passed" "$failed"; }

log=$(mktemp)
trap 'rm -f "$log"' EXIT

# Last "<label>: N" line of meson test's summary in $log, or nothing.
summary_count () {
  sed -e 's/\x1b\[[0-9;]*m//g' "$log" \
    | sed -n "s/^$1:[[:space:]]*\([0-9][0-9]*\).*/\1/p" \
    | tail -n 1
}

# run_suite DIR [VAR=VALUE...]: runs meson test in DIR with the given
# environment and adds its counts to passed/failed.
run_suite () {
  local dir=$1
  shift
  say "meson test -C $dir${*:+ with $*}"
  local rc=0
  env "$@" meson test -C "$dir" --print-errorlogs --num-processes 2 2>&1 \
    | tee "$log" || rc=$?

  local ok fail timeout unexpected_pass bad
  ok=$(summary_count 'Ok')
  fail=$(summary_count 'Fail')
  timeout=$(summary_count 'Timeout')
  unexpected_pass=$(summary_count 'Unexpected Pass')
  bad=$(( ${fail:-0} + ${timeout:-0} + ${unexpected_pass:-0} ))
  if (( rc != 0 && bad == 0 )); then
    # e.g. the rebuild before the run failed, so there is no summary.
    say "$dir: meson test exited $rc without failed tests in its summary"
    bad=1
  fi
  passed=$(( passed + ${ok:-0} ))
  failed=$(( failed + bad ))
  say "$dir: ${ok:-0} passed, $bad failed"
}

if ! scripts/setup.sh --asan; then
  say "set-up or build failed; no tests ran"
  failed=1
  summary
  exit 1
fi

run_suite "$build_dir"
# G_SLICE: GLib 2.74's slice allocator hides slices from ASan; use malloc.
run_suite "$asan_dir" \
  G_SLICE=always-malloc \
  ASAN_OPTIONS=detect_leaks=1 \
  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

summary
if (( failed > 0 )); then
  exit 1
fi
