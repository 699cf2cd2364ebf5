#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# The POP3 benchmark: RETR throughput of mailscope-server and of Dovecot (the
# reference) under the same load: SESSIONS concurrent sessions, each on its
# own maildrop of MESSAGES messages, each session RETRing all of them (no
# DELE). Prints one table. Loopback only; stops and removes what it started.
#
# usage: bench/run-pop3.sh [BUILD_DIR]        (default: _build)
#
# Knobs (environment):
#   MESSAGES=1000 SESSIONS=10 SIZE=2048   per maildrop; SIZE is octets as sent (CRLF)
#   RUNS=3            timed runs per server, interleaved; the table shows the median run by msgs/s
#   OUR_PORT=         our POP3 port (default: the first free one from 21110; 2110 and 1110 are taken)
#   SKIP_DOVECOT=1    leave Dovecot out
#   REFERENCE_SERVERS=path/to/reference-servers.sh (default: shared/tools/ beside the repo)

# R_<key> variables are made by parse_result (bench-lib.sh) from the RESULT line.
# shellcheck disable=SC2154
set -euo pipefail

BUILD_DIR=${1:-_build}
MESSAGES=${MESSAGES:-1000}
SESSIONS=${SESSIONS:-10}
SIZE=${SIZE:-2048}
RUNS=${RUNS:-3}
OUR_PORT=${OUR_PORT:-}
SKIP_DOVECOT=${SKIP_DOVECOT:-0}
LOAD_TIMEOUT=${LOAD_TIMEOUT:-300}

REPO=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=bench/bench-lib.sh
source "$REPO/bench/bench-lib.sh"
REFERENCE_SERVERS=${REFERENCE_SERVERS:-$REPO/../shared/tools/reference-servers.sh}
# The reference script's own defaults; we only read them.
BASE=${BASE:-/tmp/baseline}
DOVECOT_PORT=${POP3_PORT:-1110}
VUID=${VUID:-5000}
NBENCH=${NBENCH:-50}
DC_CONF=$BASE/dovecot/dovecot.conf

bench_build_dir "$BUILD_DIR"
POP3_LOAD=$BUILD_DIR/bench/pop3-load
SERVER=$BUILD_DIR/server/mailscope-server
require_binaries "$POP3_LOAD" "$SERVER"

WORK=$(mktemp -d /tmp/mailscope-bench-pop3.XXXXXX)
SERVER_PID=
LOAD_PID=
DOVECOT_STARTED=0
# The Dovecot maildrops this script made (user names): removed at the end.
declare -a DOVECOT_FILLED=()

CLEANUP_HOOK=dovecot_cleanup
bench_traps

# run_load NAME PORT FIRST_USER LAST_USER [SERVER_PID]: one pop3-load run.
# Sets R_* from its RESULT line, R_cpu (server CPU seconds, if a pid is
# given) and R_status.
run_load() {
    local name=$1 port=$2 first=$3 last=$4 pid=${5:-}
    run_measured "$name" "$pid" "$POP3_LOAD" --server "127.0.0.1:$port" --sessions "$SESSIONS" \
        --users-from "bench$first..bench$last" --password benchpw \
        --expect-messages "$MESSAGES" --timeout "$LOAD_TIMEOUT"
}

# Messages per second over the whole run, logins and QUIT included.
overall_rate() { awk -v n="$R_retrieved" -v s="$R_total_seconds" 'BEGIN { if (s > 0) printf "%.1f", n / s; else print 0 }'; }

# Each run's figures go to $WORK/runs-NAME, one line per run.
remember_run() {
    echo "$R_msgs_per_s $R_mb_per_s $R_p50_ms $R_p99_ms $R_login_p50_ms $R_login_max_ms $(overall_rate) $R_errors $R_status $R_cpu $R_retrieved" \
        >>"$WORK/runs-$1"
}
# The run with the median msgs/s into M_*; M_cpu is the median CPU of all
# runs on its own; M_all lists every run's msgs/s; M_failures counts the
# runs that failed in any way, not only the median one.
median_run() {
    local file=$WORK/runs-$1 middle line
    middle=$(( ($(wc -l <"$file") + 1) / 2 ))
    line=$(sort -n "$file" | sed -n "${middle}p")
    # shellcheck disable=SC2034  # M_status and M_retrieved are read past, unused
    read -r M_rate M_mb M_p50 M_p99 M_login_p50 M_login_max M_overall M_errors M_status M_cpu M_retrieved <<<"$line"
    M_cpu=$(awk '{ print $10 }' "$file" | sort -n | sed -n "${middle}p")
    M_all=$(awk '{ printf "%s%s", sep, $1; sep = " " }' "$file")
    M_failures=$(awk '$8 != 0 || $9 != 0 { n++ } END { print n + 0 }' "$file")
}

declare -a ROWS
add_row() {
    ROWS+=("$(printf '%-22s %9s %7s %7s %7s %9s %9s %11s %6s   %s' "$1" "$M_rate" "$M_mb" "$M_p50" "$M_p99" \
        "$M_login_p50" "$M_login_max" "$M_overall" "$M_errors" "$M_all")")
}

# ---------------- our server: set up ----------------
free_port 21110
# Only the POP3 listener.
other_ports_off --pop3-port
declare -a OUR_USERS=()
for i in $(seq 1 "$SESSIONS"); do OUR_USERS+=(--user "bench$i:benchpw"); done

log "mailscope-server: $SESSIONS maildrops of $MESSAGES x $SIZE octets"
DATA_DIR=$(mktemp -d "$WORK/data.XXXXXX")
"$SERVER" --data-dir "$DATA_DIR" --domain example.test "${OUR_USERS[@]}" \
    --pop3-port "$OUR_PORT" "${OTHER_PORTS_OFF[@]}" >"$WORK/server.log" 2>&1 &
SERVER_PID=$!
if ! wait_for_port "$OUR_PORT" "$SERVER_PID"; then
    log "mailscope-server did not start:"; cat "$WORK/server.log" >&2
    exit 1
fi
# The server made each user's Maildir at start. The files go straight into
# new/, with CRLF line ends as our SMTP delivery stores them; the store
# picks up files dropped in by other programs on the next login.
for i in $(seq 1 "$SESSIONS"); do
    "$POP3_LOAD" --fill-maildir "$DATA_DIR/example.test/mail/bench$i" \
        --count "$MESSAGES" --size "$SIZE"
done

# ---------------- Dovecot: set up ----------------
dovecot_setup "$SESSIONS" maildrops
if [ "$SKIP_DOVECOT" != 1 ]; then
    DOVECOT_LAST=$((DOVECOT_FIRST + SESSIONS - 1))
    log "Dovecot: maildrops of bench$DOVECOT_FIRST..bench$DOVECOT_LAST, $MESSAGES x $SIZE octets each"
    for i in $(seq "$DOVECOT_FIRST" "$DOVECOT_LAST"); do
        DOVECOT_FILLED+=("bench$i")
        # Bare LF line ends, as Postfix's virtual(8) writes them for Dovecot.
        "$POP3_LOAD" --fill-maildir "$BASE/mail/bench$i/Maildir" \
            --count "$MESSAGES" --size "$SIZE" --lf
        chown -R "$VUID:$VUID" "$BASE/mail/bench$i"
    done
fi
# The fill's dirty pages go to disk now, not during a timed run.
sync

# ---------------- warm-up ----------------
# One untimed pass per server: the first login of a maildrop builds the
# server's index (ours: the uid list and sizes; Dovecot: dovecot.index and
# dovecot-uidlist, moving new/ to cur/), and Dovecot's first RETRs rename
# each file to add \Seen. The timed runs then see the steady state of a
# maildrop that is read again and again; the cold pass is shown apart.
log "warm-up: mailscope-server"
run_load cold-ours "$OUR_PORT" 1 "$SESSIONS" "$SERVER_PID"
COLD_OURS="$R_msgs_per_s msgs/s, login p50 $R_login_p50_ms ms"
COLD_FAILED=$(( R_errors + R_status ))
if [ "$SKIP_DOVECOT" != 1 ]; then
    log "warm-up: Dovecot"
    run_load cold-dovecot "$DOVECOT_PORT" "$DOVECOT_FIRST" "$DOVECOT_LAST"
    COLD_DOVECOT="$R_msgs_per_s msgs/s, login p50 $R_login_p50_ms ms"
    COLD_FAILED=$(( COLD_FAILED + R_errors + R_status ))
fi

# ---------------- the runs ----------------
# Interleaved (ours, Dovecot, then again), so that whatever else the machine
# does at the time weighs on both alike.
for run in $(seq 1 "$RUNS"); do
    log "run $run of $RUNS: mailscope-server"
    run_load ours "$OUR_PORT" 1 "$SESSIONS" "$SERVER_PID"
    remember_run ours
    if [ "$SKIP_DOVECOT" != 1 ]; then
        log "run $run of $RUNS: Dovecot"
        run_load dovecot "$DOVECOT_PORT" "$DOVECOT_FIRST" "$DOVECOT_LAST"
        remember_run dovecot
    fi
done

median_run ours
OURS_RATE=$M_rate; OURS_MB=$M_mb; OURS_OVERALL=$M_overall; OURS_CPU=$M_cpu; OURS_FAILED=$M_failures
add_row "mailscope-server"
DOVECOT_RATE=; DOVECOT_FAILED=0
if [ "$SKIP_DOVECOT" != 1 ]; then
    median_run dovecot
    DOVECOT_RATE=$M_rate; DOVECOT_MB=$M_mb; DOVECOT_OVERALL=$M_overall; DOVECOT_FAILED=$M_failures
    add_row "$(dovecot_name)"
fi

# ---------------- the table ----------------
TOTAL=$((SESSIONS * MESSAGES))

echo
echo "POP3 benchmark: $SESSIONS sessions, each RETRing all $MESSAGES messages of $SIZE octets of its own maildrop"
echo "($TOTAL RETRs per run, $(awk -v n="$TOTAL" -v s="$SIZE" 'BEGIN { printf "%.1f", n * s / 1e6 }') MB), loopback," \
     "$(machine_text)," \
     "median of $RUNS run(s), load $(cut -d' ' -f1-3 /proc/loadavg) at the end"
echo
printf '%-22s %9s %7s %7s %7s %9s %9s %11s %6s   %s\n' "server" "msgs/s" "MB/s" "p50 ms" "p99 ms" \
    "login p50" "login max" "all msgs/s" "errors" "msgs/s of each run"
printf '%s\n' "${ROWS[@]}"
echo
echo "msgs/s, MB/s:   messages (octets, 1 MB = 10^6) retrieved per second, first RETR sent to last message received"
echo "p50/p99 ms:     one RETR, sent to final \".\" received; login: connect to +OK after PASS (ms)"
echo "all msgs/s:     messages per second over the whole run, connects, logins and QUIT included"
echo "cold pass:      mailscope-server $COLD_OURS${COLD_DOVECOT:+; Dovecot $COLD_DOVECOT}"
if [ "$OURS_CPU" != - ]; then
    echo "server CPU:     $OURS_CPU s per run (median), $(awk -v c="$OURS_CPU" -v n="$TOTAL" 'BEGIN { printf "%.0f", c / n * 1e6 }') us per RETR, logins included"
fi
if [ -n "$DOVECOT_RATE" ]; then
    echo "ours / Dovecot: $(ratio "$OURS_RATE" "$DOVECOT_RATE") x msgs/s, $(ratio "$OURS_MB" "$DOVECOT_MB") x MB/s," \
         "$(ratio "$OURS_OVERALL" "$DOVECOT_OVERALL") x all msgs/s (above 1: we are faster)"
    echo "Dovecot:        users bench$DOVECOT_FIRST..bench$DOVECOT_LAST, $(dovecot_mode) $DOVECOT_NOTE"
fi

if [ "$OURS_FAILED" != 0 ] || [ "$DOVECOT_FAILED" != 0 ] || [ "$COLD_FAILED" != 0 ]; then
    log "some runs had errors (-ERR, size mismatches, failed sessions): see above"
    exit 1
fi
