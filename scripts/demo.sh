#!/usr/bin/env bash
# demo.sh FULCRUM-BINARY: the demo of `make demo`. Starts three Flask instances under
# gunicorn on 127.0.0.1:8001/8002/8003 (4/2/1 sync workers) and fulcrum on its embedded
# default config (http://127.0.0.1:8080 -> pool "flask", weights 4/2/1, max_conns 4/2/1;
# control API and status page on http://127.0.0.1:9000), prints what to try, and stops
# everything it started on Ctrl-C, or after DEMO_SECONDS (default 20 when stdin is not a
# terminal, so it never hangs in CI; 0 starts everything, prints and stops at once).
# Every port is checked before anything starts. DEMO_PORT, DEMO_CONTROL_PORT and
# DEMO_BACKEND_PORTS ("8001 8002 8003") move the demo elsewhere: fulcrum then runs on a
# copy of the embedded config with those ports (tests/e2e/deploy/t_demo_script.sh).
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
app_dir=$repo/tests/e2e/lib # app.py, the Flask app the e2e scenarios use too
bin=${1:-${FULCRUM:-$repo/build/fulcrum}}
case $bin in /*) ;; *) bin=$PWD/$bin ;; esac
[ -x "$bin" ] || { echo "demo: no fulcrum binary at $bin (run make)" >&2; exit 1; }
# fulcrumctl is built beside fulcrum; shown relative to the current directory when inside it.
ctl=$(dirname "$bin")/fulcrumctl
ctl_shown=${ctl#"$PWD"/}
listen_port=${DEMO_PORT:-8080}
control_port=${DEMO_CONTROL_PORT:-9000}
read -r -a backend_ports <<<"${DEMO_BACKEND_PORTS:-8001 8002 8003}"
[ ${#backend_ports[@]} = 3 ] || { echo "demo: DEMO_BACKEND_PORTS needs three ports" >&2; exit 2; }
control_url=http://127.0.0.1:$control_port
if [ -z "${DEMO_SECONDS:-}" ] && [ ! -t 0 ]; then
	DEMO_SECONDS=20
fi
export PYTHONDONTWRITEBYTECODE=1
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY

logs=$(mktemp -d "${TMPDIR:-/tmp}/fulcrum-demo.XXXXXX")
pids=()
names=()

stop_all() {
	local rc=$? i pid
	trap - EXIT INT TERM HUP
	trap '' PIPE
	set +e
	echo
	echo "demo: stopping"
	for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
		kill -TERM "${pids[$i]}" 2>/dev/null
	done
	for ((i = 0; i < ${#pids[@]}; i++)); do
		pid=${pids[$i]}
		for _ in $(seq 1 60); do
			kill -0 "$pid" 2>/dev/null || break
			[ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" = Z ] && break
			sleep 0.1
		done
		kill -0 "$pid" 2>/dev/null && [ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" != Z ] &&
			kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	if [ "$rc" -ne 0 ] && [ "$rc" -ne 143 ]; then
		for f in "$logs"/*.log; do
			[ -e "$f" ] || continue
			echo "----- $(basename "$f") -----" >&2
			tail -n 40 "$f" >&2
		done
	fi
	rm -rf "$logs"
	exit "$rc"
}
trap stop_all EXIT
trap 'exit 0' INT
trap 'exit 143' TERM
trap 'exit 129' HUP
trap 'exit 141' PIPE

# port_busy PORT: 0 when something listens on 127.0.0.1:PORT.
port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Every port the demo uses, the control API's included, before anything starts.
for p in "${backend_ports[@]}" "$listen_port" "$control_port"; do
	if port_busy "$p"; then
		echo "demo: port $p is already in use; stop what listens there first" >&2
		exit 1
	fi
done

# start NAME CMD...: runs CMD in the background with its output in $logs/NAME.log.
start() {
	local name=$1
	shift
	"$@" >"$logs/$name.log" 2>&1 &
	pids+=($!)
	names+=("$name")
}

for spec in "web-1 ${backend_ports[0]} 4" "web-2 ${backend_ports[1]} 2" "web-3 ${backend_ports[2]} 1"; do
	read -r name port workers <<<"$spec"
	start "$name" env FULCRUM_TEST_INSTANCE="$name" /usr/bin/gunicorn -w "$workers" -k sync \
		-b "127.0.0.1:$port" --chdir "$app_dir" --graceful-timeout 2 --error-logfile - app:app
done
for port in "${backend_ports[@]}"; do
	for _ in $(seq 1 100); do
		[ "$(curl -s --noproxy '*' --max-time 1 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/healthz")" = 200 ] && break
		sleep 0.1
	done
	[ "$(curl -s --noproxy '*' --max-time 1 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/healthz")" = 200 ] ||
		{ echo "demo: Flask on port $port did not start" >&2; exit 1; }
done

# The embedded default config, unless a port was moved: then the same config with the
# ports changed (and the state in $logs, so it cannot meet a real demo's state).
fulcrum_args=()
if [ "$listen_port:$control_port:${backend_ports[*]}" != "8080:9000:8001 8002 8003" ]; then
	cat >"$logs/demo.cfg" <<EOF
workers = 1;
state_dir = "$logs/state";
log = { level = "info"; format = "json"; access = "stdout"; };
control = { listen = "127.0.0.1:$control_port"; };
listeners = (
  { name = "demo"; bind = "127.0.0.1:$listen_port"; mode = "http"; pool = "flask"; }
);
pools = (
  { name = "flask"; balance = "wlc";
    health = { type = "http"; path = "/healthz"; interval_ms = 2000;
               timeout_ms = 1000; rise = 2; fall = 3; };
    backends = (
      { name = "web-1"; address = "127.0.0.1:${backend_ports[0]}"; weight = 4; max_conns = 4; },
      { name = "web-2"; address = "127.0.0.1:${backend_ports[1]}"; weight = 2; max_conns = 2; },
      { name = "web-3"; address = "127.0.0.1:${backend_ports[2]}"; weight = 1; max_conns = 1; }
    );
  }
);
EOF
	fulcrum_args=(-c "$logs/demo.cfg")
fi

# fulcrum logs to this terminal (stderr), as in production under systemd.
"$bin" "${fulcrum_args[@]}" &
pids+=($!)
names+=(fulcrum)
fpid=$!
for p in "$listen_port" "$control_port"; do
	for _ in $(seq 1 100); do
		port_busy "$p" && break
		sleep 0.1
	done
	port_busy "$p" || { echo "demo: fulcrum did not start listening on 127.0.0.1:$p" >&2; exit 1; }
done

u=http://127.0.0.1:$listen_port
cat <<EOF

fulcrum is running on $([ ${#fulcrum_args[@]} = 0 ] && echo "its embedded default config" || echo "the embedded default config with other ports"):
  $u  ->  pool "flask": web-1 127.0.0.1:${backend_ports[0]} (weight 4, max_conns 4)
                                           web-2 127.0.0.1:${backend_ports[1]} (weight 2, max_conns 2)
                                           web-3 127.0.0.1:${backend_ports[2]} (weight 1, max_conns 1)
Each instance has as many gunicorn workers as its max_conns: fulcrum never sends it more
requests at once (the rest wait in the pool's queue), and "wlc" sends each request to the
instance with the fewest in flight per unit of weight. So under load the split follows how
fast each instance answers, not an exact 4:2:1.

Status page (live per-backend traffic): $control_url/
Try:
  curl $u/                     # "ok web-N": which instance answered
  curl $u/headers              # what Flask received (X-Forwarded-For, Forwarded, ...)
  seq 200 | xargs -P 24 -I{} curl -s $u/work | sort | uniq -c   # the split under load
  curl -s $control_url/metrics | grep '^fulcrum_backend_requests_total'   # the split so far
  $ctl_shown -s $control_url backends flask
  $ctl_shown -s $control_url drain flask web-3                 # no new traffic to web-3
  $ctl_shown -s $control_url set flask web-3 --state active    # and back
  kill -HUP $fpid                         # reload (embedded default: nothing changes)
EOF
if [ -n "${DEMO_SECONDS:-}" ]; then
	echo "Stopping in ${DEMO_SECONDS}s (DEMO_SECONDS)."
else
	echo "Press Ctrl-C to stop."
fi
echo

echo "demo: first requests:"
for _ in 1 2 3; do
	echo "  $(curl -s --noproxy '*' --max-time 5 "$u/" || echo 'request failed')"
done

if [ -n "${DEMO_SECONDS:-}" ]; then
	end=$((SECONDS + DEMO_SECONDS))
	while [ $SECONDS -lt "$end" ]; do
		sleep 1
	done
else
	while :; do
		sleep 1
	done
fi
