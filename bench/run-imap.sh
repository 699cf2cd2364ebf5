#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# The IMAP benchmark: mailscope-server and Dovecot (the reference) under the
# same mixed load (imap-load: CLIENTS clients, each on its own INBOX of
# MESSAGES messages, going round LOGIN, SELECT, FETCH headers, STORE +/-\Seen,
# SEARCH UNSEEN, SEARCH FROM, LOGOUT); SELECT of a BIG_MESSAGES mailbox, the
# first time, warm, and after a restart of our server; and what an idle IMAP
# session (logged in, INBOX selected) costs each server in memory. Prints one
# report. Loopback only; stops and removes what it started and wrote.
#
# usage: bench/run-imap.sh [BUILD_DIR]        (default: _build)
#
# Knobs (environment):
#   MESSAGES=10000 CLIENTS=20   per INBOX; one user (bench1..benchCLIENTS) per client
#   DURATION=20 RUNS=3          seconds per timed run; runs per server, interleaved
#   BIG_MESSAGES=100000         the SELECT timing's mailbox (user bench<CLIENTS+1>); 0: skip
#   IDLE_CONNS=1000             idle connections for the memory figure; 0: skip
#   DROP_CACHES=1               also time SELECT of the big mailbox with the page cache
#                               dropped (needs root; slows everyone on the machine briefly)
#   OUR_PORT=                   our IMAP port (default: the first free one from 21143)
#   SKIP_DOVECOT=1              leave Dovecot out
#   REFERENCE_SERVERS=path/to/reference-servers.sh (default: shared/tools/ beside the repo)

# R_<key> variables are made by parse_result from imap-load's RESULT line.
# shellcheck disable=SC2154
set -euo pipefail

BUILD_DIR=${1:-_build}
MESSAGES=${MESSAGES:-10000}
CLIENTS=${CLIENTS:-20}
DURATION=${DURATION:-20}
RUNS=${RUNS:-3}
BIG_MESSAGES=${BIG_MESSAGES:-100000}
IDLE_CONNS=${IDLE_CONNS:-1000}
DROP_CACHES=${DROP_CACHES:-0}
OUR_PORT=${OUR_PORT:-}
SKIP_DOVECOT=${SKIP_DOVECOT:-0}
SELECT_TIMEOUT=${SELECT_TIMEOUT:-600}
# A server indexing big mailboxes may take a while to listen (tenths of a second).
PORT_WAIT_TENTHS=300

REPO=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=bench/bench-lib.sh
source "$REPO/bench/bench-lib.sh"
REFERENCE_SERVERS=${REFERENCE_SERVERS:-$REPO/../shared/tools/reference-servers.sh}
# The reference script's own defaults; we only read them.
BASE=${BASE:-/tmp/baseline}
DOVECOT_PORT=${IMAP_PORT:-1143}
VUID=${VUID:-5000}
NBENCH=${NBENCH:-50}
DC_CONF=$BASE/dovecot/dovecot.conf

bench_build_dir "$BUILD_DIR"
IMAP_LOAD=$BUILD_DIR/bench/imap-load
IDLE=$BUILD_DIR/bench/idle-conns
SERVER=$BUILD_DIR/server/mailscope-server
require_binaries "$IMAP_LOAD" "$IDLE" "$SERVER"
if ! "$SERVER" --help 2>/dev/null | grep -q -- '--imap-port='; then
    echo "run-imap.sh: $SERVER has no --imap-port" >&2
    exit 2
fi

# The big mailbox's user comes after the clients' users.
BIG_USER_N=$((CLIENTS + 1))
N_USERS=$CLIENTS
[ "$BIG_MESSAGES" -gt 0 ] && N_USERS=$BIG_USER_N

WORK=$(mktemp -d /tmp/mailscope-bench-imap.XXXXXX)
SERVER_PID=
LOAD_PID=
IDLE_PID=
DOVECOT_STARTED=0
# The Dovecot mailboxes this script made (user names): removed at the end.
declare -a DOVECOT_FILLED=()

CLEANUP_HOOK=dovecot_cleanup
bench_traps

# run_load NAME PORT [SERVER_PID] -- IMAP_LOAD_ARGS...: one imap-load run.
# Sets R_* from its RESULT line, R_cpu (server CPU seconds, if a pid is
# given) and R_status; the RESULT line stays in $WORK/load-NAME.out.
run_load() {
    local name=$1 port=$2 pid=${3:-}
    shift 3
    run_measured "$name" "$pid" "$IMAP_LOAD" --server "127.0.0.1:$port" --password benchpw "$@"
}

# One timed run of the mixed load; its RESULT line (with the server CPU and
# exit status added) goes to $WORK/runs-NAME.
timed_run() {
    local name=$1 port=$2 first=$3 pid=${4:-}
    run_load "$name" "$port" "$pid" --clients "$CLIENTS" --users-from "bench$first..bench$((first + CLIENTS - 1))" \
        --expect-messages "$MESSAGES" --duration "$DURATION" --seed "$RANDOM"
    echo "$(grep '^RESULT ' "$WORK/load-$name.out" | tail -1) cpu=$R_cpu status=$R_status" >>"$WORK/runs-$name"
}

# The run with the median commands/s of $WORK/runs-NAME into R_*; M_all
# lists every run's commands/s, M_failures counts the runs with any error.
median_run() {
    local file=$WORK/runs-$1 middle
    middle=$(( ($(wc -l <"$file") + 1) / 2 ))
    sed -n 's/.* ops_per_s=\([0-9.]*\) .*/\1 &/p' "$file" | sort -n | sed -n "${middle}p" | cut -d' ' -f2- \
        >"$WORK/median-$1"
    parse_result "$WORK/median-$1"
    M_all=$(sed -n 's/.* ops_per_s=\([0-9.]*\) .*/\1/p' "$file" | paste -sd' ')
    M_failures=$(grep -c -E ' errors=[1-9]| status=[1-9]' "$file" || true)
}

# time_select NAME PORT USER [LOOPS]: SELECT of the big mailbox, LOOPS
# times on one connection each; its latency in ms (the median of LOOPS) in
# SELECT_MS.
time_select() {
    local name=$1 port=$2 user=$3 loops=${4:-1}
    run_load "$name" "$port" "" --clients 1 --user "$user" --mix select --loops "$loops" \
        --duration 0 --expect-messages "$BIG_MESSAGES" --timeout "$SELECT_TIMEOUT"
    [ "$R_status" = 0 ] || SELECT_FAILED=1
    SELECT_MS=${R_select_p50_ms:-failed}
}
SELECT_FAILED=0

drop_caches() {
    sync
    echo 3 >/proc/sys/vm/drop_caches
}

# Dovecot's master and every process below it.
dovecot_pids() {
    local master
    master=$(cat "$BASE/dovecot/run/master.pid" 2>/dev/null || true)
    [ -n "$master" ] || return 0
    ps -e -o pid=,ppid= | awk -v root="$master" '
        { parent[$1] = $2 }
        END {
            for (p in parent) {
                q = p
                while (q != "" && q != root && q != 1 && q != 0) q = parent[q]
                if (q == root) print p
            }
            print root
        }'
}

# idle_memory NAME PORT PIDS_FUNCTION IDLE_ARGS...: opens IDLE_CONNS idle
# connections; IDLE_RESULT is "held closed rss_kib pss_kib anon_kib", the
# memory figures per connection (growth divided by the connections held).
idle_memory() {
    local name=$1 port=$2 pids_of=$3 before after held closed
    shift 3
    # One connection per user first, so what is made once (the store's
    # index of each INBOX, the first sessions' allocations) is not charged
    # to the idle connections.
    "$IDLE" --server "127.0.0.1:$port" --connections "$CLIENTS" --hold 1 "$@" >/dev/null 2>&1 || true
    sleep 1
    # shellcheck disable=SC2046
    before=$(memory_of $($pids_of))
    "$IDLE" --server "127.0.0.1:$port" --connections "$IDLE_CONNS" --hold 600 --timeout 300 "$@" \
        >"$WORK/idle-$name.out" 2>"$WORK/idle-$name.err" &
    IDLE_PID=$!
    wait_ready "$WORK/idle-$name.out" "$IDLE_PID" 3000
    sleep 2
    # shellcheck disable=SC2046
    after=$(memory_of $($pids_of))
    kill "$IDLE_PID" 2>/dev/null || true
    wait "$IDLE_PID" 2>/dev/null || true
    IDLE_PID=
    held=$(awk '/^READY/ { print $2 }' "$WORK/idle-$name.out")
    held=${held:-0}
    closed=$(sed -n 's/.*the server closed \([0-9]*\).*/\1/p' "$WORK/idle-$name.out")
    if [ "$held" != "$IDLE_CONNS" ]; then
        log "$name: only $held of $IDLE_CONNS idle connections held:"; head -5 "$WORK/idle-$name.err" >&2
        IDLE_FAILED=1
    fi
    IDLE_RESULT=$(awk -v h="$held" -v c="${closed:-?}" -v b="$before" -v a="$after" 'BEGIN {
        split(b, x, " "); split(a, y, " ")
        if (h > 0) printf "%d %s %.1f %.1f %.1f\n", h, c, (y[1] - x[1]) / h, (y[2] - x[2]) / h, (y[3] - x[3]) / h
        else printf "0 %s - - -\n", c }')
}
IDLE_FAILED=0

# ---------------- our server ----------------
free_port 21143
# Only the IMAP listener.
other_ports_off --imap-port
declare -a OUR_USERS=()
for i in $(seq 1 "$N_USERS"); do OUR_USERS+=(--user "bench$i:benchpw"); done
DATA_DIR=$WORK/data
OUR_MAIL=$DATA_DIR/example.test/mail

our_pids() { echo "$SERVER_PID"; }

start_ours() {
    "$SERVER" --data-dir "$DATA_DIR" --domain example.test "${OUR_USERS[@]}" \
        --imap-port "$OUR_PORT" "${OTHER_PORTS_OFF[@]}" >>"$WORK/server.log" 2>&1 &
    SERVER_PID=$!
    if ! wait_for_port "$OUR_PORT" "$SERVER_PID"; then
        log "mailscope-server did not start:"; cat "$WORK/server.log" >&2
        exit 1
    fi
}

# fill DIR USER_NUMBER COUNT [--lf]: the same mailbox for a user on both
# servers (the seed is the user's number), in each server's native line ends.
fill() {
    "$IMAP_LOAD" --fill-maildir "$1" --seed "$2" --count "$3" ${4:+"$4"}
}

# Written before the server starts, as another delivery agent would have
# left them: CRLF line ends, as our SMTP delivery stores messages. The store
# gives them UIDs on the first SELECT.
log "mailscope-server: $CLIENTS INBOXes of $MESSAGES messages, and one of $BIG_MESSAGES"
for i in $(seq 1 "$CLIENTS"); do
    fill "$OUR_MAIL/bench$i" "$i" "$MESSAGES" &
    # Two at a time: the machine has two cores and others use it too.
    if (( i % 2 == 0 )); then wait; fi
done
wait
if [ "$BIG_MESSAGES" -gt 0 ]; then
    fill "$OUR_MAIL/bench$BIG_USER_N" "$BIG_USER_N" "$BIG_MESSAGES"
fi

# ---------------- Dovecot ----------------
dovecot_setup "$N_USERS" mailboxes
if [ "$SKIP_DOVECOT" != 1 ]; then
    DOVECOT_LAST=$((DOVECOT_FIRST + CLIENTS - 1))
    DOVECOT_BIG=bench$((DOVECOT_FIRST + CLIENTS))
    log "Dovecot: INBOXes of bench$DOVECOT_FIRST..bench$DOVECOT_LAST, and $DOVECOT_BIG of $BIG_MESSAGES"
    for i in $(seq 1 "$CLIENTS"); do
        user=bench$((DOVECOT_FIRST + i - 1))
        DOVECOT_FILLED+=("$user")
        # Bare LF line ends, as Postfix's virtual(8) writes them for Dovecot.
        fill "$BASE/mail/$user/Maildir" "$i" "$MESSAGES" --lf &
        if (( i % 2 == 0 )); then wait; fi
    done
    wait
    if [ "$BIG_MESSAGES" -gt 0 ]; then
        DOVECOT_FILLED+=("$DOVECOT_BIG")
        fill "$BASE/mail/$DOVECOT_BIG/Maildir" "$BIG_USER_N" "$BIG_MESSAGES" --lf
    fi
    for user in "${DOVECOT_FILLED[@]}"; do chown -R "$VUID:$VUID" "$BASE/mail/$user"; done
fi
# The fill's dirty pages go to disk now, not during a timed run.
sync

start_ours

# ---------------- SELECT of the big mailbox ----------------
# Our server: the first SELECT builds the store's index (UIDs for every
# file); "warm" is the median of five more in the same process; "restart"
# is the first SELECT after the server restarted, the index on disk and the
# files in the page cache. Dovecot forks a new imap process for every
# login, so each of its SELECTs starts a process; its first one builds
# dovecot.index and dovecot-uidlist.
OURS_SELECT_DROPPED=; DOVECOT_SELECT_DROPPED=
if [ "$BIG_MESSAGES" -gt 0 ]; then
    log "SELECT of $BIG_MESSAGES messages: mailscope-server"
    time_select select-first-ours "$OUR_PORT" "bench$BIG_USER_N"
    OURS_SELECT_FIRST=$SELECT_MS
    time_select select-warm-ours "$OUR_PORT" "bench$BIG_USER_N" 5
    OURS_SELECT_WARM=$SELECT_MS
    stop_ours
    start_ours
    time_select select-restart-ours "$OUR_PORT" "bench$BIG_USER_N"
    OURS_SELECT_RESTART=$SELECT_MS
    if [ "$DROP_CACHES" = 1 ]; then
        stop_ours
        drop_caches
        start_ours
        time_select select-dropped-ours "$OUR_PORT" "bench$BIG_USER_N"
        OURS_SELECT_DROPPED=$SELECT_MS
    fi
    if [ "$SKIP_DOVECOT" != 1 ]; then
        log "SELECT of $BIG_MESSAGES messages: Dovecot"
        time_select select-first-dovecot "$DOVECOT_PORT" "$DOVECOT_BIG"
        DOVECOT_SELECT_FIRST=$SELECT_MS
        time_select select-warm-dovecot "$DOVECOT_PORT" "$DOVECOT_BIG" 5
        DOVECOT_SELECT_WARM=$SELECT_MS
        if [ "$DROP_CACHES" = 1 ]; then
            drop_caches
            time_select select-dropped-dovecot "$DOVECOT_PORT" "$DOVECOT_BIG"
            DOVECOT_SELECT_DROPPED=$SELECT_MS
        fi
    fi
fi

# ---------------- warm-up ----------------
# One untimed loop per client: the first SELECT of each INBOX builds the
# server's index (ours: the uid list; Dovecot: dovecot.index, the cache
# of the header fields FETCH asks for, dovecot-uidlist). The timed runs
# then see INBOXes that are used again and again; the cold pass is shown
# apart.
cold_pass() {
    local name=$1 port=$2 first=$3
    run_load "cold-$name" "$port" "" --clients "$CLIENTS" --users-from "bench$first..bench$((first + CLIENTS - 1))" \
        --expect-messages "$MESSAGES" --loops 1 --duration 0 --timeout "$SELECT_TIMEOUT"
    COLD_TEXT="SELECT p50 ${R_select_p50_ms:-?} ms, max ${R_select_max_ms:-?} ms;"
    COLD_TEXT+=" FETCH p50 ${R_fetch_p50_ms:-?} ms; SEARCH FROM p50 ${R_search_from_p50_ms:-?} ms"
    COLD_FAILED=$(( COLD_FAILED + R_errors + R_status ))
}
COLD_FAILED=0
log "warm-up: mailscope-server"
cold_pass ours "$OUR_PORT" 1
COLD_OURS=$COLD_TEXT
if [ "$SKIP_DOVECOT" != 1 ]; then
    log "warm-up: Dovecot"
    cold_pass dovecot "$DOVECOT_PORT" "$DOVECOT_FIRST"
    COLD_DOVECOT=$COLD_TEXT
fi

# ---------------- the runs ----------------
# Interleaved (ours, Dovecot, then again), so that whatever else the machine
# does at the time weighs on both alike.
for run in $(seq 1 "$RUNS"); do
    log "run $run of $RUNS: mailscope-server"
    timed_run ours "$OUR_PORT" 1 "$SERVER_PID"
    if [ "$SKIP_DOVECOT" != 1 ]; then
        log "run $run of $RUNS: Dovecot"
        timed_run dovecot "$DOVECOT_PORT" "$DOVECOT_FIRST"
    fi
done

# ---------------- idle connections ----------------
# Each logs in and selects its INBOX (the users in turn), then waits, as a
# mail client does between two checks; then the same with LOGIN alone.
IDLE_OURS_SELECT=; IDLE_OURS_LOGIN=; IDLE_DOVECOT_SELECT=
if [ "$IDLE_CONNS" -gt 0 ]; then
    log "mailscope-server: $IDLE_CONNS idle connections"
    stop_ours
    start_ours
    idle_memory ours-select "$OUR_PORT" our_pids --imap --login "bench1..bench$CLIENTS" --select INBOX
    IDLE_OURS_SELECT=$IDLE_RESULT
    # A fresh server again: the heap the first 1000 sessions freed stays in
    # the process (mailscope-server raises glibc's trim threshold), and
    # would be reused without growing RSS.
    stop_ours
    start_ours
    idle_memory ours-login "$OUR_PORT" our_pids --imap --login "bench1..bench$CLIENTS"
    IDLE_OURS_LOGIN=$IDLE_RESULT
    if [ "$SKIP_DOVECOT" != 1 ]; then
        log "Dovecot: $IDLE_CONNS idle connections"
        idle_memory dovecot-select "$DOVECOT_PORT" dovecot_pids --imap \
            --login "bench$DOVECOT_FIRST..bench$DOVECOT_LAST" --select INBOX
        IDLE_DOVECOT_SELECT=$IDLE_RESULT
    fi
fi
stop_ours

# ---------------- the report ----------------
# median_into NAME ARRAY: every figure of NAME's median run into ARRAY[key].
# shellcheck disable=SC2034  # `into` is a name reference to the caller's array
median_into() {
    local -n into=$2
    local key value
    median_run "$1"
    while read -r key; do
        value="R_$key"
        into["$key"]=${!value:-}
    done < <(grep -o '[a-z0-9_]*=' "$WORK/median-$1" | tr -d =)
    into[all]=$M_all
    into[failures]=$M_failures
}
declare -A OURS DOVECOT
median_into ours OURS
OURS_RATE=${OURS[ops_per_s]}; OURS_FAILED=${OURS[failures]}
DOVECOT_RATE=; DOVECOT_FAILED=0
if [ "$SKIP_DOVECOT" != 1 ]; then
    median_into dovecot DOVECOT
    DOVECOT_RATE=${DOVECOT[ops_per_s]}; DOVECOT_FAILED=${DOVECOT[failures]}
fi
DOVECOT_NAME=$(dovecot_name)

echo
echo "IMAP benchmark: $CLIENTS clients, each on its own INBOX of $MESSAGES messages of 2-4 KiB, $DURATION s per run,"
echo "each loop on a new connection: LOGIN, SELECT INBOX, FETCH 50 (UID FLAGS BODY.PEEK[HEADER.FIELDS (FROM SUBJECT DATE)]),"
echo "STORE 3 +FLAGS (\\Seen), STORE 3 -FLAGS (\\Seen), SEARCH UNSEEN, SEARCH FROM \"someone\", LOGOUT."
echo "Loopback, $(machine_text)," \
     "median of $RUNS run(s), load $(cut -d' ' -f1-3 /proc/loadavg) at the end"
echo
printf '%-22s %10s %9s %8s %8s   %s\n' "server" "commands/s" "loops/s" "errors" "CPU s" "commands/s of each run"
printf '%-22s %10s %9s %8s %8s   %s\n' "mailscope-server" "${OURS[ops_per_s]}" "${OURS[loops_per_s]}" \
    "${OURS[errors]}" "${OURS[cpu]}" "${OURS[all]}"
if [ -n "$DOVECOT_RATE" ]; then
    printf '%-22s %10s %9s %8s %8s   %s\n' "$DOVECOT_NAME" "${DOVECOT[ops_per_s]}" "${DOVECOT[loops_per_s]}" \
        "${DOVECOT[errors]}" "-" "${DOVECOT[all]}"
fi
echo
printf '%-15s %24s %24s\n' "p50 / p99 ms" "mailscope-server" "${DOVECOT_RATE:+$DOVECOT_NAME}"
for op in connect login select fetch store search_unseen search_from logout; do
    d=
    if [ -n "$DOVECOT_RATE" ]; then d="${DOVECOT[${op}_p50_ms]:-} / ${DOVECOT[${op}_p99_ms]:-}"; fi
    printf '%-15s %24s %24s\n' "$op" "${OURS[${op}_p50_ms]:-} / ${OURS[${op}_p99_ms]:-}" "$d"
done
echo
echo "commands/s:     tagged replies per second over the run (a loop is 8 commands; connect is not one)"
echo "p50 / p99:      command sent to its tagged reply; connect: connect() to the greeting"
echo "cold pass:      mailscope-server $COLD_OURS"
[ -n "$DOVECOT_RATE" ] && echo "                Dovecot $COLD_DOVECOT"
if [ "${OURS[cpu]}" != - ]; then
    echo "server CPU:     ${OURS[cpu]} s in the median run," \
         "$(awk -v c="${OURS[cpu]}" -v n="${OURS[commands]}" 'BEGIN { if (n > 0) printf "%.0f", c / n * 1e6 }') us per command"
fi
if [ -n "$DOVECOT_RATE" ]; then
    echo "ours / Dovecot: $(ratio "$OURS_RATE" "$DOVECOT_RATE") x commands/s (above 1: we are faster)"
    echo "Dovecot:        users bench$DOVECOT_FIRST..bench$DOVECOT_LAST, $(dovecot_mode) $DOVECOT_NOTE"
fi
if [ "$BIG_MESSAGES" -gt 0 ]; then
    echo
    echo "SELECT INBOX of $BIG_MESSAGES messages (ms, \"a SELECT\" sent to its tagged OK; target < 200):"
    echo "  mailscope-server  first (builds the index) $OURS_SELECT_FIRST, warm $OURS_SELECT_WARM (p50 of 5)," \
         "after a restart $OURS_SELECT_RESTART${OURS_SELECT_DROPPED:+, after a restart with the page cache dropped $OURS_SELECT_DROPPED}"
    if [ "$SKIP_DOVECOT" != 1 ]; then
        echo "  $DOVECOT_NAME    first (builds the index) $DOVECOT_SELECT_FIRST, warm $DOVECOT_SELECT_WARM (p50 of 5," \
             "each a new imap process)${DOVECOT_SELECT_DROPPED:+, with the page cache dropped $DOVECOT_SELECT_DROPPED}"
    fi
fi
if [ "$IDLE_CONNS" -gt 0 ]; then
    echo
    echo "Idle connections: growth of server memory per connection held, KiB (target: at most 64)"
    printf '  %-44s %6s %7s %8s %8s %10s\n' "" held closed VmRSS Pss Anonymous
    # shellcheck disable=SC2086
    printf '  %-44s %6s %7s %8s %8s %10s\n' "mailscope-server, LOGIN + SELECT INBOX" $IDLE_OURS_SELECT
    # shellcheck disable=SC2086
    printf '  %-44s %6s %7s %8s %8s %10s\n' "mailscope-server, LOGIN only" $IDLE_OURS_LOGIN
    if [ -n "$IDLE_DOVECOT_SELECT" ]; then
        # shellcheck disable=SC2086
        printf '  %-44s %6s %7s %8s %8s %10s\n' "Dovecot, LOGIN + SELECT (all its processes)" $IDLE_DOVECOT_SELECT
    fi
    echo "  (INBOXes of $MESSAGES messages, the $CLIENTS users in turn; Dovecot runs a process per session,"
    echo "  so its VmRSS counts shared pages once per process: compare Pss)"
fi

failed=0
[ "$OURS_FAILED" != 0 ] && failed=1
[ "$DOVECOT_FAILED" != 0 ] && failed=1
[ "$COLD_FAILED" != 0 ] && failed=1
[ "$SELECT_FAILED" != 0 ] && failed=1
[ "$IDLE_FAILED" != 0 ] && failed=1
if [ "$failed" != 0 ]; then
    log "some runs had errors (NO/BAD, wrong responses, failed clients): see above"
    exit 1
fi
