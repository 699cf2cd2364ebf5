# SPDX-License-Identifier: GPL-3.0-or-later
# shellcheck shell=bash
# OTHER_PORTS_OFF, LOAD_START, R_* are set here for the scripts that source this.
# shellcheck disable=SC2034
#
# What the run-*.sh benchmarks share; sourced, never run. The caller sets
# REPO, WORK (once made), and LOAD_PID / SERVER_PID / IDLE_PID as it goes.

BENCH_SCRIPT=$(basename "$0")

log() { echo "$BENCH_SCRIPT: $*" >&2; }

# bench_build_dir DIR: DIR as given, or under the repository; into BUILD_DIR.
bench_build_dir() {
    BUILD_DIR=$1
    if [ ! -d "$BUILD_DIR" ] && [ -d "$REPO/$BUILD_DIR" ]; then
        BUILD_DIR=$REPO/$BUILD_DIR
    fi
}

# require_binaries PATH...: exits 2 unless every one is built.
require_binaries() {
    local binary
    for binary in "$@"; do
        if [ ! -x "$binary" ]; then
            echo "$BENCH_SCRIPT: $binary is missing: build first (meson setup $BUILD_DIR && ninja -C $BUILD_DIR)" >&2
            exit 2
        fi
    done
}

# The scripts' exit: stops the load, idle-conns and our server if they run,
# then CLEANUP_HOOK (a function name, if set: the reference servers), and
# removes WORK. Installed by bench_traps.
bench_cleanup() {
    local status=$?
    trap - EXIT INT TERM
    stop_pid "${LOAD_PID:-}"
    stop_pid "${IDLE_PID:-}"
    stop_pid "${SERVER_PID:-}"
    if [ -n "${CLEANUP_HOOK:-}" ]; then "$CLEANUP_HOOK"; fi
    rm -rf "$WORK"
    exit "$status"
}

bench_traps() {
    trap bench_cleanup EXIT
    trap 'exit 130' INT TERM
}

# stop_pid PID: kills it (if set) and waits for it.
stop_pid() {
    if [ -n "$1" ]; then kill "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; fi
}

# Stops our server (SERVER_PID).
stop_ours() {
    stop_pid "$SERVER_PID"
    SERVER_PID=
}

port_in_use() { ss -ltnH "sport = :$1" 2>/dev/null | grep -q .; }

# wait_for_port PORT PID: until something listens on PORT (at most
# PORT_WAIT_TENTHS tenths of a second, default 100); fails at once if PID dies.
wait_for_port() {
    local port=$1 pid=$2 tries=${PORT_WAIT_TENTHS:-100}
    for _ in $(seq 1 "$tries"); do
        if port_in_use "$port"; then return 0; fi
        if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then return 1; fi
        sleep 0.1
    done
    return 1
}

# free_port FIRST: OUR_PORT if set (and free), else the first free port
# from FIRST on; into OUR_PORT.
free_port() {
    if [ -z "$OUR_PORT" ]; then
        OUR_PORT=$1
        while port_in_use "$OUR_PORT"; do OUR_PORT=$((OUR_PORT + 1)); done
    elif port_in_use "$OUR_PORT"; then
        log "port $OUR_PORT is in use; set OUR_PORT"
        exit 1
    fi
}

# other_ports_off --NAME-port: every other "--NAME-port" the server knows
# (SMTP, submission, POP3, IMAP, ... as they are added) turned off with 0,
# into the array OTHER_PORTS_OFF.
other_ports_off() {
    mapfile -t OTHER_PORTS_OFF < <("$SERVER" --help 2>/dev/null |
        grep -o -- '--[a-z0-9-]*-port=' | sed 's/=$//' | grep -vx -- "$1" | sed 's/$/=0/')
}

# CPU seconds (user + system) a process has used so far.
cpu_seconds() {
    awk -v hz="$(getconf CLK_TCK)" '{ print ($14 + $15) / hz }' "/proc/$1/stat"
}

# Reads "key=value ..." from a RESULT line (in file $1) into R_<key>.
parse_result() {
    local line key pair
    line=$(grep '^RESULT ' "$1" | tail -1)
    [ -n "$line" ] || return 1
    # A figure the line does not have: none left from before.
    for key in "${!R_@}"; do unset "$key"; done
    for pair in ${line#RESULT }; do
        printf -v "R_${pair%%=*}" '%s' "${pair#*=}"
    done
}

# run_measured NAME SERVER_PID COMMAND...: runs a load generator, its
# stdout into $WORK/load-NAME.out and stderr into .err. Sets R_* from its
# RESULT line, R_cpu (server CPU seconds, if a pid is given, else -),
# R_status, and LOAD_START (when it started, date +%s.%N).
run_measured() {
    local name=$1 pid=$2 out=$WORK/load-$1.out cpu_before=0 status=0 program
    shift 2
    program=$(basename "$1")
    [ -n "$pid" ] && cpu_before=$(cpu_seconds "$pid")
    LOAD_START=$(date +%s.%N)
    "$@" >"$out" 2>"$WORK/load-$name.err" &
    # In the background, so that a signal to this script is acted on at once
    # (bash runs traps only between foreground commands).
    LOAD_PID=$!
    wait "$LOAD_PID" || status=$?
    LOAD_PID=
    if ! parse_result "$out"; then
        log "$name: $program printed no result (exit $status):"; cat "$WORK/load-$name.err" >&2
        exit 1
    fi
    if [ "$status" != 0 ]; then
        log "$name: $program exit $status:"; head -20 "$WORK/load-$name.err" >&2
    fi
    R_cpu=-
    [ -n "$pid" ] && R_cpu=$(awk -v a="$cpu_before" -v b="$(cpu_seconds "$pid")" 'BEGIN { printf "%.2f", b - a }')
    R_status=$status
}

# wait_ready FILE PID TENTHS: until idle-conns (PID) prints READY into FILE.
wait_ready() {
    for _ in $(seq 1 "$3"); do
        grep -q '^READY' "$1" && break
        kill -0 "$2" 2>/dev/null || break
        sleep 0.1
    done
}

# Memory (KiB) of a set of processes: VmRSS, Pss and Anonymous summed.
memory_of() {
    local rss=0 pss=0 anon=0 pid
    for pid in "$@"; do
        [ -r "/proc/$pid/smaps_rollup" ] || continue
        rss=$((rss + $(awk '/^VmRSS:/ { print $2 }' "/proc/$pid/status" 2>/dev/null || echo 0)))
        pss=$((pss + $(awk '/^Pss:/ { print $2 }' "/proc/$pid/smaps_rollup" 2>/dev/null || echo 0)))
        anon=$((anon + $(awk '/^Anonymous:/ { print $2 }' "/proc/$pid/smaps_rollup" 2>/dev/null || echo 0)))
    done
    echo "$rss $pss $anon"
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'; }

# "2 CPUs (model), Linux 6.1.0" for a report's heading.
machine_text() {
    echo "$(nproc) CPUs ($(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)), Linux $(uname -r)"
}

# ---------------- Dovecot (run-pop3.sh, run-imap.sh) ----------------
# They read the reference script's own defaults: BASE, DC_CONF, VUID, NBENCH.

# dovecot_cleanup: stops a Dovecot this script started and removes the
# mailboxes it wrote (the user names in DOVECOT_FILLED).
dovecot_cleanup() {
    local user
    if [ "$DOVECOT_STARTED" = 1 ]; then
        doveadm -c "$DC_CONF" stop >>"$WORK/reference.log" 2>&1 || true
    fi
    for user in "${DOVECOT_FILLED[@]}"; do
        rm -rf "${BASE:?}/mail/$user"
    done
}

# dovecot_setup N_USERS WHAT: unless SKIP_DOVECOT=1, makes sure Dovecot
# runs (starting it if nobody does) and finds N_USERS benchN users in a row
# whose mailboxes do not exist yet, so that nobody else's mail is read or
# removed, into DOVECOT_FIRST. WHAT ("maildrops", "mailboxes") is for the
# messages. Sets SKIP_DOVECOT=1 if Dovecot cannot be used.
dovecot_setup() {
    local n_users=$1 what=$2 dovecot_pid run_length i
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
            log "writing Dovecot's $what (owned by uid $VUID) needs root; skipping Dovecot"
            SKIP_DOVECOT=1
        fi
    fi
    [ "$SKIP_DOVECOT" != 1 ] || return 0
    dovecot_pid=$(cat "$BASE/dovecot/run/master.pid" 2>/dev/null || true)
    if [ -n "$dovecot_pid" ] && kill -0 "$dovecot_pid" 2>/dev/null; then
        # Someone else's Dovecot: use it as it is and leave it running.
        DOVECOT_NOTE="(Dovecot was already running: used as found, left running)"
        log "$DOVECOT_NOTE"
    else
        # Only Dovecot: the mailboxes are written here, so Postfix is not
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
    run_length=0
    for i in $(seq 1 "$NBENCH"); do
        if [ -e "$BASE/mail/bench$i" ] || ! grep -q "^bench$i:" "$BASE/dovecot/users" 2>/dev/null; then
            run_length=0
            continue
        fi
        run_length=$((run_length + 1))
        if [ "$run_length" = "$n_users" ]; then
            DOVECOT_FIRST=$((i - n_users + 1))
            break
        fi
    done
    if [ -z "$DOVECOT_FIRST" ]; then
        log "no $n_users unused bench users in a row among bench1..bench$NBENCH in $BASE: skipping Dovecot"
        SKIP_DOVECOT=1
    fi
}

# The Dovecot version for a report, "Dovecot 2.3.19.1".
dovecot_name() { echo "Dovecot $(dovecot --version 2>/dev/null | awk '{ print $1 }')"; }

# How Dovecot was set up, for a report.
dovecot_mode() { grep -o 'DOVECOT_MODE=[a-z]*' "$DC_CONF" 2>/dev/null || echo 'mode unknown'; }
