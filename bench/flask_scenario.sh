#!/usr/bin/env bash
# flask_scenario.sh FULCRUM-BINARY: the users' scenario as a benchmark. Three Flask
# instances under gunicorn with 4/2/1 sync workers (~20 ms per /work request), 24
# concurrent clients (wrk -c 24 -t 2 --latency), in front of them in turn:
#   fulcrum       wlc, weights 4/2/1, max_conns 4/2/1 (hand-tuned), workers = 1
#   fulcrum-auto  wlc, no weights, no max_conns, adaptive_limit = true (learned limits)
#   haproxy       balance leastconn, weights 4/2/1, maxconn 4/2/1 per server, nbthread 1
#   nginx-rr      round robin, no weights: the naive setup (if nginx is installed)
#   nginx-lc      least_conn, weights 4/2/1 (open-source nginx has no queue, so no max_conns)
# Rounds are interleaved (BENCH_ROUNDS, default 3; BENCH_DURATION seconds each, default
# 20). Prints median throughput, mean and p99 latency per proxy and fulcrum/HAProxy.
# With BENCH_OUT=FILE each run is also appended to FILE as bench/run.sh's samples
# ("flask NAME ROUND rps|mean_ms|p99_ms|errors VALUE", tab-separated).
# Everything listens on 127.0.0.1; only the processes started here are stopped.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
. "$here/bench_lib.sh"
bench_fulcrum_binary "$@"
ROUNDS=${BENCH_ROUNDS:-3}
DURATION=${BENCH_DURATION:-20}
WARMUP=${BENCH_WARMUP:-3}
CONNS=24
bench_peer_tools

# The e2e harness gives us a temp dir, free ports, pid-tracked background processes and
# an EXIT trap that stops exactly those.
. "$here/../tests/e2e/lib/lib.sh"

ports P_FUL P_FUA P_HAP P_NRR P_NLC P1 P2 P3
bench_flask_instances "$P1" "$P2" "$P3"

bench_fulcrum_flask_cfg "$T/fulcrum.cfg" "$P_FUL" "$T/state"
bg fulcrum TERM "$bin" -c "$T/fulcrum.cfg"
wait_listen "$P_FUL" "$LAST_PID"

# The same pool with nothing tuned: fulcrum learns each backend's concurrency limit.
cat >"$T/fulcrum-auto.cfg" <<EOF
workers = 1;
state_dir = "$T/state-auto";
log = { level = "warn"; access = "off"; format = "json"; };
listeners = ( { name = "web"; bind = "127.0.0.1:$P_FUA"; mode = "http"; pool = "flask"; } );
pools = ( { name = "flask"; balance = "wlc"; health = { type = "none"; }; adaptive_limit = true;
            queue_timeout_ms = 10000; response_timeout_ms = 30000;
            backends = ( { name = "web-1"; address = "127.0.0.1:$P1"; },
                         { name = "web-2"; address = "127.0.0.1:$P2"; },
                         { name = "web-3"; address = "127.0.0.1:$P3"; } ); } );
EOF
mkdir -p "$T/state-auto"
bg fulcrum-auto TERM "$bin" -c "$T/fulcrum-auto.cfg"
wait_listen "$P_FUA" "$LAST_PID"

cat >"$T/haproxy.cfg" <<EOF
global
  nbthread 1
  maxconn 4096
defaults
  mode http
  timeout connect 3s
  timeout client 30s
  timeout server 30s
  timeout queue 10s
frontend fe
  bind 127.0.0.1:$P_HAP
  default_backend flask
backend flask
  balance leastconn
  server web-1 127.0.0.1:$P1 weight 4 maxconn 4
  server web-2 127.0.0.1:$P2 weight 2 maxconn 2
  server web-3 127.0.0.1:$P3 weight 1 maxconn 1
EOF
bg haproxy USR1 "$HAPROXY" -db -f "$T/haproxy.cfg"
wait_listen "$P_HAP" "$LAST_PID"

proxies="fulcrum:$P_FUL fulcrum-auto:$P_FUA haproxy:$P_HAP"
if [ -n "$NGINX" ]; then
	mkdir -p "$T/nginx"
	cat >"$T/nginx.conf" <<EOF
worker_processes 1;
pid $T/nginx/nginx.pid;
error_log $T/nginx-error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path $T/nginx/body;
  proxy_temp_path $T/nginx/proxy;
  fastcgi_temp_path $T/nginx/fastcgi;
  uwsgi_temp_path $T/nginx/uwsgi;
  scgi_temp_path $T/nginx/scgi;
  upstream rr { server 127.0.0.1:$P1; server 127.0.0.1:$P2; server 127.0.0.1:$P3; }
  upstream lc { least_conn; server 127.0.0.1:$P1 weight=4; server 127.0.0.1:$P2 weight=2; server 127.0.0.1:$P3 weight=1; }
  server { listen 127.0.0.1:$P_NRR; location / { proxy_pass http://rr; } }
  server { listen 127.0.0.1:$P_NLC; location / { proxy_pass http://lc; } }
}
EOF
	bg nginx QUIT "$NGINX" -e "$T/nginx-error.log" -p "$T/nginx" -c "$T/nginx.conf" -g 'daemon off;'
	wait_listen "$P_NRR" "$LAST_PID"
	wait_listen "$P_NLC" "$LAST_PID"
	proxies="$proxies nginx-rr:$P_NRR nginx-lc:$P_NLC"
else
	echo "bench: nginx not installed; comparing fulcrum and HAProxy only"
fi

for p in $proxies; do
	code=$(http_status "http://127.0.0.1:${p#*:}/work")
	[ "$code" = 200 ] || fail "${p%%:*} does not answer /work (status $code)"
done

cat >"$T/parse_wrk.py" <<'EOF'
"""Reads wrk --latency output on stdin; prints "name rps avg_ms p99_ms errors"."""
import re, sys
out = sys.stdin.read()
def ms(v):
    m = re.match(r"([0-9.]+)(us|ms|s|m)$", v)
    n, u = float(m.group(1)), m.group(2)
    return n / 1000 if u == "us" else n if u == "ms" else n * 1000 if u == "s" else n * 60000
rps = float(re.search(r"Requests/sec:\s+([0-9.]+)", out).group(1))
avg = ms(re.search(r"Latency\s+(\S+)", out).group(1))
p99 = ms(re.search(r"\s99%\s+(\S+)", out).group(1))
errs = 0
m = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
errs += int(m.group(1)) if m else 0
m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
errs += sum(int(x) for x in m.groups()) if m else 0
print("%s %.1f %.2f %.2f %d" % (sys.argv[1], rps, avg, p99, errs))
EOF

# run_wrk NAME PORT SECONDS: one wrk run; prints "name rps avg_ms p99_ms errors".
run_wrk() {
	local name=$1 port=$2 secs=$3 out
	out=$(timeout $((secs + 30)) wrk -c "$CONNS" -t 2 -d "${secs}s" --timeout 10s --latency \
		"http://127.0.0.1:$port/work" 2>&1) || fail "wrk against $name failed: $out"
	printf '%s\n' "$out" >>"$T/wrk-$name.txt"
	printf '%s\n' "$out" | "$PY" "$T/parse_wrk.py" "$name" || fail "cannot parse wrk output: $out"
}

echo "bench: $(nproc) CPUs; $ROUNDS rounds of ${DURATION}s per proxy, $CONNS connections, /work (~20 ms)"
for p in $proxies; do
	run_wrk "${p%%:*}" "${p#*:}" "$WARMUP" >/dev/null
done
: >"$T/results"
# each round starts with the next proxy (bench/run.sh, rotated: drift shared out)
read -ra proxy_list <<<"$proxies"
for r in $(seq 1 "$ROUNDS"); do
	for ((i = 0; i < ${#proxy_list[@]}; i++)); do
		p=${proxy_list[$(((r - 1 + i) % ${#proxy_list[@]}))]}
		line=$(run_wrk "${p%%:*}" "${p#*:}" "$DURATION")
		echo "  round $r: $line"
		echo "$line" >>"$T/results"
		if [ -n "${BENCH_OUT:-}" ]; then
			read -r name rps avg p99 errs <<<"$line"
			printf 'flask\t%s\t%s\t%s\t%s\n' "$name" "$r" rps "$rps" "$name" "$r" mean_ms "$avg" \
				"$name" "$r" p99_ms "$p99" "$name" "$r" errors "$errs" >>"$BENCH_OUT"
		fi
		sleep 1
	done
done

echo
"$PY" - "$T/results" <<'EOF'
import statistics, sys
rows = {}
for line in open(sys.argv[1]):
    name, rps, avg, p99, errs = line.split()
    rows.setdefault(name, []).append((float(rps), float(avg), float(p99), int(errs)))
print("%-10s %12s %14s %12s %8s" % ("proxy", "req/s (med)", "mean ms (med)", "p99 ms (med)", "errors"))
med = {}
for name, rs in rows.items():
    m = (statistics.median(r[0] for r in rs), statistics.median(r[1] for r in rs),
         statistics.median(r[2] for r in rs), sum(r[3] for r in rs))
    med[name] = m
    print("%-10s %12.1f %14.2f %12.2f %8d" % (name, m[0], m[1], m[2], m[3]))
if "fulcrum" in med and "haproxy" in med:
    f, h = med["fulcrum"], med["haproxy"]
    print()
    print("fulcrum/HAProxy: throughput %.3f, mean latency %.3f, p99 latency %.3f" % (
        f[0] / h[0], f[1] / h[1], f[2] / h[2]))
EOF
