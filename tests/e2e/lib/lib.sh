# shellcheck shell=bash
# lib.sh: the end-to-end harness, sourced by every tests/e2e/*/t_*.sh. It owns the test's
# temp dir, free loopback ports, the background processes (recorded by pid, stopped by
# the EXIT trap), readiness waits, the fulcrum and gunicorn launchers and assertions.
# Exit codes of a test: 0 pass, 77 skip, anything else fail (logs dumped to stderr).

set -eEuo pipefail

# E2E_DIR is this folder (tests/e2e/lib): the other *_lib.sh and the Python helpers.
E2E_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=$(cd "$E2E_DIR/../../.." && pwd)
PY=/usr/bin/python3
GUNICORN=/usr/bin/gunicorn
FULCRUM=${FULCRUM:-build/fulcrum}
case $FULCRUM in
/*) ;;
*) if [ -e "$PWD/$FULCRUM" ]; then FULCRUM=$PWD/$FULCRUM; else FULCRUM=$REPO_DIR/$FULCRUM; fi ;;
esac
TEST_NAME=$(basename "$0" .sh)
export PYTHONDONTWRITEBYTECODE=1
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY no_proxy NO_PROXY

T=$(mktemp -d "${TMPDIR:-/tmp}/fulcrum-e2e.$TEST_NAME.XXXXXX")
mkdir -p "$T/state"

# Background processes we started: pid, name and the signal that stops them cleanly.
E2E_PIDS=()
E2E_NAMES=()
E2E_SIGS=()
LAST_PID=
FULCRUM_PID=

e2e_dump_logs() {
	local f n
	echo "===== $TEST_NAME failed; logs from $T =====" >&2
	for f in "$T"/*.log; do
		[ -e "$f" ] || continue
		n=80
		case $(basename "$f") in fulcrum*) n=200 ;; esac
		echo "----- $(basename "$f") (last $n lines of $(wc -l <"$f")) -----" >&2
		tail -n "$n" "$f" >&2 || true
	done
	echo "===== end of logs =====" >&2
}

e2e_cleanup() {
	local rc=$? i pid deadline st f
	trap - EXIT INT TERM HUP ERR
	trap '' PIPE # stdout may be a closed pipe (| head): keep cleaning up regardless
	set +e
	for ((i = ${#E2E_PIDS[@]} - 1; i >= 0; i--)); do
		pid=${E2E_PIDS[$i]}
		# CONT after the signal: a scenario may have paused one of its processes (SIGSTOP)
		[ -n "$pid" ] && kill "-${E2E_SIGS[$i]}" "$pid" 2>/dev/null && kill -CONT "$pid" 2>/dev/null
	done
	deadline=$((SECONDS + 10))
	for ((i = 0; i < ${#E2E_PIDS[@]}; i++)); do
		pid=${E2E_PIDS[$i]}
		[ -n "$pid" ] || continue
		while kill -0 "$pid" 2>/dev/null && ! e2e_is_zombie "$pid" && [ $SECONDS -lt $deadline ]; do
			sleep 0.1
		done
		if kill -0 "$pid" 2>/dev/null && ! e2e_is_zombie "$pid"; then
			echo "cleanup: ${E2E_NAMES[$i]} (pid $pid) did not stop within 10 s, killing" >&2
			kill -KILL "$pid" 2>/dev/null
		fi
		wait "$pid" 2>/dev/null
		st=$?
		# fulcrum must exit 0 on SIGTERM; anything else (a crash, a sanitizer abort) fails.
		case ${E2E_NAMES[$i]} in
		fulcrum*)
			if [ "$st" -ne 0 ]; then
				echo "FAIL: $TEST_NAME: ${E2E_NAMES[$i]} exited with status $st on SIGTERM at the end of the test" >&2
				if [ "$rc" -eq 0 ] || [ "$rc" -eq 77 ]; then rc=1; fi
			fi
			;;
		esac
	done
	for f in "$T"/fulcrum*.log; do
		[ -e "$f" ] || continue
		if grep -qE 'ERROR: (Address|Leak|Thread)Sanitizer|runtime error:' "$f"; then
			echo "FAIL: $TEST_NAME: sanitizer report in $(basename "$f")" >&2
			rc=1
		fi
	done
	if [ "$rc" -ne 0 ] && [ "$rc" -ne 77 ]; then
		e2e_dump_logs
	fi
	if [ "${E2E_KEEP:-0}" = 1 ]; then
		echo "kept $T" >&2
	else
		rm -rf "$T"
	fi
	exit "$rc"
}
trap e2e_cleanup EXIT
trap 'echo "error: ${BASH_SOURCE[0]##*/}:$LINENO: \"$BASH_COMMAND\" failed (exit $?)" >&2' ERR
trap 'exit 143' TERM
trap 'exit 130' INT
trap 'exit 129' HUP
trap 'exit 141' PIPE

e2e_is_zombie() {
	local st
	st=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1
	[ "$st" = Z ]
}

fail() {
	echo "FAIL: $TEST_NAME: $*" >&2
	exit 1
}
skip() {
	echo "SKIP: $TEST_NAME: $*"
	exit 77
}
step() { echo "-- $*"; }

# bg NAME SIGNAL CMD...: runs CMD in the background with stdout+stderr in $T/NAME.log,
# records its pid (also in LAST_PID) so the EXIT trap stops it with SIGNAL.
bg() {
	local name=$1 sig=$2
	shift 2
	"$@" >"$T/$name.log" 2>&1 &
	LAST_PID=$!
	E2E_PIDS+=("$LAST_PID")
	E2E_NAMES+=("$name")
	E2E_SIGS+=("$sig")
}

# stop_pid PID [SIGNAL] [SECONDS]: signals a process we started, waits for it up to
# SECONDS (default 10) and returns its exit status (124 if it is still running).
stop_pid() {
	local pid=$1 sig=${2:-TERM} secs=${3:-10} i rc
	kill "-$sig" "$pid" 2>/dev/null || true
	wait_exit "$pid" "$secs"
}

# wait_exit PID SECONDS: waits for a process we started to end; returns its status,
# or 124 when it is still running after SECONDS.
wait_exit() {
	local pid=$1 secs=$2 end rc i
	end=$((SECONDS + secs))
	while kill -0 "$pid" 2>/dev/null && ! e2e_is_zombie "$pid"; do
		[ $SECONDS -lt $end ] || return 124
		sleep 0.05
	done
	rc=0
	wait "$pid" || rc=$?
	for i in "${!E2E_PIDS[@]}"; do
		[ "${E2E_PIDS[$i]}" = "$pid" ] && E2E_PIDS[i]=
	done
	return $rc
}

# free_ports N: prints N distinct loopback ports that are free now, one per line, from
# 20000-32759 (below Linux's ephemeral range, so client sockets cannot take them).
free_ports() {
	"$PY" - "$1" "${E2E_PORTS_FILE:-$T/.ports}" <<'EOF'
import errno, fcntl, os, random, socket, sys
n, used_file = int(sys.argv[1]), sys.argv[2]
# the file is shared by the scenarios of one run.sh (E2E_PORTS_FILE): held locked from
# reading it to appending, so two scenarios never draw the same port
lock = open(used_file, "a+")
fcntl.flock(lock, fcntl.LOCK_EX)
lock.seek(0)
used = set(lock.read().split())
rnd = random.Random(int.from_bytes(os.urandom(8), "little"))
out = []
for _ in range(5000):
    if len(out) == n:
        break
    p = rnd.randrange(20000, 32760)
    if str(p) in used or p in out:
        continue
    ok = True
    for fam, host in ((socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1")):
        s = socket.socket(fam, socket.SOCK_STREAM)
        try:
            s.bind((host, p))
        except OSError as e:
            if fam == socket.AF_INET or e.errno != errno.EADDRNOTAVAIL:
                ok = False
        finally:
            s.close()
    if ok:
        out.append(p)
if len(out) < n:
    sys.exit("free_ports: found only %d of %d" % (len(out), n))
lock.write("".join("%d\n" % p for p in out))
lock.close()
print("\n".join(str(p) for p in out))
EOF
}

# ports VAR...: sets each named variable to a distinct free port.
ports() {
	local list v i=0
	mapfile -t list < <(free_ports $#)
	for v in "$@"; do
		printf -v "$v" '%s' "${list[$i]}"
		i=$((i + 1))
	done
}

# wait_listen PORT [PID] [SECONDS]: waits until something listens on PORT (read from
# /proc/net/tcp*, so no connection is made). Fails early if PID has died.
wait_listen() {
	local port=$1 pid=${2:-0} secs=${3:-15}
	"$PY" - "$port" "$pid" "$secs" <<'EOF' || fail "nothing listening on port $port after ${secs}s (pid $pid)"
import os, sys, time
port, pid, secs = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
def listening():
    for name in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = open(name).read().splitlines()[1:]
        except OSError:
            continue
        for l in lines:
            f = l.split()
            if f[3] == "0A" and int(f[1].rsplit(":", 1)[1], 16) == port:
                return True
    return False
def alive():
    if pid <= 0:
        return True
    try:
        return open("/proc/%d/stat" % pid).read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False
end = time.monotonic() + secs
while time.monotonic() < end:
    if listening():
        sys.exit(0)
    if not alive():
        sys.exit("process %d exited before listening on %d" % (pid, port))
    time.sleep(0.05)
sys.exit(1)
EOF
}

# wait_unlisten PORT [SECONDS]: waits until nothing listens on PORT any more.
wait_unlisten() {
	local port=$1 secs=${2:-10} i
	for ((i = 0; i < secs * 20; i++)); do
		"$PY" - "$port" <<'EOF' && return 0
import sys
port = int(sys.argv[1])
for name in ("/proc/net/tcp", "/proc/net/tcp6"):
    for l in open(name).read().splitlines()[1:]:
        f = l.split()
        if f[3] == "0A" and int(f[1].rsplit(":", 1)[1], 16) == port:
            sys.exit(1)
EOF
		sleep 0.05
	done
	return 1
}

# hcurl ARGS...: curl with no proxy, quiet but showing errors, and a bounded time.
hcurl() { curl -sS --noproxy '*' --max-time "${CURL_MAX_TIME:-30}" "$@"; }

# http_status URL [CURL ARGS...]: prints the status code (000 when no response).
http_status() {
	local url=$1
	shift
	curl -s --noproxy '*' --max-time "${CURL_MAX_TIME:-30}" -o /dev/null -w '%{http_code}' "$@" "$url" || true
}

# http_status_body BODYFILE URL [CURL ARGS...]: like http_status, body saved to BODYFILE.
http_status_body() {
	local body=$1 url=$2
	shift 2
	curl -s --noproxy '*' --max-time "${CURL_MAX_TIME:-30}" -o "$body" -w '%{http_code}' "$@" "$url" || true
}

# wait_file FILE...: waits up to 5 s until every FILE exists (a helper's "ready" mark);
# returns 1 if one is still missing then.
wait_file() {
	local i f missing
	for ((i = 0; i < 100; i++)); do
		missing=""
		for f in "$@"; do [ -e "$f" ] || { missing=$f; break; }; done
		[ -z "$missing" ] && return 0
		sleep 0.05
	done
	return 1
}

# wait_http URL [SECONDS]: waits until URL answers 200.
wait_http() {
	local url=$1 secs=${2:-20} i
	for ((i = 0; i < secs * 10; i++)); do
		[ "$(CURL_MAX_TIME=2 http_status "$url")" = 200 ] && return 0
		sleep 0.1
	done
	fail "$url did not answer 200 within ${secs}s"
}

# start_flask NAME PORT WORKERS [GUNICORN ARGS...]: gunicorn with WORKERS sync workers
# (later args such as "-k gthread --threads 8" override), log in $T/NAME.log; the
# instance answers with NAME and records /work concurrency in $T/conc.NAME.
start_flask() {
	local name=$1 port=$2 workers=$3
	shift 3
	bg "$name" INT env FULCRUM_TEST_INSTANCE="$name" FULCRUM_TEST_CONC_FILE="$T/conc.$name" FULCRUM_TEST_CTL_DIR="$T" \
		"$GUNICORN" -w "$workers" -k sync -b "127.0.0.1:$port" --chdir "$E2E_DIR" \
		--graceful-timeout 2 --timeout 120 --access-logfile - --error-logfile - \
		"$@" app:app
	local pid=$LAST_PID
	wait_listen "$port" "$pid" 20
	wait_http "http://127.0.0.1:$port/healthz" 20
}

# have_ipv6: 0 when ::1 can be bound (CI containers often have no IPv6 loopback).
have_ipv6() {
	"$PY" -c 'import socket; s = socket.socket(socket.AF_INET6); s.bind(("::1", 0))' 2>/dev/null
}

need_fulcrum() {
	[ -x "$FULCRUM" ] || fail "no fulcrum binary at $FULCRUM (run make, or set FULCRUM)"
}

# cfg_common: the top of a test config: one worker, state and access log in $T.
cfg_common() {
	cat <<EOF
workers = ${E2E_WORKERS:-1};
state_dir = "$T/state";
shutdown_timeout_s = ${E2E_SHUTDOWN_S:-5};
log = { level = "info"; access = "$T/access.log"; format = "json"; };
EOF
}

# one_worker_pool [KEYS]: the config line of pool "flask" for the buffering and queue
# scenarios: one gunicorn sync worker at $P_BE behind max_conns = 1 (other requests
# wait in fulcrum's queue, up to 20 s), no retries, no health checks; KEYS go into the
# pool as they are.
one_worker_pool() {
	cat <<EOF
pools = ( { name = "flask"; health = { type = "none"; }; queue_timeout_ms = 20000; retries = 0; ${1:-}
            backends = ( { name = "w"; address = "127.0.0.1:$P_BE"; max_conns = 1; } ); } );
EOF
}

# start_fulcrum CONFIG PORT...: runs fulcrum -c CONFIG (stdout+stderr in
# $T/fulcrum.log) and waits until every PORT listens. Sets FULCRUM_PID.
start_fulcrum() {
	local cfg=$1 p
	shift
	need_fulcrum
	bg fulcrum TERM "$FULCRUM" -c "$cfg"
	FULCRUM_PID=$LAST_PID
	for p in "$@"; do
		wait_listen "$p" "$FULCRUM_PID" 15
	done
}

# Python helpers with the Debian interpreter.
rawhttp() { "$PY" "$E2E_DIR/rawhttp.py" "$@"; }
alog() { "$PY" "$E2E_DIR/alog.py" "$T/access.log" "$@"; }
# alog_wait N [FILTERS...]: waits up to 5 s for N matching access-log entries (the log
# may be written a little after the response).
alog_wait() {
	local n=$1 i
	shift
	for ((i = 0; i < 50; i++)); do
		[ "$(alog count "$@")" -ge "$n" ] && return 0
		sleep 0.1
	done
	return 0
}

# json_get JSON EXPR: evaluates a Python expression over d = the parsed JSON.
# Further arguments are there as sys.argv[3:].
json_get() {
	"$PY" -c 'import json,sys; d=json.loads(sys.argv[1]); v=eval(sys.argv[2]); print(json.dumps(v) if isinstance(v,(dict,list,bool)) else v)' "$@"
}

sha256_file() { sha256sum "$1" | cut -d' ' -f1; }
now_ms() { date +%s%3N; }

assert_eq() {
	[ "$1" = "$2" ] || fail "${3:-value}: expected '$2', got '$1'"
}
assert_match() {
	[[ $1 =~ $2 ]] || fail "${3:-value}: '$1' does not match /$2/"
}
assert_contains() {
	case $1 in *"$2"*) ;; *) fail "${3:-text} does not contain '$2': $(printf '%s' "$1" | head -c 600)" ;; esac
}
assert_not_contains() {
	case $1 in *"$2"*) fail "${3:-text} contains '$2': $(printf '%s' "$1" | head -c 600)" ;; *) ;; esac
}
# assert_cmp A OP B MSG: numeric comparison (floats allowed), OP one of < <= > >= ==.
assert_cmp() {
	awk -v a="$1" -v b="$3" -v op="$2" 'BEGIN {
		r = (op == "<") ? a < b : (op == "<=") ? a <= b : (op == ">") ? a > b : (op == ">=") ? a >= b : a == b
		exit !r }' || fail "${4:-value}: expected $1 $2 $3"
}
