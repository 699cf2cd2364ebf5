#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Installs what is missing, builds, and runs the demo world headless
# (alpha.test and beta.test; the server prints its ports and accounts).
# Arguments go to mailscope-server, e.g. scripts/demo.sh --trace demo.jsonl

set -euo pipefail

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo_root"

scripts/setup.sh
exec "${MAILSCOPE_BUILD_DIR:-_build}/server/mailscope-server" --demo "$@"
