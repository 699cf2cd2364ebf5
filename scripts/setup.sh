#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Installs the Debian 12 packages Mailscope needs (only those missing), then
# configures and builds it.
#
#   scripts/setup.sh           build _build
#   scripts/setup.sh --asan    also build _build-asan (ASan + UBSan)
#
# MAILSCOPE_BUILD_DIR overrides the build directory name (default _build; the
# sanitizer build goes beside it with "-asan" appended).  Runs from any cwd
# and is safe to run again: a second run installs nothing and only rebuilds.

set -euo pipefail

# The one list of packages.  Issues that need more add them here.
packages=(
  # build
  meson
  ninja-build
  pkg-config
  gcc
  libglib2.0-dev
  libgmime-3.0-dev
  libjson-glib-dev
  libssl-dev
  libgtk-4-dev         # the app, gui/
  libadwaita-1-dev
  # by hand: `openssl s_client` and `nc -C`, as the README and labs do
  openssl
  netcat-openbsd
  # integration tests: real third-party clients
  python3
  curl
  swaks
  libnet-ssleay-perl   # swaks needs it for --tls; recommends are not installed
  fetchmail            # POP3 and IMAP integration tests (tests/integration/test_*.py)
  getmail6
  isync                # IMAP integration tests (tests/integration/test_imap_*.py): mbsync
  offlineimap3         # offlineimap
  mutt
  tmux                 # drives mutt as a terminal program in test_imap_mutt.py
  ca-certificates
  # GUI tests run under a virtual X display (xvfb-run needs xauth)
  xvfb
  xauth
  # ␍ ␊ ␉ (U+240D, U+240A, U+2409): the diagram and the inspector draw a
  # bare CR, LF or tab with them; the base system's fonts lack these glyphs
  fonts-symbola
  # the desktop file and AppStream metainfo are validated in a test
  desktop-file-utils
  appstream
  # optional: `meson test --setup valgrind`
  valgrind
)

say () { printf 'setup: %s\n' "$*"; }
die () { printf 'setup: error: %s\n' "$*" >&2; exit 1; }

usage () {
  printf 'usage: %s [--asan]\n' "$0"
}

want_asan=0
for arg in "$@"; do
  case "$arg" in
    --asan) want_asan=1 ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; die "unknown option: $arg" ;;
  esac
done

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo_root"

build_dir=${MAILSCOPE_BUILD_DIR:-_build}
asan_dir=${build_dir}-asan

# --- packages ----------------------------------------------------------------

install_missing_packages () {
  if ! command -v dpkg-query > /dev/null 2>&1; then
    say "no dpkg-query: not Debian; make sure these are installed: ${packages[*]}"
    return 0
  fi

  local missing=() pkg status
  for pkg in "${packages[@]}"; do
    status=$(dpkg-query -W -f='${Status}' "$pkg" 2> /dev/null || true)
    if [[ "$status" != "install ok installed" ]]; then
      missing+=("$pkg")
    fi
  done

  if (( ${#missing[@]} == 0 )); then
    say "packages: all ${#packages[@]} present"
    return 0
  fi
  say "packages missing: ${missing[*]}"

  local as_root=()
  if (( EUID != 0 )); then
    if ! command -v sudo > /dev/null 2>&1; then
      die "not root and no sudo; as root run:
  apt-get update && apt-get install -y --no-install-recommends ${missing[*]}"
    fi
    # Without a terminal (CI) sudo cannot ask for a password: fail at once
    # instead of hanging.
    if [[ -t 0 ]]; then
      as_root=(sudo)
    else
      as_root=(sudo -n)
    fi
    say "installing through ${as_root[*]}"
  fi

  # `env` runs as root, so the variable reaches apt-get whatever sudo's
  # env_reset policy is.
  say "apt-get update"
  "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q \
    || die "apt-get update failed"
  say "apt-get install ${missing[*]}"
  "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -q --no-install-recommends "${missing[@]}" \
    || die "apt-get install failed; missing: ${missing[*]}"
}

# --- build -------------------------------------------------------------------

configure_and_build () {
  local dir=$1
  shift
  # coredata.dat marks a configured meson build dir; a leftover empty or
  # half-made directory gets a plain setup instead.
  local setup=(meson setup)
  if [[ -f "$dir/meson-private/coredata.dat" ]]; then
    setup+=(--reconfigure)
  fi
  setup+=("$@" "$dir")
  say "${setup[*]}"
  # meson's report is long; show it only when it failed.
  local log
  if ! log=$("${setup[@]}" 2>&1); then
    printf '%s\n' "$log" >&2
    die "meson setup failed for $dir"
  fi
  say "ninja -C $dir"
  # --quiet drops the progress lines but keeps compiler output (warnings).
  ninja -C "$dir" --quiet || die "build failed in $dir"
}

install_missing_packages
configure_and_build "$build_dir"
built=$build_dir
if (( want_asan )); then
  configure_and_build "$asan_dir" -Db_sanitize=address,undefined -Db_lundef=false
  built+=" and $asan_dir"
fi
say "built $built"
