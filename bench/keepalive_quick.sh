#!/usr/bin/env bash
# keepalive_quick.sh FULCRUM-BINARY: keep-alive proxying of a small response, one worker
# each, fulcrum vs nginx (least_conn, keepalive 64) vs HAProxy (leastconn, http-reuse
# always) in front of the same static nginx backend; prints CPU microseconds per request
# and requests/s per round. A quick check while the full harness (make bench) grows.
# Loopback only; stops only what it started.
set -euo pipefail
bin=$(realpath "$1")
here=$(cd "$(dirname "$0")" && pwd)
d=$(mktemp -d /tmp/fulcrum-kq.XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$d"; }
trap cleanup EXIT
free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
B=$(free_port) F=$(free_port) N=$(free_port) H=$(free_port)
cat >"$d/backend.conf" <<C
worker_processes 1; daemon off; pid $d/b.pid; error_log $d/b.err;
events { worker_connections 4096; }
http { access_log off; server { listen 127.0.0.1:$B; keepalive_requests 1000000; location / { return 200 "hello world\n"; } } }
C
cat >"$d/nginx.conf" <<C
worker_processes 1; daemon off; master_process off; pid $d/n.pid; error_log $d/n.err;
events { worker_connections 4096; }
http { access_log off; upstream b { least_conn; server 127.0.0.1:$B; keepalive 64; }
 server { listen 127.0.0.1:$N; keepalive_requests 1000000;
  location / { proxy_pass http://b; proxy_http_version 1.1; proxy_set_header Connection ""; } } }
C
cat >"$d/haproxy.cfg" <<C
global
  nbthread 1
  maxconn 5000
defaults
  mode http
  timeout connect 5s
  timeout client 30s
  timeout server 30s
frontend f
  bind 127.0.0.1:$H
  default_backend b
backend b
  balance leastconn
  http-reuse always
  server s1 127.0.0.1:$B
C
mkdir -p "$d/state"
# a state_dir of its own: run as root without one, fulcrum would make /var/lib/fulcrum
cat >"$d/fulcrum.cfg" <<C
workers = 1;
state_dir = "$d/state";
log = { level = "warn"; access = "off"; };
listeners = ( { name = "web"; bind = "127.0.0.1:$F"; mode = "http"; pool = "p"; } );
pools = ( { name = "p"; health = { type = "none"; }; backends = ( { name = "s1"; address = "127.0.0.1:$B"; } ); } );
C
nginx -c "$d/backend.conf" & pids+=($!)
nginx -c "$d/nginx.conf" & pids+=($!); NPID=$!
haproxy -f "$d/haproxy.cfg" -db 2>"$d/h.err" & pids+=($!); HPID=$!
"$bin" -c "$d/fulcrum.cfg" 2>"$d/f.err" & pids+=($!); FPID=$!
sleep 1
for round in 1 2 3; do
	echo "round $round"
	echo -n "  fulcrum "; "$here/cpu_per_request.sh" "$FPID" "$F"
	echo -n "  nginx   "; "$here/cpu_per_request.sh" "$NPID" "$N"
	echo -n "  haproxy "; "$here/cpu_per_request.sh" "$HPID" "$H"
done
