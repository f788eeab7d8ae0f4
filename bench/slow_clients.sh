#!/usr/bin/env bash
# slow_clients.sh FULCRUM-BINARY: the Flask scenario with slow clients beside the fast
# ones. The three gunicorn instances of bench/flask_scenario.sh (4/2/1 sync workers,
# ~20 ms per request) and its 24 fast clients (wrk -c 24 -t 2 --latency on /work), plus
# 48 slow clients (bench/slow_clients.py): 24 each fetching a 256 KiB response
# (/blob, after the same ~20 ms of work) and reading it at 32 KiB/s with a 16 KiB
# receive buffer, and 24 each uploading 256 KiB (/echo, then ~20 ms of work) at
# 32 KiB/s, over and over. A proxy that hands the slow transfers to the backends byte
# for byte lets them hold the few sync workers for ~8 s each and starves the fast
# clients; one that buffers whole requests and responses frees a worker in ~20 ms.
# On loopback the kernel's autotuned buffers between backend and proxy swallow whole
# responses (measured: even 2 MiB), which would hide a proxy that does not buffer them,
# so /blob sets its socket's SO_SNDBUF to 16 KiB (BENCH_SLOW_SNDBUF, 0 = leave it).
# In front of them in turn:
#   fulcrum          wlc, weights 4/2/1, max_conns 4/2/1, workers = 1 (its defaults
#                    otherwise: request and response buffering where the build has it)
#   haproxy          balance leastconn, weights 4/2/1, maxconn 4/2/1, nbthread 1,
#                    option http-buffer-request, tune.bufsize 288 KiB (the default
#                    16 KiB buffer would hold 16 KiB of an upload, not all of it)
#   nginx            least_conn, weights 4/2/1, default proxy buffering (request and
#                    response, spilling to temp files), client_max_body_size 1m
#   fulcrum-noslow   the fulcrum setup with the fast clients alone: the baseline
# Rounds are interleaved, each starting with the next contender (BENCH_ROUNDS, default 3;
# BENCH_DURATION seconds of wrk each, default 10, after BENCH_SLOW_RAMP seconds (2) in
# which the slow clients get going). Prints per proxy the fast clients' median req/s,
# mean and p99 latency and errors, the slow clients' finished downloads and uploads per
# run, errors and KiB/s (48 x 32 KiB/s = 1536 is all of them at their pace), and the
# ratios: fast req/s vs fulcrum-noslow (target >= 0.95) and vs the best peer, p99 vs the
# best peer's; and each proxy's CPU time per run (user + system over the slow clients'
# ramp and wrk's run, its worker processes included): on 2 cores every millisecond the
# proxy spends is one the gunicorn workers' Python does not get. To see which half hurts: BENCH_SLOW_CLIENTS (48), BENCH_SLOW_KIND (both;
# get or put: all of them readers or all writers), BENCH_SLOW_BYTES (262144). With
# BENCH_OUT=FILE each run is also appended to FILE as bench/run.sh's samples ("slow NAME
# ROUND METRIC VALUE", tab-separated; bench/report.py renders them). The wrk outputs go
# to BENCH_RESULTS_DIR (bench/results)/slow-wrk.txt. BENCH_FULCRUM_B=BINARY adds a second
# fulcrum build as the contender fulcrum-b (same config, its own port): a before/after
# comparison within one run, with its ratios printed beside fulcrum's.
# Everything listens on 127.0.0.1; only the processes started here are stopped.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
. "$here/bench_lib.sh"
bench_fulcrum_binary "$@"
ROUNDS=${BENCH_ROUNDS:-3}
DURATION=${BENCH_DURATION:-10}
RAMP=${BENCH_SLOW_RAMP:-2}
WARMUP=${BENCH_WARMUP:-2}
CONNS=24
SLOW_CLIENTS=${BENCH_SLOW_CLIENTS:-48}
SLOW_KIND=${BENCH_SLOW_KIND:-both}
SLOW_SNDBUF=${BENCH_SLOW_SNDBUF:-16384}
SLOW_BYTES=${BENCH_SLOW_BYTES:-262144}
SLOW_RATE=32768
bench_peer_tools

# The e2e harness gives us a temp dir, free ports, pid-tracked background processes and
# an EXIT trap that stops exactly those.
. "$here/../tests/e2e/lib/lib.sh"

ports P_FUL P_HAP P_NGX P1 P2 P3 P_FULB
bench_flask_instances "$P1" "$P2" "$P3"

# One fulcrum serves both the baseline and the run with slow clients (they never overlap).
bench_fulcrum_flask_cfg "$T/fulcrum.cfg" "$P_FUL" "$T/state"
bg fulcrum TERM "$bin" -c "$T/fulcrum.cfg"
wait_listen "$P_FUL" "$LAST_PID"
declare -A PROXY_PID=([fulcrum]=$LAST_PID [fulcrum-noslow]=$LAST_PID)
if [ -n "${BENCH_FULCRUM_B:-}" ]; then
	bench_fulcrum_flask_cfg "$T/fulcrum-b.cfg" "$P_FULB" "$T/state-b"
	bg fulcrum-b TERM "$BENCH_FULCRUM_B" -c "$T/fulcrum-b.cfg"
	wait_listen "$P_FULB" "$LAST_PID"
	PROXY_PID[fulcrum-b]=$LAST_PID
fi

# http-buffer-request: wait for the body before choosing a server, as far as one buffer
# holds it; with the default tune.bufsize (16 KiB) an upload of 256 KiB would still hold
# a server's slot for ~8 s (measured: the fast clients got 3 req/s, as with no buffering
# at all), so the buffer is made to hold a whole upload and its head.
cat >"$T/haproxy.cfg" <<EOF
global
  nbthread 1
  maxconn 4096
  tune.bufsize $((SLOW_BYTES + 32768))
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
  option http-buffer-request
  server web-1 127.0.0.1:$P1 weight 4 maxconn 4
  server web-2 127.0.0.1:$P2 weight 2 maxconn 2
  server web-3 127.0.0.1:$P3 weight 1 maxconn 1
EOF
bg haproxy USR1 "$HAPROXY" -db -f "$T/haproxy.cfg"
wait_listen "$P_HAP" "$LAST_PID"
PROXY_PID[haproxy]=$LAST_PID

proxies="fulcrum-noslow:$P_FUL fulcrum:$P_FUL haproxy:$P_HAP"
[ -z "${BENCH_FULCRUM_B:-}" ] || proxies="$proxies fulcrum-b:$P_FULB"
if [ -n "$NGINX" ]; then
	mkdir -p "$T/nginx"
	# nginx's defaults: proxy_buffering and proxy_request_buffering on, bodies beyond the
	# memory buffers spill to temp files (proxy_max_temp_file_size 1024m)
	# the workers write the temp files under $T (mode 700), so they run as this user
	cat >"$T/nginx.conf" <<EOF
user $(id -un) $(id -gn);
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
  client_max_body_size $((SLOW_BYTES > 1048576 ? SLOW_BYTES : 1048576));
  upstream lc { least_conn; server 127.0.0.1:$P1 weight=4; server 127.0.0.1:$P2 weight=2; server 127.0.0.1:$P3 weight=1; }
  server { listen 127.0.0.1:$P_NGX; location / { proxy_pass http://lc; } }
}
EOF
	bg nginx QUIT "$NGINX" -e "$T/nginx-error.log" -p "$T/nginx" -c "$T/nginx.conf" -g 'daemon off;'
	wait_listen "$P_NGX" "$LAST_PID"
	PROXY_PID[nginx]=$LAST_PID
	proxies="$proxies nginx:$P_NGX"
else
	echo "bench: nginx not installed; comparing fulcrum and HAProxy only"
fi

for p in $proxies; do
	code=$(http_status "http://127.0.0.1:${p#*:}/work")
	[ "$code" = 200 ] || fail "${p%%:*} does not answer /work (status $code)"
done
# one slow transfer each way through each proxy, fast, before measuring
for p in $proxies; do
	[ "${p%%:*}" = fulcrum-noslow ] && continue
	read -r gets puts errs _ < <("$PY" "$here/slow_clients.py" 127.0.0.1 "${p#*:}" 2 --clients 2 \
		--bytes "$SLOW_BYTES" --rate 1e9 -v) || fail "slow clients against ${p%%:*} failed"
	if [ "$gets" = 0 ] || [ "$puts" = 0 ] || [ "$errs" != 0 ]; then
		fail "${p%%:*}: check transfers: $gets downloads, $puts uploads, $errs errors"
	fi
done

cat >"$T/parse_wrk.py" <<'EOF'
"""Reads wrk --latency output on stdin; prints "rps avg_ms p99_ms errors". When no
request finished, wrk says 0 latency: the run's length (argv[1] seconds) is printed
instead, a lower bound of what the requests in flight waited."""
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
if int(re.search(r"(\d+) requests in", out).group(1)) == 0:
    avg = p99 = float(sys.argv[1]) * 1000
print("%.1f %.2f %.2f %d" % (rps, avg, p99, errs))
EOF

# run_one NAME PORT SECONDS: one run, the slow clients first (not for fulcrum-noslow),
# wrk after RAMP seconds; prints "name rps avg_ms p99_ms errors gets puts slow_errors
# slow_kib_s cpu_ms" (the slow columns 0 without slow clients; cpu_ms: the proxy's).
run_one() {
	local name=$1 port=$2 secs=$3 out slow_pid="" gets=0 puts=0 serrs=0 sbytes=0 total t0 t1
	total=$((RAMP + secs)).5
	t0=$(cpu_ticks "${PROXY_PID[$name]}")
	if [ "$name" != fulcrum-noslow ]; then
		"$PY" "$here/slow_clients.py" 127.0.0.1 "$port" "$total" --clients "$SLOW_CLIENTS" \
			--bytes "$SLOW_BYTES" --rate "$SLOW_RATE" --kind "$SLOW_KIND" \
			--get-path "/blob?bytes=$SLOW_BYTES&ms=20$([ "$SLOW_SNDBUF" = 0 ] || echo "&sndbuf=$SLOW_SNDBUF")" \
			>"$T/slow.out" 2>"$T/slow.err" &
		slow_pid=$!
		sleep "$RAMP"
	fi
	out=$(timeout $((secs + 30)) wrk -c "$CONNS" -t 2 -d "${secs}s" --timeout 10s --latency \
		"http://127.0.0.1:$port/work" 2>&1) || fail "wrk against $name failed: $out"
	printf '== %s\n%s\n' "$name" "$out" >>"$T/wrk.txt"
	if [ -n "$slow_pid" ]; then
		wait_exit "$slow_pid" 30 || fail "slow clients against $name: status $? $(cat "$T/slow.err")"
		read -r gets puts serrs sbytes <"$T/slow.out" || fail "slow clients against $name printed nothing"
	fi
	t1=$(cpu_ticks "${PROXY_PID[$name]}")
	printf '%s %s %s %s %s %s %s\n' "$name" "$(printf '%s\n' "$out" | "$PY" "$T/parse_wrk.py" "$secs")" \
		"$gets" "$puts" "$serrs" "$(awk -v b="$sbytes" -v t="$total" 'BEGIN { printf "%.0f", b / 1024 / t }')" \
		"$(((t1 - t0) * 1000 / $(getconf CLK_TCK)))" ||
		fail "cannot parse wrk output: $out"
}

echo "bench: slow clients: $(nproc) CPUs; $ROUNDS rounds of ${DURATION}s per proxy (after ${RAMP}s of slow clients alone), $CONNS fast connections on /work (~20 ms), $SLOW_CLIENTS slow clients ($((SLOW_BYTES / 1024)) KiB down or up at $((SLOW_RATE / 1024)) KiB/s)"
for p in $proxies; do
	[ "${p%%:*}" = fulcrum-noslow ] && continue
	timeout 30 wrk -c "$CONNS" -t 2 -d "${WARMUP}s" "http://127.0.0.1:${p#*:}/work" >/dev/null
done
: >"$T/results"
# each round starts with the next contender (bench/run.sh, rotated: drift shared out)
read -ra proxy_list <<<"$proxies"
for r in $(seq 1 "$ROUNDS"); do
	for ((i = 0; i < ${#proxy_list[@]}; i++)); do
		p=${proxy_list[$(((r - 1 + i) % ${#proxy_list[@]}))]}
		line=$(run_one "${p%%:*}" "${p#*:}" "$DURATION")
		echo "  round $r: $line"
		echo "$line" >>"$T/results"
		if [ -n "${BENCH_OUT:-}" ]; then
			read -r name rps avg p99 errs gets puts serrs skib cpu <<<"$line"
			for kv in "rps $rps" "mean_ms $avg" "p99_ms $p99" "errors $errs" "slow_gets $gets" \
				"slow_puts $puts" "slow_errors $serrs" "slow_kib_s $skib" "proxy_cpu_ms $cpu"; do
				[ "$name" = fulcrum-noslow ] && [[ $kv == slow_* ]] && continue
				printf 'slow\t%s\t%s\t%s\t%s\n' "$name" "$r" "${kv% *}" "${kv#* }" >>"$BENCH_OUT"
			done
		fi
		# the backends finish what the cut slow transfers left before the next run
		sleep 1
	done
done
mkdir -p "${BENCH_RESULTS_DIR:-$here/results}"
cp "$T/wrk.txt" "${BENCH_RESULTS_DIR:-$here/results}/slow-wrk.txt"

echo
"$PY" - "$T/results" "$DURATION" <<'EOF'
import statistics, sys
rows = {}
for line in open(sys.argv[1]):
    name, *v = line.split()
    rows.setdefault(name, []).append([float(x) for x in v])
print("%-15s %10s %9s %9s %7s | %11s %9s %11s %8s | %8s" % (
    "proxy", "fast req/s", "mean ms", "p99 ms", "errors", "slow gets", "puts", "errors", "KiB/s",
    "CPU ms"))
med = {}
for name, rs in rows.items():
    m = [statistics.median(r[i] for r in rs) for i in range(9)]
    m[3] = sum(r[3] for r in rs)
    m[6] = sum(r[6] for r in rs)
    med[name] = m
    slow = "%11s %9s %11s %8s" % ("-", "-", "-", "-") if name == "fulcrum-noslow" else \
        "%11.0f %9.0f %11.0f %8.0f" % (m[4], m[5], m[6], m[7])
    print("%-15s %10.1f %9.2f %9.2f %7d | %s | %8.0f" % (name, m[0], m[1], m[2], m[3], slow, m[8]))
print("(medians over rounds; errors summed; slow gets/puts: finished transfers per run;")
print(" CPU ms: the proxy's user + system time per run)")
peers = [p for p in ("haproxy", "nginx") if p in med]
for me in ("fulcrum", "fulcrum-b"):
    if me not in med:
        continue
    f = med[me]
    print()
    if med.get("fulcrum-noslow", [0])[0]:
        print("%s fast req/s with slow clients / without: %.3f (target >= 0.95)" % (
            me, f[0] / med["fulcrum-noslow"][0]))
    if peers:
        best = max(peers, key=lambda p: med[p][0])
        low = min(peers, key=lambda p: med[p][2])
        if med[best][0]:
            print("%s fast req/s / best peer (%s): %.3f" % (me, best, f[0] / med[best][0]))
        if med[low][2]:
            print("%s fast p99 / best peer's (%s): %.3f" % (me, low, f[2] / med[low][2]))
EOF
