# bench_lib.sh: what the benchmark scripts share (sourced, not run).
#   bench_fulcrum_binary "$@"   the fulcrum binary from the first argument, absolute, in
#                               bin and exported as FULCRUM (tests/e2e/lib/lib.sh runs it)
#   bench_peer_tools            wrk and HAProxy required (their paths in HAPROXY), nginx
#                               optional (NGINX, empty without it)
#   bench_flask_instances P1 P2 P3
#                               the users' scenario's three Flask instances under gunicorn
#                               with 4/2/1 sync workers on those ports (needs lib.sh)
#   bench_fulcrum_flask_cfg FILE PORT STATE_DIR
#                               fulcrum in front of them as the README advises: wlc,
#                               weights and max_conns 4/2/1, one worker

bench_fulcrum_binary() {
	[ $# -ge 1 ] || { echo "usage: $0 FULCRUM-BINARY" >&2; exit 2; }
	bin=$1
	case $bin in /*) ;; *) bin=$PWD/$bin ;; esac
	[ -x "$bin" ] || { echo "bench: no fulcrum binary at $bin" >&2; exit 1; }
	export FULCRUM=$bin
}

bench_peer_tools() {
	command -v wrk >/dev/null || { echo "bench: wrk is not installed (apt-get install wrk)" >&2; exit 1; }
	HAPROXY=$(command -v haproxy || echo /usr/sbin/haproxy)
	[ -x "$HAPROXY" ] || { echo "bench: haproxy is not installed" >&2; exit 1; }
	NGINX=$(command -v nginx || { [ -x /usr/sbin/nginx ] && echo /usr/sbin/nginx; } || true)
}

bench_flask_instances() {
	local spec name port workers
	for spec in "web-1 $1 4" "web-2 $2 2" "web-3 $3 1"; do
		read -r name port workers <<<"$spec"
		bg "$name" INT env FULCRUM_TEST_INSTANCE="$name" "$GUNICORN" -w "$workers" -k sync \
			-b "127.0.0.1:$port" --chdir "$E2E_DIR" --graceful-timeout 2 --error-logfile - app:app
		wait_listen "$port" "$LAST_PID" 20
		wait_http "http://127.0.0.1:$port/healthz" 20
	done
}

bench_fulcrum_flask_cfg() {
	cat >"$1" <<EOF2
workers = 1;
state_dir = "$3";
log = { level = "warn"; access = "off"; format = "json"; };
listeners = ( { name = "web"; bind = "127.0.0.1:$2"; mode = "http"; pool = "flask"; } );
pools = ( { name = "flask"; balance = "wlc"; health = { type = "none"; };
            queue_timeout_ms = 10000; response_timeout_ms = 30000;
            backends = ( { name = "web-1"; address = "127.0.0.1:$P1"; weight = 4; max_conns = 4; },
                         { name = "web-2"; address = "127.0.0.1:$P2"; weight = 2; max_conns = 2; },
                         { name = "web-3"; address = "127.0.0.1:$P3"; weight = 1; max_conns = 1; } ); } );
EOF2
}

# CPU ticks (user + system) of PID and its children (nginx's workers).
cpu_ticks() {
	local pid=$1 t=0 p
	for p in $pid $(pgrep -P "$pid" || true); do
		t=$((t + $(awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null || echo 0)))
	done
	echo "$t"
}
