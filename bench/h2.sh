#!/usr/bin/env bash
# h2.sh FULCRUM-BINARY: HTTP/2 over TLS (issue 21). The keep-alive workload's backend
# (nginx, a 12-byte body, three ports) behind three contenders, one worker each, each
# with the same ECDSA P-256 certificate and TLS 1.3 with the one suite
# TLS_AES_128_GCM_SHA256 (as bench/run.sh's TLS listeners), keep-alive to the backend:
#   fulcrum   workers = 1, a TLS http listener with http2 = true, wlc over the three ports
#   haproxy   nbthread 1, bind ... ssl crt ... alpn h2,http/1.1, leastconn, http-reuse always
#   nginx     worker_processes 1, master_process off, listen ... ssl http2 (nginx 1.22),
#             least_conn, upstream keepalive 256, proxy_http_version 1.1
# Load: h2load -t 1 -c 10 -m 10 (ALPN h2) for BENCH_DURATION seconds (8) in BENCH_ROUNDS
# (3) interleaved rounds (each round starting with the next contender), the proxy on CPU 0
# and h2load and the backend on CPU 1 (BENCH_PIN=1, the default). Per run: req/s, errors
# (failed, errored, timed out, non-2xx), the proxy's CPU us per request (user + system
# from /proc/PID/stat over the run) and the load side's (h2load and the backend, which
# share CPU 1: near 1,000,000 / req/s means that core was the limit).
# Then instructions per request under callgrind (BENCH_CALLGRIND_REQUESTS (10000), h2load
# -c 10 -m 10 after a 200-request warm-up) of fulcrum and nginx; then resident memory per
# idle h2 connection: each proxy freshly started and warmed, bench/idle_conns.py --h2
# opens BENCH_H2_IDLE_CONNS (1000) connections (TLS handshake, SETTINGS both ways, one
# GET /) and holds them: (RSS with them - RSS before) / count.
# Prints the medians and the targets with ratios: fulcrum's req/s >= the best peer's, CPU
# per request <= the best peer's, instructions <= nginx's, idle h2 memory <= nginx's.
# With BENCH_OUT=FILE each sample is also appended to FILE as bench/run.sh's ("h2 NAME
# ROUND rps|errors|cpu_us|load_cpu_us VALUE", "instr-h2 NAME 1 instr_per_req VALUE",
# "mem-h2 NAME 1 kib_per_conn VALUE", tab-separated). BENCH_RESULTS_DIR (bench/results)
# gets h2-load.txt (h2load's outputs), h2.tsv (the samples), h2.txt (the summary) and
# fulcrum's profile profile-h2.txt. BENCH_QUICK=1: one round of 3 s, 2,000 requests under
# callgrind, 500 idle connections. About 3 minutes with the defaults.
# Everything listens on 127.0.0.1; only the processes started here are stopped.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
. "$here/bench_lib.sh"
bench_fulcrum_binary "$@"
if [ "${BENCH_QUICK:-0}" = 1 ]; then
	ROUNDS=${BENCH_ROUNDS:-1} DURATION=${BENCH_DURATION:-3} CG_REQ=${BENCH_CALLGRIND_REQUESTS:-2000}
	IDLE=${BENCH_H2_IDLE_CONNS:-500}
else
	ROUNDS=${BENCH_ROUNDS:-3} DURATION=${BENCH_DURATION:-8} CG_REQ=${BENCH_CALLGRIND_REQUESTS:-10000}
	IDLE=${BENCH_H2_IDLE_CONNS:-1000}
fi
PIN=${BENCH_PIN:-1}
RESULTS_DIR=${BENCH_RESULTS_DIR:-$here/results}
NAMES="fulcrum haproxy nginx"
bench_peer_tools
[ -n "$NGINX" ] || { echo "bench: nginx is not installed" >&2; exit 1; }
for tool in h2load openssl valgrind callgrind_control callgrind_annotate taskset; do
	command -v "$tool" >/dev/null || { echo "bench: $tool is not installed (make bench installs it)" >&2; exit 1; }
done
# the idle connections: one descriptor each in the client, two in each proxy
ulimit -n "$(ulimit -Hn)"
[ $((IDLE * 2 + 200)) -le "$(ulimit -n)" ] ||
	{ echo "bench: the open-file limit $(ulimit -n) is below 2 x $IDLE idle connections" >&2; exit 1; }

. "$here/../tests/e2e/lib/lib.sh"

if [ "$PIN" = 1 ] && [ "$(nproc)" -ge 2 ]; then
	PIN_PROXY=(taskset -c 0) PIN_LOAD=(taskset -c 1)
else
	PIN_PROXY=() PIN_LOAD=()
fi

# ---- certificate (as run.sh's), backend (as run.sh's keep-alive backend) ----
openssl ecparam -name prime256v1 -genkey -noout -out "$T/ecdsa.key" 2>/dev/null
openssl req -new -x509 -key "$T/ecdsa.key" -out "$T/ecdsa.crt" -days 2 -subj /CN=bench.test 2>/dev/null
cat "$T/ecdsa.crt" "$T/ecdsa.key" >"$T/ecdsa.pem"

ports B1 B2 B3 P_FUL P_HAP P_NGX
mkdir -p "$T/nginx-backend" "$T/nginx" "$T/state" "$RESULTS_DIR"
cat >"$T/backend.conf" <<EOF
worker_processes 1;
master_process off;
daemon off;
pid $T/nginx-backend/pid;
error_log $T/nginx-backend/error.log warn;
worker_rlimit_nofile 65536;
events { worker_connections 30000; }
http {
  access_log off;
  client_body_temp_path $T/nginx-backend;
  keepalive_requests 100000000;
  keepalive_timeout 600s;
  server {
    listen 127.0.0.1:$B1; listen 127.0.0.1:$B2; listen 127.0.0.1:$B3;
    location = / { default_type text/plain; return 200 "hello world\n"; }
  }
}
EOF
bg nginx-backend QUIT "${PIN_LOAD[@]}" "$NGINX" -e "$T/nginx-backend/error.log" -c "$T/backend.conf"
BACKEND_PID=$LAST_PID
for p in $B1 $B2 $B3; do wait_listen "$p" "$LAST_PID"; done

# ---- the contenders: one TLS listener each, h2 and http/1.1 offered in ALPN ----
cat >"$T/fulcrum.cfg" <<EOF
workers = 1;
state_dir = "$T/state";
log = { level = "warn"; access = "off"; };
listeners = (
  { name = "h2"; bind = "127.0.0.1:$P_FUL"; mode = "http"; pool = "web"; http2 = true;
    idle_timeout_ms = 600000; max_connections = 30000; max_conns_per_client = 0;
    tls = { certificates = ( { cert = "$T/ecdsa.crt"; key = "$T/ecdsa.key"; } );
            session_tickets = false; ciphersuites = "TLS_AES_128_GCM_SHA256"; }; } );
pools = (
  { name = "web"; balance = "wlc"; health = { type = "none"; };
    backends = ( { name = "b1"; address = "127.0.0.1:$B1"; },
                 { name = "b2"; address = "127.0.0.1:$B2"; },
                 { name = "b3"; address = "127.0.0.1:$B3"; } ); } );
EOF

cat >"$T/haproxy.cfg" <<EOF
global
  nbthread 1
  maxconn $((($(ulimit -n) - 200) / 2))
  ssl-default-bind-options no-tls-tickets
  ssl-default-bind-ciphersuites TLS_AES_128_GCM_SHA256
defaults
  timeout connect 5s
  timeout client 600s
  timeout server 600s
  timeout http-keep-alive 600s
frontend h2
  mode http
  bind 127.0.0.1:$P_HAP ssl crt $T/ecdsa.pem alpn h2,http/1.1
  default_backend web
backend web
  mode http
  balance leastconn
  http-reuse always
  server b1 127.0.0.1:$B1
  server b2 127.0.0.1:$B2
  server b3 127.0.0.1:$B3
EOF

# nginx 1.22: "listen ... http2" (the "http2 on" directive came in 1.25.1); HTTP/2
# connections take keepalive_requests and keepalive_timeout since 1.19.7
cat >"$T/nginx.conf" <<EOF
worker_processes 1;
master_process off;
daemon off;
pid $T/nginx/pid;
error_log $T/nginx/error.log warn;
worker_rlimit_nofile 65536;
events { worker_connections 30000; }
http {
  access_log off;
  client_body_temp_path $T/nginx/body;
  proxy_temp_path $T/nginx/proxy;
  keepalive_requests 100000000;
  keepalive_timeout 600s;
  ssl_session_tickets off;
  ssl_session_cache shared:SSL:10m;
  # nginx 1.22's default ssl_protocols stop at TLSv1.2 (1.23.4 added TLSv1.3)
  ssl_protocols TLSv1.2 TLSv1.3;
  ssl_conf_command Ciphersuites TLS_AES_128_GCM_SHA256;
  upstream web { least_conn; server 127.0.0.1:$B1; server 127.0.0.1:$B2; server 127.0.0.1:$B3; keepalive 256; }
  server {
    listen 127.0.0.1:$P_NGX ssl http2;
    ssl_certificate $T/ecdsa.crt;
    ssl_certificate_key $T/ecdsa.key;
    location / {
      proxy_pass http://web;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_max_temp_file_size 0;
    }
  }
}
EOF

declare -A PID
port_of() { case $1 in fulcrum) echo "$P_FUL" ;; haproxy) echo "$P_HAP" ;; nginx) echo "$P_NGX" ;; esac; }
sig_of() { case $1 in fulcrum) echo TERM ;; haproxy) echo USR1 ;; nginx) echo QUIT ;; esac; }
url_of() { echo "https://127.0.0.1:$(port_of "$1")/"; }
# start NAME [WRAPPER...]: pinned to the proxy CPU, or under WRAPPER (valgrind) when given
start() {
	local name=$1 secs=20
	shift
	local -a wrap=("$@")
	if [ ${#wrap[@]} -gt 0 ]; then secs=120; else wrap=("${PIN_PROXY[@]}"); fi
	case $name in
	fulcrum) bg fulcrum TERM "${wrap[@]}" "$bin" -c "$T/fulcrum.cfg" ;;
	haproxy) bg haproxy USR1 "${wrap[@]}" "$HAPROXY" -db -f "$T/haproxy.cfg" ;;
	nginx) bg nginx QUIT "${wrap[@]}" "$NGINX" -e "$T/nginx/error.log" -c "$T/nginx.conf" ;;
	esac
	PID[$name]=$LAST_PID
	wait_listen "$(port_of "$name")" "$LAST_PID" "$secs"
}
stop() {
	stop_pid "${PID[$1]}" "$(sig_of "$1")" 30 || true
	wait_unlisten "$(port_of "$1")" 10 || true
}
# check NAME: answers GET / with 200 over HTTP/2
check() {
	local got
	got=$(hcurl -k --http2 -o /dev/null -w '%{http_code} %{http_version}' "$(url_of "$1")") || true
	[ "$got" = "200 2" ] || fail "$1 does not answer GET / with 200 over HTTP/2 (status, version: $got)"
}

: >"$T/samples.tsv"
record() {
	printf '%s\t%s\t%s\t%s\t%s\n' "$@" >>"$T/samples.tsv"
	[ -z "${BENCH_OUT:-}" ] || printf '%s\t%s\t%s\t%s\t%s\n' "$@" >>"$BENCH_OUT"
}
# CPU ticks of this shell's reaped children (cutime + cstime): around a run, h2load's
children_ticks() { awk '{print $16 + $17}' /proc/$$/stat; }
# h2load_counts OUTPUT: "DONE ERRORS RPS": requests done, those that failed (h2load's
# "failed" includes its "errored" and "timeout") or got no 2xx, and h2load's req/s
h2load_counts() {
	printf '%s\n' "$1" | awk '
		/^finished in/ { rps = sprintf("%.1f", $4) }
		/^requests:/ { done = $6; bad = $10 }
		/^status codes:/ { ok = $3 }
		END { if (done == "") exit 1; print done, bad + (done - bad - ok > 0 ? done - bad - ok : 0), rps }'
}

# rotated ROUND: the contenders starting from the ROUND-th (as run.sh's rotated)
rotated() {
	local -a n=($NAMES)
	local i
	for ((i = 0; i < ${#n[@]}; i++)); do echo "${n[$((($1 - 1 + i) % ${#n[@]}))]}"; done
}

# ---- requests/s and CPU per request, interleaved ----
for name in $NAMES; do
	start "$name"
	check "$name"
	timeout 60 "${PIN_LOAD[@]}" h2load -t 1 -c 10 -m 10 -n 2000 "$(url_of "$name")" >/dev/null 2>&1 ||
		fail "h2load warm-up against $name"
done
echo "bench h2: $ROUNDS rounds of ${DURATION}s, h2load -t 1 -c 10 -m 10 over TLS 1.3 (ALPN h2); $(nproc) CPUs," \
	"load average $(cut -d' ' -f1-3 /proc/loadavg); pinning: ${PIN_PROXY[*]:-none} proxy / ${PIN_LOAD[*]:-none} h2load and backend"
: >"$RESULTS_DIR/h2-load.txt"
tck=$(getconf CLK_TCK)
for r in $(seq 1 "$ROUNDS"); do
	for name in $(rotated "$r"); do
		t0=$(cpu_ticks "${PID[$name]}")
		l0=$(($(children_ticks) + $(cpu_ticks "$BACKEND_PID")))
		out=$(timeout $((DURATION + 60)) "${PIN_LOAD[@]}" h2load -t 1 -c 10 -m 10 -D "$DURATION" "$(url_of "$name")" 2>&1) ||
			fail "h2load against $name failed: $out"
		t1=$(cpu_ticks "${PID[$name]}")
		l1=$(($(children_ticks) + $(cpu_ticks "$BACKEND_PID")))
		printf '== %s round %s\n%s\n' "$name" "$r" "$out" >>"$RESULTS_DIR/h2-load.txt"
		kill -0 "${PID[$name]}" 2>/dev/null || fail "$name exited during round $r: $out"
		read -r n errs rps < <(h2load_counts "$out") || fail "cannot parse h2load output: $out"
		[ "$n" -gt 0 ] || fail "h2load against $name: no request done: $out"
		cpu=$(awk -v t=$((t1 - t0)) -v k="$tck" -v n="$n" 'BEGIN {printf "%.1f", t * 1e6 / k / n}')
		lcpu=$(awk -v t=$((l1 - l0)) -v k="$tck" -v n="$n" 'BEGIN {printf "%.1f", t * 1e6 / k / n}')
		record h2 "$name" "$r" rps "$rps"
		record h2 "$name" "$r" errors "$errs"
		record h2 "$name" "$r" cpu_us "$cpu"
		record h2 "$name" "$r" load_cpu_us "$lcpu"
		printf '  round %s %-8s %10s req/s  %s errors  %5s us CPU/req  (load side %s)\n' \
			"$r" "$name" "$rps" "$errs" "$cpu" "$lcpu"
		sleep 0.5
	done
done
for name in $NAMES; do stop "$name"; done

# ---- instructions per request under callgrind ----
echo "bench h2: instructions per request under callgrind ($CG_REQ requests, h2load -c 10 -m 10)"
mkdir -p "$T/cg"
for name in fulcrum nginx; do
	start "$name" valgrind --tool=callgrind --callgrind-out-file="$T/cg/$name.out" --dump-instr=no --collect-jumps=no
	timeout 300 h2load -n 200 -c 10 -m 10 "$(url_of "$name")" >/dev/null 2>&1 || fail "h2load warm-up against $name"
	callgrind_control -z "${PID[$name]}" >/dev/null 2>&1
	out=$(timeout 600 h2load -n "$CG_REQ" -c 10 -m 10 "$(url_of "$name")" 2>&1) || fail "h2load against $name: $out"
	read -r n errs rps < <(h2load_counts "$out") || fail "cannot parse h2load output: $out"
	[ "$n" = "$CG_REQ" ] && [ "$errs" = 0 ] || fail "h2load against $name: $n of $CG_REQ done, $errs errors: $out"
	callgrind_control -d h2 "${PID[$name]}" >/dev/null 2>&1
	dump=$(ls -t "$T/cg/$name.out".* | head -1)
	total=$(awk '/^(summary|totals):/ {print $2; exit}' "$dump")
	record instr-h2 "$name" 1 instr_per_req "$((total / CG_REQ))"
	printf '  %-8s %s instructions per request\n' "$name" "$((total / CG_REQ))"
	if [ "$name" = fulcrum ]; then
		callgrind_annotate --auto=no --threshold=100 "$dump" 2>/dev/null | sed -n 1,60p \
			>"$RESULTS_DIR/profile-h2.txt" || true
	fi
	stop "$name"
done

# ---- resident memory per idle h2 connection (fresh process each) ----
# rss_kib PID: resident KiB of PID and its children
rss_kib() {
	local t=0 p
	for p in $1 $(pgrep -P "$1" || true); do
		t=$((t + $(awk '/^VmRSS:/ {print $2}' "/proc/$p/status" 2>/dev/null || echo 0)))
	done
	echo "$t"
}
echo "bench h2: memory per idle h2 connection ($IDLE connections: TLS handshake, SETTINGS, one GET /, then idle)"
for name in $NAMES; do
	start "$name"
	# the first requests allocate per-process pools that are not per connection
	timeout 60 h2load -n 200 -c 4 -m 10 "$(url_of "$name")" >/dev/null 2>&1 || fail "h2load warm-up against $name"
	sleep 1
	before=$(rss_kib "${PID[$name]}")
	rm -f "$T/hold" "$T/idle.out"
	mkfifo "$T/hold"
	"$PY" "$here/idle_conns.py" 127.0.0.1 "$(port_of "$name")" "$IDLE" --h2 <"$T/hold" >"$T/idle.out" 2>&1 &
	cpid=$!
	exec 9>"$T/hold"
	for ((i = 0; i < 3000; i++)); do
		grep -q '^ready' "$T/idle.out" 2>/dev/null && break
		kill -0 "$cpid" 2>/dev/null || break
		sleep 0.1
	done
	grep -q '^ready' "$T/idle.out" || { exec 9>&-; wait "$cpid" || true; fail "idle h2 client against $name: $(cat "$T/idle.out")"; }
	sleep 1
	after=$(rss_kib "${PID[$name]}")
	exec 9>&-
	wait "$cpid" || true
	kib=$(awk -v a="$after" -v b="$before" -v n="$IDLE" 'BEGIN {printf "%.2f", (a - b) / n}')
	record mem-h2 "$name" 1 kib_per_conn "$kib"
	printf '  %-8s RSS %s -> %s KiB over %s connections: %s KiB each\n' "$name" "$before" "$after" "$IDLE" "$kib"
	stop "$name"
done

cp "$T/samples.tsv" "$RESULTS_DIR/h2.tsv"
"$PY" - "$T/samples.tsv" <<'EOF' | tee "$RESULTS_DIR/h2.txt"
import statistics, sys
s, byr = {}, {}
for line in open(sys.argv[1]):
    w, c, r, m, v = line.rstrip("\n").split("\t")
    s.setdefault((w, c, m), []).append(float(v))
    byr.setdefault((w, c, m), {})[r] = float(v)
def med(w, c, m):
    return statistics.median(s[(w, c, m)]) if (w, c, m) in s else None
def f(v, d=0):
    return "-" if v is None else "{:,.{}f}".format(v, d)
names = ["fulcrum", "haproxy", "nginx"]
print("bench h2: medians over rounds")
print("  %-8s %10s %7s %11s %13s | %12s %14s" % (
    "proxy", "req/s", "errors", "CPU us/req", "load us/req", "instr/req", "idle KiB/conn"))
for c in names:
    print("  %-8s %10s %7s %11s %13s | %12s %14s" % (
        c, f(med("h2", c, "rps")), f(sum(s.get(("h2", c, "errors"), [0]))), f(med("h2", c, "cpu_us"), 1),
        f(med("h2", c, "load_cpu_us"), 1), f(med("instr-h2", c, "instr_per_req")),
        f(med("mem-h2", c, "kib_per_conn"), 2)))
def per_round(w, m, peers, higher):
    out = []
    for r in sorted(byr.get((w, "fulcrum", m), {})):
        vals = [byr.get((w, p, m), {}).get(r) for p in peers]
        vals = [v for v in vals if v]
        if vals:
            out.append("%.2f" % (byr[(w, "fulcrum", m)][r] / (max(vals) if higher else min(vals))))
    return " ".join(out)
def target(label, w, m, peers, higher, d=0):
    mine = med(w, "fulcrum", m)
    vals = [(med(w, p, m), p) for p in peers if med(w, p, m)]
    if mine is None or not vals:
        print("  %s: not measured" % label)
        return
    v, p = max(vals) if higher else min(vals)
    ratio = mine / v
    ok = ratio >= 1.0 if higher else ratio <= 1.0
    print("  %s: fulcrum %s, %s %s: %.3f (target %s 1.00: %s); per round %s" % (
        label, f(mine, d), p, f(v, d), ratio, ">=" if higher else "<=",
        "pass" if ok else "FAIL", per_round(w, m, peers, higher) or "-"))
print("bench h2: targets (ratios of the medians)")
target("req/s >= best peer", "h2", "rps", ["haproxy", "nginx"], True)
target("CPU us/req <= best peer", "h2", "cpu_us", ["haproxy", "nginx"], False, 1)
target("instructions/req <= nginx", "instr-h2", "instr_per_req", ["nginx"], False)
target("idle h2 KiB/conn <= nginx", "mem-h2", "kib_per_conn", ["nginx"], False, 2)
errs = sum(s.get(("h2", "fulcrum", "errors"), [0]))
if errs:
    print("  fulcrum: %d requests failed over the rounds" % errs)
EOF
