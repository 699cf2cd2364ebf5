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
REFERENCE_SERVERS=${REFERENCE_SERVERS:-$REPO/../shared/tools/reference-servers.sh}
# The reference script's own defaults; we only read them.
BASE=${BASE:-/tmp/baseline}
DOVECOT_PORT=${POP3_PORT:-1110}
VUID=${VUID:-5000}
NBENCH=${NBENCH:-50}
DC_CONF=$BASE/dovecot/dovecot.conf

if [ ! -d "$BUILD_DIR" ] && [ -d "$REPO/$BUILD_DIR" ]; then
    BUILD_DIR=$REPO/$BUILD_DIR
fi
POP3_LOAD=$BUILD_DIR/bench/pop3-load
SERVER=$BUILD_DIR/server/mailscope-server
for binary in "$POP3_LOAD" "$SERVER"; do
    if [ ! -x "$binary" ]; then
        echo "run-pop3.sh: $binary is missing: build first (meson setup $BUILD_DIR && ninja -C $BUILD_DIR)" >&2
        exit 2
    fi
done

WORK=$(mktemp -d /tmp/mailscope-bench-pop3.XXXXXX)
SERVER_PID=
LOAD_PID=
DOVECOT_STARTED=0
# The Dovecot maildrops this script made (user names): removed at the end.
declare -a DOVECOT_FILLED=()

cleanup() {
    local status=$?
    trap - EXIT INT TERM
    if [ -n "$LOAD_PID" ]; then kill "$LOAD_PID" 2>/dev/null || true; wait "$LOAD_PID" 2>/dev/null || true; fi
    if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
    if [ "$DOVECOT_STARTED" = 1 ]; then
        doveadm -c "$DC_CONF" stop >>"$WORK/reference.log" 2>&1 || true
    fi
    for user in "${DOVECOT_FILLED[@]}"; do
        rm -rf "${BASE:?}/mail/$user"
    done
    rm -rf "$WORK"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log() { echo "run-pop3.sh: $*" >&2; }

port_in_use() { ss -ltnH "sport = :$1" 2>/dev/null | grep -q .; }

wait_for_port() {
    local port=$1 pid=$2
    for _ in $(seq 1 100); do
        if port_in_use "$port"; then return 0; fi
        if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then return 1; fi
        sleep 0.1
    done
    return 1
}

# CPU seconds (user + system) a process has used so far.
cpu_seconds() {
    awk -v hz="$(getconf CLK_TCK)" '{ print ($14 + $15) / hz }' "/proc/$1/stat"
}

# Reads "key=value ..." from pop3-load's RESULT line into R_<key>.
parse_result() {
    local line
    line=$(grep '^RESULT ' "$1" | tail -1)
    [ -n "$line" ] || return 1
    for pair in ${line#RESULT }; do
        printf -v "R_${pair%%=*}" '%s' "${pair#*=}"
    done
}

# run_load NAME PORT FIRST_USER LAST_USER [SERVER_PID]: one pop3-load run.
# Sets R_* from its RESULT line, R_cpu (server CPU seconds, if a pid is
# given) and R_status.
run_load() {
    local name=$1 port=$2 first=$3 last=$4 pid=${5:-}
    local out=$WORK/load-$name.out cpu_before=0 status=0
    [ -n "$pid" ] && cpu_before=$(cpu_seconds "$pid")
    "$POP3_LOAD" --server "127.0.0.1:$port" --sessions "$SESSIONS" \
        --users-from "bench$first..bench$last" --password benchpw \
        --expect-messages "$MESSAGES" --timeout "$LOAD_TIMEOUT" \
        >"$out" 2>"$WORK/load-$name.err" &
    # In the background, so that a signal to this script is acted on at once
    # (bash runs traps only between foreground commands).
    LOAD_PID=$!
    wait "$LOAD_PID" || status=$?
    LOAD_PID=
    if ! parse_result "$out"; then
        log "$name: pop3-load printed no result (exit $status):"; cat "$WORK/load-$name.err" >&2
        exit 1
    fi
    if [ "$status" != 0 ]; then
        log "$name: pop3-load exit $status:"; head -20 "$WORK/load-$name.err" >&2
    fi
    R_cpu=-
    [ -n "$pid" ] && R_cpu=$(awk -v a="$cpu_before" -v b="$(cpu_seconds "$pid")" 'BEGIN { printf "%.2f", b - a }')
    R_status=$status
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
if [ -z "$OUR_PORT" ]; then
    OUR_PORT=21110
    while port_in_use "$OUR_PORT"; do OUR_PORT=$((OUR_PORT + 1)); done
elif port_in_use "$OUR_PORT"; then
    log "port $OUR_PORT is in use; set OUR_PORT"
    exit 1
fi
# Only the POP3 listener: every other "--NAME-port" the server knows (SMTP,
# submission, POP3S, IMAP, ... as they are added) is turned off with 0.
mapfile -t OTHER_PORTS_OFF < <("$SERVER" --help 2>/dev/null |
    grep -o -- '--[a-z0-9-]*-port=' | sed 's/=$//' | grep -vx -- '--pop3-port' | sed 's/$/=0/')
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
DOVECOT_NOTE=
DOVECOT_FIRST=
if [ "$SKIP_DOVECOT" != 1 ]; then
    if [ ! -f "$REFERENCE_SERVERS" ]; then
        log "no $REFERENCE_SERVERS: skipping Dovecot"
        SKIP_DOVECOT=1
    elif ! command -v dovecot >/dev/null; then
        log "Dovecot is not installed: run '$REFERENCE_SERVERS install' once (as root); skipping it"
        SKIP_DOVECOT=1
    elif [ "$(id -u)" != 0 ]; then
        log "writing Dovecot's maildrops (owned by uid $VUID) needs root; skipping Dovecot"
        SKIP_DOVECOT=1
    fi
fi
if [ "$SKIP_DOVECOT" != 1 ]; then
    dovecot_pid=$(cat "$BASE/dovecot/run/master.pid" 2>/dev/null || true)
    if [ -n "$dovecot_pid" ] && kill -0 "$dovecot_pid" 2>/dev/null; then
        # Someone else's Dovecot: use it as it is and leave it running.
        DOVECOT_NOTE="(Dovecot was already running: used as found, left running)"
        log "$DOVECOT_NOTE"
    else
        # Only Dovecot: the maildrops are written here, so Postfix is not
        # needed, and a Postfix someone else runs is left alone.
        [ -f "$DC_CONF" ] || bash "$REFERENCE_SERVERS" configure >>"$WORK/reference.log" 2>&1
        # The daemons keep the stdout they were started with: give them a file, never a pipe.
        dovecot -c "$DC_CONF" >>"$WORK/reference.log" 2>&1
        DOVECOT_STARTED=1
        if ! wait_for_port "$DOVECOT_PORT" ""; then
            log "Dovecot did not start:"; cat "$WORK/reference.log" >&2
            exit 1
        fi
    fi
    # SESSIONS benchN users in a row whose maildrops do not exist yet, so
    # that nobody else's mail is read or removed; they are removed at the end.
    run_length=0
    for i in $(seq 1 "$NBENCH"); do
        if [ -e "$BASE/mail/bench$i" ] || ! grep -q "^bench$i:" "$BASE/dovecot/users" 2>/dev/null; then
            run_length=0
            continue
        fi
        run_length=$((run_length + 1))
        if [ "$run_length" = "$SESSIONS" ]; then
            DOVECOT_FIRST=$((i - SESSIONS + 1))
            break
        fi
    done
    if [ -z "$DOVECOT_FIRST" ]; then
        log "no $SESSIONS unused bench users in a row among bench1..bench$NBENCH in $BASE: skipping Dovecot"
        SKIP_DOVECOT=1
    fi
fi
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
    add_row "Dovecot $(dovecot --version 2>/dev/null | awk '{ print $1 }')"
fi

# ---------------- the table ----------------
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'; }
TOTAL=$((SESSIONS * MESSAGES))

echo
echo "POP3 benchmark: $SESSIONS sessions, each RETRing all $MESSAGES messages of $SIZE octets of its own maildrop"
echo "($TOTAL RETRs per run, $(awk -v n="$TOTAL" -v s="$SIZE" 'BEGIN { printf "%.1f", n * s / 1e6 }') MB), loopback," \
     "$(nproc) CPUs ($(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)), Linux $(uname -r)," \
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
    echo "Dovecot:        users bench$DOVECOT_FIRST..bench$DOVECOT_LAST, $(grep -o 'DOVECOT_MODE=[a-z]*' "$DC_CONF" 2>/dev/null || echo 'mode unknown') $DOVECOT_NOTE"
fi

if [ "$OURS_FAILED" != 0 ] || [ "$DOVECOT_FAILED" != 0 ] || [ "$COLD_FAILED" != 0 ]; then
    log "some runs had errors (-ERR, size mismatches, failed sessions): see above"
    exit 1
fi
