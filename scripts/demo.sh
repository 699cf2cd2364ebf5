#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Installs what is missing, builds, and starts the app `mailscope` on the demo
# world (alpha.test and beta.test, in the app's own process). Without a
# display (no DISPLAY or WAYLAND_DISPLAY) it says so and runs the headless
# server instead: `mailscope-server --demo`, which prints its ports and
# accounts. Arguments go to the program that runs, e.g.
#   scripts/demo.sh --data-dir /tmp/demo
#   scripts/demo.sh --trace-file tests/fixtures/lecture.jsonl   (the app only)

set -euo pipefail

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo_root"

scripts/setup.sh
build_dir=${MAILSCOPE_BUILD_DIR:-_build}

if [[ -z "${DISPLAY:-}" && -z "${WAYLAND_DISPLAY:-}" ]]; then
  printf 'demo: no display (DISPLAY and WAYLAND_DISPLAY are unset): running the headless\n'
  printf 'demo: server instead; watch it with a client, or run the app where there is a screen\n'
  exec "$build_dir/server/mailscope-server" --demo "$@"
fi
exec "$build_dir/gui/mailscope" "$@"
