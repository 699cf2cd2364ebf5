#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# The GUI benchmark (issue 5): gui-bench under Xvfb, once per GSK renderer.
# Opens a 100,000-event trace (target: under 2 s), scrolls the diagram and
# the sessions list frame by frame, and feeds a live window 5,000, 10,000
# and 20,000 events a second. Prints each run's report, then one summary
# table. Builds gui-bench first if needed.
#
# usage: bench/run-gui.sh [BUILD_DIR]        (default: _build)
#
# Knobs (environment):
#   RENDERERS="cairo default"   GSK_RENDERER values; "default" leaves it unset
#                               (GTK 4.8 picks its GL renderer; under Xvfb that
#                               is Mesa's software rasteriser, llvmpipe)
#   EVENTS=100000 RUNS=3        the trace to open; open runs (median shown)
#   SCROLL_FRAMES=600           frames per scrolling row
#   RATES=5000,10000,20000      live rates, events/s
#   LIVE_SECONDS=10             seconds per live rate
#   ONLY=open,scroll,live       the parts to run
#   SCREEN=1600x1000x24         the Xvfb screen
set -euo pipefail

BUILD_DIR=${1:-_build}
RENDERERS=${RENDERERS:-cairo default}
EVENTS=${EVENTS:-100000}
RUNS=${RUNS:-3}
SCROLL_FRAMES=${SCROLL_FRAMES:-600}
RATES=${RATES:-5000,10000,20000}
LIVE_SECONDS=${LIVE_SECONDS:-10}
ONLY=${ONLY:-open,scroll,live}
SCREEN=${SCREEN:-1600x1000x24}

REPO=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=bench/bench-lib.sh
source "$REPO/bench/bench-lib.sh"
bench_build_dir "$BUILD_DIR"

for tool in xvfb-run meson ninja; do
    if ! command -v "$tool" >/dev/null; then
        log "$tool is missing (Debian: xvfb, meson, ninja-build)"
        exit 2
    fi
done
if [ ! -f "$BUILD_DIR/build.ninja" ]; then
    log "setting up $BUILD_DIR"
    meson setup "$BUILD_DIR" "$REPO" >/dev/null
fi
# Only what the benchmark needs; ninja does nothing when it is up to date.
ninja -C "$BUILD_DIR" bench/gui-bench >&2
BENCH=$BUILD_DIR/bench/gui-bench

WORK=$(mktemp -d /tmp/mailscope-gui-bench.XXXXXX)
bench_traps

echo "GUI benchmark: $(machine_text), Xvfb $SCREEN, load $(cut -d' ' -f1-3 /proc/loadavg) at the start"

for renderer in $RENDERERS; do
    out=$WORK/out-$renderer
    echo
    echo "==================== GSK_RENDERER=$renderer ===================="
    env_args=(GDK_BACKEND=x11 NO_AT_BRIDGE=1 GTK_A11Y=none)
    if [ "$renderer" != default ]; then
        env_args+=(GSK_RENDERER="$renderer")
    fi
    # GDK_DEBUG=opengl makes GDK name the GL driver it got (stderr).
    status=0
    env -u GSK_RENDERER "${env_args[@]}" GDK_DEBUG=opengl \
        xvfb-run -a -s "-screen 0 $SCREEN" \
        "$BENCH" --fixtures "$REPO/tests/fixtures" --events "$EVENTS" --runs "$RUNS" \
        --scroll-frames "$SCROLL_FRAMES" --rates "$RATES" --live-seconds "$LIVE_SECONDS" \
        --only "$ONLY" >"$out" 2>"$WORK/err-$renderer" || status=$?
    cat "$out"
    gl=$(grep -m1 -iE 'renderer|vendor' "$WORK/err-$renderer" | sed 's/^[^:]*: *//' || true)
    [ -n "$gl" ] && echo "GL (GDK_DEBUG=opengl): $gl"
    if [ "$status" != 0 ]; then
        log "gui-bench exited $status with GSK_RENDERER=$renderer:"
        grep -v -i 'opengl\|gl version\|glsl\|extension' "$WORK/err-$renderer" | tail -20 >&2
        exit 1
    fi
done

# ---------------- summary ----------------
echo
echo "Summary (load $(cut -d' ' -f1-3 /proc/loadavg) at the end)"
for renderer in $RENDERERS; do
    awk -v r="$renderer" '
        /^RESULT / {
            delete f
            for (i = 2; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] }
            verdict = $NF
            if (f["part"] == "open")
                printf "%-8s open %s events: median %.2f s (file %.2f, new_for_trace %.2f, first frame %.2f), VmHWM %.0f MiB, target 2 s: %s\n",
                    r, f["events"], f["median_s"], f["parse_s"], f["new_for_trace_s"], f["first_frame_s"], f["vmhwm_kib"] / 1024, verdict
            else if (f["part"] == "scroll")
                printf "%-8s scroll %-19s %5s frames, interval p50/p95/p99 %s/%s/%s ms, >16.7 ms %s, >33 ms %s, work p95 %s ms\n",
                    r, f["view"], f["frames"], f["interval_p50_ms"], f["interval_p95_ms"], f["interval_p99_ms"], f["over_16ms"], f["over_33ms"], f["work_p95_ms"]
            else if (f["part"] == "live")
                printf "%-8s live %6s ev/s: applied %s of %s, lag p50/p99/max %s/%s/%s ms, on screen p99 %s ms, max behind %s events, drain %s ms: %s\n",
                    r, f["rate"], f["applied"], f["events"], f["apply_lag_p50_ms"], f["apply_lag_p99_ms"], f["apply_lag_max_ms"], f["screen_lag_p99_ms"], f["max_lag_events"], f["drain_ms"], verdict
        }' "$WORK/out-$renderer"
done
