#!/bin/bash
# request_path.sh: the source files one plain HTTP request passes through in fulcrum
# (issue 18's measure), by tracing every function entry of a build made with
# -finstrument-functions (tools/request_tracer.c) and mapping them to files
# (tools/request_path.py). One worker, one pool, one backend (python3's http.server on
# loopback, keeping its connections alive as gunicorn's gthread workers do). Two runs:
# - plain: two requests on two connections, the second (warm: on the backend connection
#   the first left idle) is reported;
# - queued: the backend at max_conns = 1 and held by a slow request, a second request
#   waits in the queue and gets the slot (and the connection) when the first ends; its
#   connection is reported.
# --check: exit 1 when the calls of either are not one direction (make test runs it).
#   make request-path          or   tools/request_path.sh [-v] [--check]
set -euo pipefail
cd "$(dirname "$0")/.."
B=build/trace
T=$(mktemp -d /tmp/fulcrum-request-path.XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$T"; }
trap cleanup EXIT

mkdir -p "$B"
cc -O2 -c -o "$B/request_tracer.o" tools/request_tracer.c
# PIE off so that addr2line reads the traced addresses as they are
make -j2 --no-print-directory BUILD="$B" EXTRA_CFLAGS="-fno-pie -finstrument-functions -Wno-error" \
	LDFLAGS="-no-pie $B/request_tracer.o" "$B/fulcrum" >"$T/make.log" 2>&1 || { tail -20 "$T/make.log"; exit 1; }

read -r backend_port listen_port < <(python3 -c '
import socket
s = [socket.socket() for _ in range(2)]
for x in s: x.bind(("127.0.0.1", 0))
print(*[x.getsockname()[1] for x in s])')
mkdir -p "$T/www"
echo hello >"$T/www/index.html"
python3 - "$backend_port" "$T/www" >/dev/null 2>&1 <<'PY' &
import http.server, os, sys, time
os.chdir(sys.argv[2])
class KeepAlive(http.server.SimpleHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_GET(self):
        if self.path.startswith("/slow"):
            time.sleep(0.5)
            self.path = "/"
        super().do_GET()
http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), KeepAlive).serve_forever()
PY
pids+=($!)
for _ in $(seq 1 50); do
	curl -sf -o /dev/null "http://127.0.0.1:$backend_port/" && break
	sleep 0.2
done

# traced_run NAME MAX_CONNS: a traced fulcrum in $T/NAME, up and warmed by one request;
# fulcrum_pid is its pid
traced_run() {
	mkdir -p "$T/$1/state" "$T/$1/trace"
	cat >"$T/$1/fulcrum.cfg" <<CFG
workers = 1;
state_dir = "$T/$1/state";
log = { level = "warn"; access = "off"; };
pools = ( { name = "app"; health = { type = "none"; };
            backends = ( { name = "b1"; address = "127.0.0.1:$backend_port"; max_conns = $2; } ); } );
listeners = ( { name = "web"; bind = "127.0.0.1:$listen_port"; mode = "http"; pool = "app"; } );
CFG
	TRACE_DIR="$T/$1/trace" "$B/fulcrum" -c "$T/$1/fulcrum.cfg" &
	fulcrum_pid=$!
	pids+=($fulcrum_pid)
	for _ in $(seq 1 50); do
		curl -sf -o /dev/null "http://127.0.0.1:$listen_port/" && break
		sleep 0.2
	done
}
stop_run() {
	sleep 0.5
	kill "$fulcrum_pid"
	wait "$fulcrum_pid" || true
}

traced_run plain 0
curl -sf -m 10 -o /dev/null "http://127.0.0.1:$listen_port/"
stop_run

traced_run queued 1
curl -sf -m 10 -o /dev/null "http://127.0.0.1:$listen_port/slow" &
slow=$!
sleep 0.2
curl -sf -m 10 -o /dev/null "http://127.0.0.1:$listen_port/"
wait "$slow" || true
stop_run

rc=0
echo "== a plain request"
python3 tools/request_path.py "$B/fulcrum" "$T/plain/trace" "$@" || rc=1
echo "== a request that waited in the queue"
python3 tools/request_path.py "$B/fulcrum" "$T/queued/trace" --brief "$@" || rc=1
exit $rc
