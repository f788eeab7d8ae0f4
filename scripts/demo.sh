#!/usr/bin/env bash
# demo.sh FULCRUM-BINARY: the demo of `make demo`. Starts three Flask instances under
# gunicorn on 127.0.0.1:8001/8002/8003 (4/2/1 sync workers) and fulcrum on its embedded
# default config (http://127.0.0.1:8080 -> pool "flask", weights 4/2/1, max_conns 4/2/1),
# prints what to try, and stops everything it started on Ctrl-C, or after DEMO_SECONDS
# (default 20 when stdin is not a terminal, so it never hangs in CI).
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
app_dir=$repo/tests/e2e/lib # app.py, the Flask app the e2e scenarios use too
bin=${1:-${FULCRUM:-$repo/build/fulcrum}}
case $bin in /*) ;; *) bin=$PWD/$bin ;; esac
[ -x "$bin" ] || { echo "demo: no fulcrum binary at $bin (run make)" >&2; exit 1; }
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

for p in 8001 8002 8003 8080; do
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

for spec in "web-1 8001 4" "web-2 8002 2" "web-3 8003 1"; do
	read -r name port workers <<<"$spec"
	start "$name" env FULCRUM_TEST_INSTANCE="$name" /usr/bin/gunicorn -w "$workers" -k sync \
		-b "127.0.0.1:$port" --chdir "$app_dir" --graceful-timeout 2 --error-logfile - app:app
done
for port in 8001 8002 8003; do
	for _ in $(seq 1 100); do
		[ "$(curl -s --noproxy '*' --max-time 1 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/healthz")" = 200 ] && break
		sleep 0.1
	done
	[ "$(curl -s --noproxy '*' --max-time 1 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/healthz")" = 200 ] ||
		{ echo "demo: Flask on port $port did not start" >&2; exit 1; }
done

# fulcrum logs to this terminal (stderr), as in production under systemd.
"$bin" &
pids+=($!)
names+=(fulcrum)
fpid=$!
for _ in $(seq 1 100); do
	port_busy 8080 && break
	sleep 0.1
done
port_busy 8080 || { echo "demo: fulcrum did not start listening on 127.0.0.1:8080" >&2; exit 1; }

cat <<EOF

fulcrum is running on its embedded default config:
  http://127.0.0.1:8080  ->  pool "flask": web-1 127.0.0.1:8001 (weight 4, max_conns 4)
                                           web-2 127.0.0.1:8002 (weight 2, max_conns 2)
                                           web-3 127.0.0.1:8003 (weight 1, max_conns 1)
Try:
  curl http://127.0.0.1:8080/                     # "ok web-N": which instance answered
  curl http://127.0.0.1:8080/headers              # what Flask received (X-Forwarded-For, Forwarded, ...)
  for i in \$(seq 20); do curl -s http://127.0.0.1:8080/work; done | sort | uniq -c
  seq 200 | xargs -P 24 -I{} curl -s http://127.0.0.1:8080/work | sort | uniq -c   # 4:2:1 under load
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
	echo "  $(curl -s --noproxy '*' --max-time 5 http://127.0.0.1:8080/ || echo 'request failed')"
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
