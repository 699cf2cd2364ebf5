#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# The SMTP benchmark: mailscope-server with and without --trace, Postfix (the
# reference) under the same load, and what an idle connection costs our server.
# Prints one table. Loopback only; stops everything it started.
#
# usage: bench/run-smtp.sh [BUILD_DIR]        (default: _build)
#
# Knobs (environment):
#   MESSAGES=5000 CONNECTIONS=20 SIZE=1024   the load for every server
#   RUNS=3            runs per server, interleaved; the table shows the median run by messages/s
#   IDLE_CONNS=500    idle connections for the memory figure
#   OUR_PORT=2526     our SMTP port (2525 is the reference Postfix's)
#   SKIP_POSTFIX=1    leave Postfix out
#   REFERENCE_SERVERS=path/to/reference-servers.sh (default: shared/tools/ beside the repo)

# R_<key> variables are made by parse_result (bench-lib.sh) from the RESULT line.
# shellcheck disable=SC2154
set -euo pipefail

BUILD_DIR=${1:-_build}
MESSAGES=${MESSAGES:-5000}
CONNECTIONS=${CONNECTIONS:-20}
SIZE=${SIZE:-1024}
RUNS=${RUNS:-3}
IDLE_CONNS=${IDLE_CONNS:-500}
OUR_PORT=${OUR_PORT:-2526}
SKIP_POSTFIX=${SKIP_POSTFIX:-0}
LOAD_TIMEOUT=${LOAD_TIMEOUT:-300}

REPO=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=bench/bench-lib.sh
source "$REPO/bench/bench-lib.sh"
REFERENCE_SERVERS=${REFERENCE_SERVERS:-$REPO/../shared/tools/reference-servers.sh}
# The reference script's own defaults; we only read them.
BASE=${BASE:-/tmp/baseline}
POSTFIX_PORT=${SMTP_PORT:-2525}

bench_build_dir "$BUILD_DIR"
SMTP_LOAD=$BUILD_DIR/bench/smtp-load
IDLE=$BUILD_DIR/bench/idle-conns
SERVER=$BUILD_DIR/server/mailscope-server
require_binaries "$SMTP_LOAD" "$IDLE" "$SERVER"

WORK=$(mktemp -d /tmp/mailscope-bench.XXXXXX)
SERVER_PID=
IDLE_PID=
LOAD_PID=
POSTFIX_STARTED=0

postfix_cleanup() {
    if [ "$POSTFIX_STARTED" = 1 ]; then
        "$REFERENCE_SERVERS" reset-mail >/dev/null 2>&1 || true
        "$REFERENCE_SERVERS" stop >>"$WORK/reference.log" 2>&1 || true
    fi
}
CLEANUP_HOOK=postfix_cleanup
bench_traps

now() { date +%s.%N; }

# Messages in a Maildir tree (new/ and cur/ of every folder).
count_messages() {
    # Postfix makes the Maildir on the first delivery: none yet is 0.
    { find "$1" \( -path '*/new/*' -o -path '*/cur/*' \) -type f 2>/dev/null || true; } | wc -l
}

# Only the SMTP listener.
other_ports_off --smtp-port

# start_ours NAME [extra server args...]: a fresh data dir each time.
start_ours() {
    local name=$1; shift
    local data_dir
    data_dir=$(mktemp -d "$WORK/data-$name.XXXXXX")
    if port_in_use "$OUR_PORT"; then
        log "port $OUR_PORT is in use; set OUR_PORT"
        exit 1
    fi
    "$SERVER" --data-dir "$data_dir" --domain example.test --user bob:bobpw \
        --smtp-port "$OUR_PORT" "${OTHER_PORTS_OFF[@]}" "$@" \
        >"$WORK/server-$name.log" 2>&1 &
    SERVER_PID=$!
    if ! wait_for_port "$OUR_PORT" "$SERVER_PID"; then
        log "mailscope-server did not start:"; cat "$WORK/server-$name.log" >&2
        exit 1
    fi
    DATA_DIR=$data_dir
}

# run_load NAME PORT MAILDIR_ROOT EXPECTED_BEFORE [SERVER_PID]
# Runs smtp-load, then waits until every accepted message is in a Maildir
# (Postfix says 250 once the message is in its queue and delivers after).
# Sets R_* from the RESULT line, plus R_e2e (messages/s from the start of the
# load to the last delivery) and R_cpu (server CPU seconds, if a pid is given).
run_load() {
    local name=$1 port=$2 maildir_root=$3 before=$4 pid=${5:-}
    local end delivered
    run_measured "$name" "$pid" "$SMTP_LOAD" --server "127.0.0.1:$port" --messages "$MESSAGES" \
        --connections "$CONNECTIONS" --size "$SIZE" --from loadgen@example.test --to bob@example.test \
        --timeout "$LOAD_TIMEOUT"
    # Bounded wait for delivery: at most 120 s.
    for _ in $(seq 1 1200); do
        delivered=$(( $(count_messages "$maildir_root") - before ))
        [ "$delivered" -ge "$R_accepted" ] && break
        sleep 0.1
    done
    end=$(now)
    # shellcheck disable=SC2034  # for a reader of the figures
    R_delivered=$delivered
    R_e2e=$(awk -v n="$delivered" -v s="$LOAD_START" -v e="$end" 'BEGIN { printf "%.1f", n / (e - s) }')
}

# Each run's figures go to $WORK/runs-NAME, one line per run.
remember_run() {
    echo "$R_msgs_per_s $R_p50_ms $R_p99_ms $R_max_ms $R_e2e $R_errors $R_refused $R_failed_connections ${R_cpu:--} $R_accepted" \
        >>"$WORK/runs-$1"
}
# The run with the median messages/s into M_*; M_cpu is the median CPU of
# all runs on its own; M_all lists every run's messages/s.
median_run() {
    local file=$WORK/runs-$1 middle line
    middle=$(( ($(wc -l <"$file") + 1) / 2 ))
    line=$(sort -n "$file" | sed -n "${middle}p")
    # shellcheck disable=SC2034  # M_refused and M_accepted are read past, unused
    read -r M_rate M_p50 M_p99 M_max M_e2e M_errors M_refused M_failed M_cpu M_accepted <<<"$line"
    M_cpu=$(awk '{ print $9 }' "$file" | sort -n | sed -n "${middle}p")
    M_all=$(awk '{ printf "%s%s", sep, $1; sep = " " }' "$file")
    # Any failure in any run counts, not only in the median one.
    M_failures=$(awk '{ n += $7 + $8 } END { print n + 0 }' "$file")
}

declare -a ROWS
add_row() {
    ROWS+=("$(printf '%-26s %9s %8s %8s %8s %10s %7s   %s' "$1" "$M_rate" "$M_p50" "$M_p99" "$M_max" \
        "$M_e2e" "$(( M_errors + M_failed ))" "$M_all")")
}

if [ "$(ulimit -n)" -lt 4096 ]; then ulimit -n 4096 2>/dev/null || true; fi

# ---------------- Postfix: set up ----------------
POSTFIX_NOTE=
if [ "$SKIP_POSTFIX" != 1 ]; then
    if [ ! -f "$REFERENCE_SERVERS" ]; then
        log "no $REFERENCE_SERVERS: skipping Postfix"
        SKIP_POSTFIX=1
    elif ! command -v postfix >/dev/null; then
        log "Postfix is not installed: run '$REFERENCE_SERVERS install' once (as root); skipping it"
        SKIP_POSTFIX=1
    fi
fi
if [ "$SKIP_POSTFIX" != 1 ]; then
    if [ -f "$BASE/postfix/main.cf" ] && postfix -c "$BASE/postfix" status >/dev/null 2>&1; then
        # Someone else's Postfix: use it as it is, leave it running and its mail alone.
        POSTFIX_NOTE="(Postfix was already running: used as found, left running)"
        log "$POSTFIX_NOTE"
    else
        # The daemons keep the stdout they were started with: give them a file, never a pipe.
        bash "$REFERENCE_SERVERS" configure >>"$WORK/reference.log" 2>&1
        POSTFIX_STARTED=1
        bash "$REFERENCE_SERVERS" start >>"$WORK/reference.log" 2>&1
        if ! wait_for_port "$POSTFIX_PORT" ""; then
            log "Postfix did not start:"; cat "$WORK/reference.log" >&2
            exit 1
        fi
    fi
fi

# ---------------- the runs ----------------
# Interleaved (ours, ours --trace, Postfix, then again), so that whatever else
# the machine does at the time weighs on all three alike.
for run in $(seq 1 "$RUNS"); do
    log "run $run of $RUNS: mailscope-server ($MESSAGES x $SIZE octets, $CONNECTIONS connections)"
    start_ours plain
    run_load ours "$OUR_PORT" "$DATA_DIR" 0 "$SERVER_PID"
    stop_ours
    remember_run ours

    log "run $run of $RUNS: mailscope-server --trace"
    rm -f "$WORK/trace.jsonl"
    start_ours trace --trace "$WORK/trace.jsonl"
    run_load trace "$OUR_PORT" "$DATA_DIR" 0 "$SERVER_PID"
    stop_ours
    remember_run trace
    TRACE_BYTES=$(stat -c %s "$WORK/trace.jsonl" 2>/dev/null || echo 0)

    if [ "$SKIP_POSTFIX" != 1 ]; then
        log "run $run of $RUNS: Postfix"
        if [ "$POSTFIX_STARTED" = 1 ]; then
            bash "$REFERENCE_SERVERS" reset-mail >>"$WORK/reference.log" 2>&1
        fi
        before=$(count_messages "$BASE/mail/bob")
        run_load postfix "$POSTFIX_PORT" "$BASE/mail/bob" "$before"
        remember_run postfix
    fi
done

median_run ours
OURS_RATE=$M_rate; OURS_E2E=$M_e2e; OURS_CPU=$M_cpu; OURS_FAILED=$M_failures
add_row "mailscope-server"
median_run trace
TRACE_RATE=$M_rate; TRACE_CPU=$M_cpu; TRACE_FAILED=$M_failures
add_row "mailscope-server --trace"
POSTFIX_RATE=; POSTFIX_E2E=; POSTFIX_FAILED=0
if [ "$SKIP_POSTFIX" != 1 ]; then
    median_run postfix
    POSTFIX_RATE=$M_rate; POSTFIX_E2E=$M_e2e; POSTFIX_FAILED=$M_failures
    add_row "Postfix $(postconf -d -h mail_version 2>/dev/null || true)"
    if [ "$POSTFIX_STARTED" = 1 ]; then
        bash "$REFERENCE_SERVERS" reset-mail >>"$WORK/reference.log" 2>&1 || true
        bash "$REFERENCE_SERVERS" stop >>"$WORK/reference.log" 2>&1 || true
        POSTFIX_STARTED=0
    fi
fi

# ---------------- idle connections ----------------
log "mailscope-server: $IDLE_CONNS idle connections"
start_ours idle
# Warm up: one short connection, so what is made once (listener state, first
# session's allocations) is in the baseline and not charged to the 500.
"$IDLE" --server "127.0.0.1:$OUR_PORT" --connections 1 --hold 1 >/dev/null
sleep 0.5
read -r rss_before pss_before anon_before < <(memory_of "$SERVER_PID")
"$IDLE" --server "127.0.0.1:$OUR_PORT" --connections "$IDLE_CONNS" --hold 120 >"$WORK/idle.out" 2>"$WORK/idle.err" &
IDLE_PID=$!
wait_ready "$WORK/idle.out" "$IDLE_PID" 600
sleep 1
read -r rss_after pss_after anon_after < <(memory_of "$SERVER_PID")
stop_pid "$IDLE_PID"
IDLE_PID=
held=$(awk '/^READY/ { print $2 }' "$WORK/idle.out")
held=${held:-0}
idle_closed=$(sed -n 's/.*the server closed \([0-9]*\).*/\1/p' "$WORK/idle.out")
stop_ours

# ---------------- the table ----------------
per_conn() { awk -v a="$1" -v b="$2" -v n="$3" 'BEGIN { if (n > 0) printf "%.1f", (b - a) / n; else print "-" }'; }

echo
echo "SMTP benchmark: $MESSAGES messages of $SIZE octets to bob@example.test over $CONNECTIONS connections,"
echo "loopback, $(machine_text), median of $RUNS run(s)"
echo
printf '%-26s %9s %8s %8s %8s %10s %7s   %s\n' "server" "msgs/s" "p50 ms" "p99 ms" "max ms" "e2e msgs/s" "errors" "msgs/s of each run"
printf '%s\n' "${ROWS[@]}"
echo
echo "msgs/s:     accepted (250 after the dot) per second, first MAIL to last 250"
echo "e2e msgs/s: from the start of the load until every message is in the Maildir"
echo
trace_cost=$(awk -v a="$OURS_RATE" -v b="$TRACE_RATE" 'BEGIN { if (a > 0) printf "%.1f", (a - b) / a * 100; else print "-" }')
echo "trace cost:            $trace_cost % fewer msgs/s with --trace ($(( TRACE_BYTES / 1024 )) KiB of JSON Lines for $MESSAGES messages)"
if [ -n "$OURS_CPU" ] && [ "$OURS_CPU" != - ]; then
    echo "server CPU:            $OURS_CPU s without trace, $TRACE_CPU s with:" \
         "$(awk -v c="$OURS_CPU" -v n="$MESSAGES" 'BEGIN { printf "%.0f", c / n * 1e6 }') us per message without," \
         "trace cost $(awk -v a="$OURS_CPU" -v b="$TRACE_CPU" 'BEGIN { if (a > 0) printf "%.1f", (b - a) / a * 100; else print "-" }') % more CPU"
fi
if [ -n "$POSTFIX_RATE" ]; then
    echo "ours / Postfix:        $(ratio "$OURS_RATE" "$POSTFIX_RATE") x msgs/s accepted, $(ratio "$OURS_E2E" "$POSTFIX_E2E") x end to end $POSTFIX_NOTE"
fi
echo "idle connections:      $held of $IDLE_CONNS held, ${idle_closed:-?} closed by the server meanwhile"
printf '  %-10s %8s -> %8s KiB  = %6s KiB per connection\n' \
    VmRSS "$rss_before" "$rss_after" "$(per_conn "$rss_before" "$rss_after" "$held")" \
    Pss "$pss_before" "$pss_after" "$(per_conn "$pss_before" "$pss_after" "$held")" \
    Anonymous "$anon_before" "$anon_after" "$(per_conn "$anon_before" "$anon_after" "$held")"

if [ "$OURS_FAILED" != 0 ] || [ "$TRACE_FAILED" != 0 ] || [ "$POSTFIX_FAILED" != 0 ] || [ "$held" != "$IDLE_CONNS" ]; then
    log "some messages were refused, connections failed or idle connections were not held: see above"
    exit 1
fi
