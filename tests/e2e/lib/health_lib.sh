# shellcheck shell=bash
# health_lib.sh: helpers shared by the t_health_*.sh scenarios (sourced after lib.sh):
# times of fulcrum's health log lines, waiting for them, killing an instance hard.

hload() { "$PY" "$E2E_DIR/hload.py" "$@"; }
now_s() { date +%s.%N; }

# log_time REGEX [AFTER]: wall-clock seconds of the first fulcrum.log line matching REGEX
# (extended grep) at or after AFTER (seconds), or nothing when there is none.
log_time() {
	"$PY" - "$T/fulcrum.log" "$1" "${2:-0}" <<'PYEOF'
import calendar, re, sys, time
path, rx, after = sys.argv[1], re.compile(sys.argv[2]), float(sys.argv[3])
for line in open(path, errors="replace"):
    m = re.match(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)\.(\d{3})Z ", line)
    if not m or not rx.search(line):
        continue
    t = calendar.timegm(time.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S")) + int(m.group(2)) / 1000
    if t >= after:
        print("%.3f" % t)
        break
PYEOF
}

# wait_log REGEX SECONDS [AFTER]: waits for such a line; prints its time; fails otherwise.
wait_log() {
	local rx=$1 secs=$2 after=${3:-0} i t
	for ((i = 0; i < secs * 10; i++)); do
		t=$(log_time "$rx" "$after")
		if [ -n "$t" ]; then
			echo "$t"
			return 0
		fi
		sleep 0.1
	done
	fail "no fulcrum log line matching /$rx/ within ${secs}s"
}

# kill_instance PID: SIGKILL to a gunicorn master we started and to its workers (its
# children, by pid), as a crash would; reaps the master. The master is stopped first so
# it cannot fork a worker between listing its children and being killed (on a loaded
# machine it may still be spawning them seconds after it started listening).
kill_instance() {
	local pid=$1 kids
	kill -STOP "$pid" 2>/dev/null || true
	kids=$(pgrep -P "$pid" || true)
	kill -KILL "$pid" 2>/dev/null || true
	# shellcheck disable=SC2086
	[ -z "$kids" ] || kill -KILL $kids 2>/dev/null || true
	wait_exit "$pid" 10 || true
}

# start_check_listeners N: N cheap backends in one python process (tests/e2e/lib/listeners.py)
# on free ports listed in $T/ports, every tenth hanging (accepts, never answers); each
# check they receive is recorded in $T/checks.rec. Returns once they all listen.
start_check_listeners() {
	local n=$1 i
	free_ports "$n" >"$T/ports"
	bg listeners TERM "$PY" "$E2E_DIR/listeners.py" --ports-file "$T/ports" --record "$T/checks.rec" \
		--ready "$T/ready" --hang-every 10 --max-seconds 200
	for ((i = 0; i < 100; i++)); do
		[ -s "$T/ready" ] && break
		sleep 0.1
	done
	[ -s "$T/ready" ] || fail "the $n listeners did not start"
}
