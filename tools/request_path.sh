#!/bin/bash
# request_path.sh: the source files one plain HTTP request passes through in fulcrum
# (issue 18's measure), by tracing every function entry of a build made with
# -finstrument-functions (tools/request_tracer.c) and mapping them to files
# (tools/request_path.py). One worker, one pool, one backend (python3's http.server on
# loopback, keeping its connections alive as gunicorn's gthread workers do); two requests
# on two connections, the second (warm: on the backend connection the first left idle)
# is reported. --check: exit 1 when the calls are not one direction (make test runs it).
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
mkdir -p "$T/state" "$T/www" "$T/trace"
echo hello >"$T/www/index.html"
cat >"$T/fulcrum.cfg" <<CFG
workers = 1;
state_dir = "$T/state";
log = { level = "warn"; access = "off"; };
pools = ( { name = "app"; health = { type = "none"; };
            backends = ( { name = "b1"; address = "127.0.0.1:$backend_port"; } ); } );
listeners = ( { name = "web"; bind = "127.0.0.1:$listen_port"; mode = "http"; pool = "app"; } );
CFG
python3 - "$backend_port" "$T/www" >/dev/null 2>&1 <<'PY' &
import http.server, os, sys
os.chdir(sys.argv[2])
class KeepAlive(http.server.SimpleHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), KeepAlive).serve_forever()
PY
pids+=($!)
for _ in $(seq 1 50); do
	curl -sf -o /dev/null "http://127.0.0.1:$backend_port/" && break
	sleep 0.2
done
TRACE_DIR="$T/trace" "$B/fulcrum" -c "$T/fulcrum.cfg" &
fulcrum_pid=$!
pids+=($fulcrum_pid)
for _ in $(seq 1 50); do
	curl -sf -o /dev/null "http://127.0.0.1:$listen_port/" && break
	sleep 0.2
done
curl -sf -o /dev/null "http://127.0.0.1:$listen_port/"
sleep 0.5
kill "$fulcrum_pid"
wait "$fulcrum_pid" || true
python3 tools/request_path.py "$B/fulcrum" "$T/trace" "$@"
