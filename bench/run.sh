#!/usr/bin/env bash
# run.sh FULCRUM-BINARY: the benchmark behind `make bench`. fulcrum, HAProxy and nginx
# (each one worker thread, least connections, keep-alive to the backends) in front of the
# same static nginx backend (three ports, a 12-byte body and a 1 MiB file), measured
# workload by workload in interleaved rounds (fulcrum, haproxy, nginx, fulcrum, ...),
# then the Flask scenario (bench/flask_scenario.sh), the same with slow clients
# (bench/slow_clients.sh), 50 routes against none and against nginx's 50 locations
# (bench/routes.sh), the cacheable Flask scenario against nginx proxy_cache and Varnish
# (bench/cache.sh) and instructions per request under callgrind. Raw samples go to bench/results/latest.tsv; bench/report.py turns them into
# the table (bench/results/latest.md, and docs/benchmarks.md unless BENCH_QUICK=1 or
# BENCH_DOCS=0).
#
# Knobs (environment): BENCH_QUICK=1 (one short round of everything, for development),
# BENCH_ROUNDS (3), BENCH_SECONDS per wrk run (8), BENCH_IDLE_CONNS (10000),
# BENCH_CALLGRIND_REQUESTS (20000), BENCH_FLASK_SECONDS (15), BENCH_SLOW_SECONDS (10: wrk
# time per run of the slow-clients scenario), BENCH_PIN (1: proxy on
# CPU 0, load generator and backend on CPU 1), BENCH_ONLY (space-separated workload
# names to run, default all: mem ka close tls-ka tls-hs tcp big ka-cap close-cap
# tls-ka-cap tcp-cap workers2 flask slow routes cache callgrind; also "syscalls", not in the default:
# system calls per request by type, see below), BENCH_PROXY_CPU (0.5: the share of one
# CPU each proxy gets in the -cap workloads),
# BENCH_CONTENDERS (default "fulcrum haproxy nginx"; "fulcrum" alone for before/after
# measurements of a change, with BENCH_DOCS=0 and BENCH_RESULTS_DIR elsewhere).
# Loopback only; stops only the processes it started (tests/e2e/lib/lib.sh tracks them).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
. "$here/bench_lib.sh"
bench_fulcrum_binary "$@"

if [ "${BENCH_QUICK:-0}" = 1 ]; then
	ROUNDS=${BENCH_ROUNDS:-1} SECS=${BENCH_SECONDS:-3} IDLE=${BENCH_IDLE_CONNS:-1000}
	CG_REQ=${BENCH_CALLGRIND_REQUESTS:-2000} FLASK_SECS=${BENCH_FLASK_SECONDS:-5}
	SLOW_SECS=${BENCH_SLOW_SECONDS:-8}
else
	ROUNDS=${BENCH_ROUNDS:-3} SECS=${BENCH_SECONDS:-8} IDLE=${BENCH_IDLE_CONNS:-10000}
	CG_REQ=${BENCH_CALLGRIND_REQUESTS:-20000} FLASK_SECS=${BENCH_FLASK_SECONDS:-15}
	SLOW_SECS=${BENCH_SLOW_SECONDS:-10}
fi
ONLY=" ${BENCH_ONLY:-mem ka close tls-ka tls-hs tcp big ka-cap close-cap tls-ka-cap tcp-cap workers2 flask slow routes cache callgrind} "
PROXY_CPU=${BENCH_PROXY_CPU:-0.5}
PIN=${BENCH_PIN:-1}
CONTENDERS=${BENCH_CONTENDERS:-fulcrum haproxy nginx}
RESULTS_DIR=${BENCH_RESULTS_DIR:-$here/results}

for tool in wrk h2load $([[ " ${BENCH_ONLY:-} " == *" syscalls "* ]] && echo perf) haproxy nginx valgrind callgrind_control callgrind_annotate openssl taskset; do
	command -v "$tool" >/dev/null || [ -x "/usr/sbin/$tool" ] ||
		{ echo "bench: $tool is not installed (make bench installs it)" >&2; exit 1; }
done
[ -e /usr/lib/nginx/modules/ngx_stream_module.so ] ||
	{ echo "bench: nginx's stream module is missing (apt-get install libnginx-mod-stream)" >&2; exit 1; }
HAPROXY=$(command -v haproxy || echo /usr/sbin/haproxy)
NGINX=$(command -v nginx || echo /usr/sbin/nginx)

# 10,000 idle connections need more descriptors than the usual soft limit of 1024;
# every process started from here inherits this. HAProxy wants two descriptors per
# maxconn, so root raises the hard limit too; others must have a hard limit above 2*IDLE.
ulimit -Hn 100000 2>/dev/null || true
ulimit -n "$(ulimit -Hn)"
# fulcrum and HAProxy count two descriptors per connection (client and backend) and fit
# their connection limit under the open-file limit; where the hard limit cannot be
# raised (containers), fewer idle connections are measured (the result is per connection).
fit=$(( ($(ulimit -n) - 1100) / 2 / 500 * 500 ))
if [ "$IDLE" -gt "$fit" ]; then
	echo "bench: open-file limit $(ulimit -n) (hard limit) fits $fit idle connections, not $IDLE: measuring $fit"
	IDLE=$fit
fi
[ "$IDLE" -ge 500 ] || { echo "bench: open-file hard limit $(ulimit -Hn) is too low" >&2; exit 1; }

. "$here/../tests/e2e/lib/lib.sh"
want() { [[ $ONLY == *" $1 "* ]]; }

if [ "$PIN" = 1 ] && [ "$(nproc)" -ge 2 ]; then
	PIN_PROXY="taskset -c 0" PIN_LOAD="taskset -c 1"
else
	PIN_PROXY="" PIN_LOAD=""
fi
OUT=$T/results.tsv
: >"$OUT"
# record WORKLOAD CONTENDER ROUND METRIC VALUE
record() { printf '%s\t%s\t%s\t%s\t%s\n' "$@" >>"$OUT"; }

# ---- certificates, backend ----
openssl ecparam -name prime256v1 -genkey -noout -out "$T/ecdsa.key" 2>/dev/null
openssl req -new -x509 -key "$T/ecdsa.key" -out "$T/ecdsa.crt" -days 2 -subj /CN=bench.test 2>/dev/null
openssl req -new -x509 -newkey rsa:2048 -nodes -keyout "$T/rsa.key" -out "$T/rsa.crt" -days 2 \
	-subj /CN=bench.test 2>/dev/null
cat "$T/ecdsa.crt" "$T/ecdsa.key" >"$T/ecdsa.pem"

ports B1 B2 B3 F_HP F_SP F_TP H_HP H_SP H_TP N_HP N_SP N_TP
mkdir -p "$T/www" "$T/nginx-backend"
head -c 1048576 /dev/zero | tr '\0' 'x' >"$T/www/big"
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
    listen 127.0.0.1:$B1 reuseport; listen 127.0.0.1:$B2; listen 127.0.0.1:$B3;
    location = / { default_type text/plain; return 200 "hello world\n"; }
    location = /big { root $T/www; default_type application/octet-stream; }
  }
}
EOF
bg nginx-backend QUIT $PIN_LOAD "$NGINX" -e "$T/nginx-backend/error.log" -c "$T/backend.conf"
BACKEND_PID=$LAST_PID
for p in $B1 $B2 $B3; do wait_listen "$p" "$LAST_PID"; done

# ---- contenders: plain HTTP (HP), HTTPS (SP) and TCP (TP) listeners each ----
write_configs() {
	local workers=$1
	cat >"$T/fulcrum.cfg" <<EOF
workers = $workers;
state_dir = "$T/state";
log = { level = "warn"; access = "off"; };
listeners = (
  { name = "http"; bind = "127.0.0.1:$F_HP"; mode = "http"; pool = "web";
    idle_timeout_ms = 600000; max_connections = 30000; max_conns_per_client = 0; },
  { name = "https"; bind = "127.0.0.1:$F_SP"; mode = "http"; pool = "web";
    idle_timeout_ms = 600000; max_connections = 30000; max_conns_per_client = 0;
    tls = { certificates = ( { cert = "$T/ecdsa.crt"; key = "$T/ecdsa.key"; } );
            session_tickets = false; ciphersuites = "TLS_AES_128_GCM_SHA256"; }; },
  { name = "tcp"; bind = "127.0.0.1:$F_TP"; mode = "tcp"; pool = "tcp";
    idle_timeout_ms = 600000; max_connections = 30000; max_conns_per_client = 0; } );
pools = (
  { name = "web"; balance = "wlc"; health = { type = "none"; };
    backends = ( { name = "b1"; address = "127.0.0.1:$B1"; },
                 { name = "b2"; address = "127.0.0.1:$B2"; },
                 { name = "b3"; address = "127.0.0.1:$B3"; } ); },
  { name = "tcp"; balance = "wlc"; health = { type = "none"; };
    backends = ( { name = "b1"; address = "127.0.0.1:$B1"; },
                 { name = "b2"; address = "127.0.0.1:$B2"; },
                 { name = "b3"; address = "127.0.0.1:$B3"; } ); } );
EOF
	cat >"$T/haproxy.cfg" <<EOF
global
  nbthread $workers
  maxconn $(( ($(ulimit -n) - 200) / 2 ))
  ssl-default-bind-options no-tls-tickets
  ssl-default-bind-ciphersuites TLS_AES_128_GCM_SHA256
defaults
  timeout connect 5s
  timeout client 600s
  timeout server 600s
  timeout http-keep-alive 600s
frontend http
  mode http
  bind 127.0.0.1:$H_HP
  default_backend web
frontend https
  mode http
  bind 127.0.0.1:$H_SP ssl crt $T/ecdsa.pem alpn http/1.1
  default_backend web
frontend tcp
  mode tcp
  bind 127.0.0.1:$H_TP
  default_backend tcpb
backend web
  mode http
  balance leastconn
  http-reuse always
  server b1 127.0.0.1:$B1
  server b2 127.0.0.1:$B2
  server b3 127.0.0.1:$B3
backend tcpb
  mode tcp
  balance leastconn
  server b1 127.0.0.1:$B1
  server b2 127.0.0.1:$B2
  server b3 127.0.0.1:$B3
EOF
	mkdir -p "$T/nginx"
	# One worker runs without a master process, so the worker is the process measured.
	cat >"$T/nginx.conf" <<EOF
load_module /usr/lib/nginx/modules/ngx_stream_module.so;
worker_processes $workers;
master_process $([ "$workers" = 1 ] && echo off || echo on);
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
  # stateful resumption (session IDs, TLS 1.3 stateful tickets) as fulcrum with
  # session_tickets = false and HAProxy with no-tls-tickets both keep it
  ssl_session_cache shared:SSL:10m;
  # nginx 1.22's default ssl_protocols stop at TLSv1.2 (1.23.4 added TLSv1.3)
  ssl_protocols TLSv1.2 TLSv1.3;
  ssl_conf_command Ciphersuites TLS_AES_128_GCM_SHA256;
  upstream web { least_conn; server 127.0.0.1:$B1; server 127.0.0.1:$B2; server 127.0.0.1:$B3; keepalive 256; }
  server {
    listen 127.0.0.1:$N_HP;
    listen 127.0.0.1:$N_SP ssl;
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
stream {
  upstream tcpb { least_conn; server 127.0.0.1:$B1; server 127.0.0.1:$B2; server 127.0.0.1:$B3; }
  server { listen 127.0.0.1:$N_TP; proxy_pass tcpb; }
}
EOF
}

declare -A PID
hp() { case $1 in fulcrum) echo "$F_HP" ;; haproxy) echo "$H_HP" ;; nginx) echo "$N_HP" ;; esac; }
sp() { case $1 in fulcrum) echo "$F_SP" ;; haproxy) echo "$H_SP" ;; nginx) echo "$N_SP" ;; esac; }
tp() { case $1 in fulcrum) echo "$F_TP" ;; haproxy) echo "$H_TP" ;; nginx) echo "$N_TP" ;; esac; }

# start_contender NAME [WRAPPER...]: starts NAME with the current configs (under WRAPPER,
# e.g. valgrind, when given, else pinned to the proxy CPU) and waits for its listeners.
start_contender() {
	local name=$1 secs=20
	shift
	local wrap=("$@")
	[ ${#wrap[@]} -gt 0 ] && secs=120 || read -ra wrap <<<"$PIN_PROXY"
	case $name in
	fulcrum) bg fulcrum TERM "${wrap[@]}" "$bin" -c "$T/fulcrum.cfg" ;;
	haproxy) bg haproxy USR1 "${wrap[@]}" "$HAPROXY" -db -f "$T/haproxy.cfg" ;;
	nginx) bg nginx QUIT "${wrap[@]}" "$NGINX" -e "$T/nginx/error.log" -c "$T/nginx.conf" ;;
	esac
	PID[$name]=$LAST_PID
	wait_listen "$(hp "$name")" "$LAST_PID" "$secs"
	wait_listen "$(sp "$name")" "$LAST_PID" "$secs"
	wait_listen "$(tp "$name")" "$LAST_PID" "$secs"
}

stop_contender() {
	local name=$1
	stop_pid "${PID[$name]}" "$(case $name in fulcrum) echo TERM ;; haproxy) echo USR1 ;; nginx) echo QUIT ;; esac)" 30 ||
		true
	wait_unlisten "$(hp "$name")" 10 || true
}

# Voluntary and involuntary context switches of every thread of PID: "V NV".
ctx_switches() {
	cat /proc/"$1"/task/*/status 2>/dev/null |
		awk '/^voluntary_ctxt_switches/ {v += $2} /^nonvoluntary_ctxt_switches/ {nv += $2} END {print v + 0, nv + 0}'
}

# CPU ticks of PID (every thread), user and system apart: "USER SYSTEM".
cpu_ticks_split() {
	awk '{print $14, $15}' "/proc/$1/stat"
}

# CPU ticks of this shell's finished children (cutime + cstime): wrapped around a load
# generator's run, what the generator used (a child's own reaped children count too).
children_ticks() {
	awk '{print $16 + $17}' /proc/$$/stat
}

# RSS in KiB of PID and its children.
rss_kib() {
	local pid=$1 t=0 p
	for p in $pid $(pgrep -P "$pid" || true); do
		t=$((t + $(awk '/^VmRSS:/ {print $2}' "/proc/$p/status" 2>/dev/null || echo 0)))
	done
	echo "$t"
}

# wrk_args WORKLOAD NAME: the wrk command line of a workload against contender NAME.
wrk_args() {
	local w=${1%-cap} name=$2
	case $w in
	ka | workers2) echo "-c 50 http://127.0.0.1:$(hp "$name")/" ;;
	close) echo "-c 50 -H Connection:close http://127.0.0.1:$(hp "$name")/" ;;
	tls-ka) echo "-c 50 https://127.0.0.1:$(sp "$name")/" ;;
	tls-hs) echo "-c 50 -H Connection:close https://127.0.0.1:$(sp "$name")/" ;;
	tcp) echo "-c 50 http://127.0.0.1:$(tp "$name")/" ;;
	big) echo "-c 10 http://127.0.0.1:$(hp "$name")/big" ;;
	esac
}

# WORKLOAD-cap (ka-cap, close-cap, tls-ka-cap, tcp-cap): on 2 cores, wrk and the backend
# share the second core, and in plain keep-alive that core runs out before any of the
# proxies does, so "ka" measures the load generator as much as the proxy. A -cap
# workload runs the same wrk load with each proxy in turn held to the same share of one CPU
# (BENCH_PROXY_CPU, default 0.5) with the cgroup cpu controller (CFS bandwidth: quota
# per 100 ms period), which makes the proxy the bottleneck: its requests/s is then
# what that CPU share buys, the same for every contender. CAP_DIR is the cgroup, or
# empty where the cgroup file system is not writable (the -cap workloads are then skipped).
CAP_DIR=""
CAP_ROOT=""
cap_setup() {
	local quota
	quota=$("$PY" -c "print(int(float('$PROXY_CPU') * 100000))")
	if [ -w /sys/fs/cgroup/cpu/cgroup.procs ] && [ -e /sys/fs/cgroup/cpu/cpu.cfs_quota_us ]; then
		CAP_ROOT=/sys/fs/cgroup/cpu
		CAP_DIR=$CAP_ROOT/fulcrum-bench
		mkdir -p "$CAP_DIR" && echo 100000 >"$CAP_DIR/cpu.cfs_period_us" &&
			echo "$quota" >"$CAP_DIR/cpu.cfs_quota_us" || CAP_DIR=""
	elif grep -qw cpu /sys/fs/cgroup/cgroup.controllers 2>/dev/null; then
		CAP_ROOT=/sys/fs/cgroup
		CAP_DIR=$CAP_ROOT/fulcrum-bench
		{ grep -qw cpu "$CAP_ROOT/cgroup.subtree_control" || echo +cpu >"$CAP_ROOT/cgroup.subtree_control"; } 2>/dev/null &&
			mkdir -p "$CAP_DIR" && echo "$quota 100000" >"$CAP_DIR/cpu.max" || CAP_DIR=""
	fi
	[ -n "$CAP_DIR" ] || echo "bench: cannot set a CPU quota here (no writable cgroup cpu controller): -cap workloads skipped"
}
# cap_move PID DIR: moves PID and its children (nginx's workers) into cgroup DIR.
cap_move() {
	local p
	for p in $1 $(pgrep -P "$1" || true); do echo "$p" >"$2/cgroup.procs"; done
}

# run_wrk WORKLOAD NAME ROUND: one measured run; records req/s, errors, the proxy's
# CPU microseconds per request (user + system time over the run / requests), and the
# load side's: the load generator's and the backend's together, which share the other
# core when pinned, so that a run where that core ran out shows as such.
run_wrk() {
	local w=$1 name=$2 round=$3 pin=() t0 t1 l0 l1 out n rps errs tck thr0
	local -a args
	read -ra args <<<"$(wrk_args "$w" "$name")"
	[ "$w" = workers2 ] || read -ra pin <<<"$PIN_LOAD"
	if [ "${w%-cap}" != "$w" ]; then
		[ -n "$CAP_DIR" ] || return 0
		cap_move "${PID[$name]}" "$CAP_DIR"
		thr0=$(awk '$1 == "nr_throttled" {print $2}' "$CAP_DIR/cpu.stat")
	fi
	t0=$(cpu_ticks "${PID[$name]}")
	l0=$(($(children_ticks) + $(cpu_ticks "$BACKEND_PID")))
	if [ "$w" = tls-hs ]; then
		# wrk and h2load resume sessions whenever the server allows: see tls_handshakes.py
		out=$(timeout $((SECS + 60)) "${pin[@]}" "$PY" "$here/tls_handshakes.py" 127.0.0.1 "$(sp "$name")" \
			"$SECS" 4 2>&1) || fail "tls_handshakes.py against $name failed: $out"
	else
		out=$(timeout $((SECS + 30)) "${pin[@]}" wrk -t 1 -d "${SECS}s" --timeout 5s "${args[@]}" 2>&1) ||
			fail "wrk $w against $name failed: $out"
	fi
	t1=$(cpu_ticks "${PID[$name]}")
	l1=$(($(children_ticks) + $(cpu_ticks "$BACKEND_PID")))
	if [ "${w%-cap}" != "$w" ]; then
		cap_move "${PID[$name]}" "$CAP_ROOT"
		# how many 100 ms periods the quota ran out in: 0 would mean the cap never bit
		out=$(printf '%s\nthrottled periods: %s\n' "$out" \
			"$(($(awk '$1 == "nr_throttled" {print $2}' "$CAP_DIR/cpu.stat") - thr0))")
	fi
	printf '== %s %s round %s\n%s\n' "$w" "$name" "$round" "$out" >>"$T/wrk.txt"
	read -r n rps errs < <(printf '%s\n' "$out" | "$PY" "$here/wrk_totals.py") ||
		fail "cannot parse wrk output: $out"
	tck=$(getconf CLK_TCK)
	record "$w" "$name" "$round" rps "$rps"
	record "$w" "$name" "$round" errors "$errs"
	if [ "$n" -gt 0 ]; then
		record "$w" "$name" "$round" cpu_us "$(((t1 - t0) * 1000000 / tck / n))"
		record "$w" "$name" "$round" load_cpu_us "$(((l1 - l0) * 1000000 / tck / n))"
	fi
	printf '  round %s %-8s %-8s %10s req/s  %s errors  %s us CPU/req  (load side %s)\n' "$round" "$w" "$name" \
		"$rps" "$errs" "$([ "$n" -gt 0 ] && echo $(((t1 - t0) * 1000000 / tck / n)))" \
		"$([ "$n" -gt 0 ] && echo $(((l1 - l0) * 1000000 / tck / n)))"
}

check_contender() {
	local name=$1 code
	code=$(http_status "http://127.0.0.1:$(hp "$name")/")
	[ "$code" = 200 ] || fail "$name does not answer on plain HTTP (status $code)"
	code=$(http_status "https://127.0.0.1:$(sp "$name")/" -k)
	[ "$code" = 200 ] || fail "$name does not answer on HTTPS (status $code)"
	code=$(http_status "http://127.0.0.1:$(tp "$name")/")
	[ "$code" = 200 ] || fail "$name does not answer on TCP (status $code)"
}

echo "bench: $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg); $ROUNDS rounds of ${SECS}s;" \
	"pinning: ${PIN_PROXY:-none} proxy / ${PIN_LOAD:-none} wrk and backend"
write_configs 1

# ---- resident memory per idle keep-alive connection (fresh process per measurement) ----
# mem_run NAME tls|plain
mem_run() {
	local name=$1 kind=$2 port flag=() before after cpid i
	start_contender "$name"
	port=$(hp "$name")
	[ "$kind" = tls ] && { port=$(sp "$name"); flag=(--tls); }
	# warm up: the first requests allocate per-process pools that are not per connection
	h2load --h1 -n 200 -c 4 "$([ "$kind" = tls ] && echo https || echo http)://127.0.0.1:$port/" >/dev/null 2>&1 || true
	sleep 1
	before=$(rss_kib "${PID[$name]}")
	rm -f "$T/hold" "$T/idle.out"
	mkfifo "$T/hold"
	"$PY" "$here/idle_conns.py" 127.0.0.1 "$port" "$IDLE" "${flag[@]}" <"$T/hold" >"$T/idle.out" 2>&1 &
	cpid=$!
	exec 9>"$T/hold"
	for ((i = 0; i < 3000; i++)); do
		grep -q '^ready' "$T/idle.out" 2>/dev/null && break
		kill -0 "$cpid" 2>/dev/null || break
		sleep 0.1
	done
	grep -q '^ready' "$T/idle.out" || { exec 9>&-; wait "$cpid" || true; fail "idle client against $name ($kind): $(cat "$T/idle.out")"; }
	sleep 1
	after=$(rss_kib "${PID[$name]}")
	exec 9>&-
	wait "$cpid" || true
	record "mem-$kind" "$name" 1 kib_per_conn "$("$PY" -c "print('%.2f' % (($after - $before) / $IDLE))")"
	printf '  mem-%-5s %-8s RSS %s -> %s KiB over %s connections: %s KiB each\n' "$kind" "$name" "$before" "$after" "$IDLE" \
		"$("$PY" -c "print('%.2f' % (($after - $before) / $IDLE))")"
	stop_contender "$name"
}
if want mem; then
	echo "bench: memory per idle connection ($IDLE connections, one measurement per proxy, fresh process)"
	for kind in plain tls; do
		for name in $CONTENDERS; do mem_run "$name" "$kind"; done
	done
fi

# ---- throughput workloads, interleaved ----
# rotated ROUND NAME...: the names starting from the ROUND-th (1-based, wrapping), so each
# contender runs first of a workload in some round and last in another. The machine's
# speed drifts over tens of seconds; a fixed order would give one contender the same
# slot, and so the same drift, in every round.
rotated() {
	local r=$1
	shift
	local -a names=("$@")
	local i n=${#names[@]}
	for ((i = 0; i < n; i++)); do echo "${names[$(((r - 1 + i) % n))]}"; done
}
WRK_WORKLOADS=""
for w in ka close tls-ka tls-hs tcp big ka-cap close-cap tls-ka-cap tcp-cap; do
	want "$w" && WRK_WORKLOADS="$WRK_WORKLOADS $w"
done
case $WRK_WORKLOADS in *-cap*) cap_setup ;; esac
if [ -n "$WRK_WORKLOADS" ]; then
	for name in $CONTENDERS; do start_contender "$name"; check_contender "$name"; done
	for name in $CONTENDERS; do timeout 20 wrk -t 1 -c 20 -d 1s "http://127.0.0.1:$(hp "$name")/" >/dev/null; done
	for r in $(seq 1 "$ROUNDS"); do
		for w in $WRK_WORKLOADS; do
			for name in $(rotated "$r" $CONTENDERS); do run_wrk "$w" "$name" "$r"; sleep 0.5; done
		done
	done
	for name in $CONTENDERS; do stop_contender "$name"; done
fi

# ---- two workers each, unpinned ----
if want workers2; then
	write_configs 2
	PIN_PROXY_SAVED=$PIN_PROXY PIN_PROXY=""
	for name in $CONTENDERS; do start_contender "$name"; check_contender "$name"; done
	for r in $(seq 1 "$ROUNDS"); do
		for name in $(rotated "$r" $CONTENDERS); do run_wrk workers2 "$name" "$r"; sleep 0.5; done
	done
	for name in $CONTENDERS; do stop_contender "$name"; done
	PIN_PROXY=$PIN_PROXY_SAVED
	write_configs 1
fi

# ---- instructions per request under callgrind ----
# cg_total FILE: the instruction total of a callgrind dump
cg_total() { awk '/^(summary|totals):/ {print $2; exit}' "$1"; }
if want callgrind; then
	echo "bench: instructions per request under callgrind ($CG_REQ requests, h2load --h1 -c 10)"
	mkdir -p "$T/cg"
	for name in $CONTENDERS; do
		start_contender "$name" valgrind --tool=callgrind --callgrind-out-file="$T/cg/$name.out" \
			--dump-instr=no --collect-jumps=no
		for kind in plain tls; do
			if [ "$kind" = tls ]; then url=https://127.0.0.1:$(sp "$name")/; else url=http://127.0.0.1:$(hp "$name")/; fi
			timeout 300 h2load --h1 -n 200 -c 10 "$url" >/dev/null 2>&1 || fail "h2load warm-up against $name ($kind)"
			callgrind_control -z "${PID[$name]}" >/dev/null
			out=$(timeout 600 h2load --h1 -n "$CG_REQ" -c 10 "$url" 2>&1) || fail "h2load against $name ($kind): $out"
			ok=$(printf '%s\n' "$out" | awk '/^requests:/ {print $8}')
			[ "$ok" = "$CG_REQ" ] || fail "h2load against $name ($kind): $ok of $CG_REQ succeeded: $out"
			callgrind_control -d "$kind" "${PID[$name]}" >/dev/null
			dump=$(ls -t "$T/cg/$name.out".* | head -1)
			total=$(cg_total "$dump")
			record "instr-$kind" "$name" 1 instr_per_req "$((total / CG_REQ))"
			printf '  instr-%-5s %-8s %s instructions per request\n' "$kind" "$name" "$((total / CG_REQ))"
			if [ "$name" = fulcrum ]; then
				mkdir -p "$RESULTS_DIR"
				# (with --inclusive=no, callgrind 3.19 charges a dump taken mid-run to
				# the thread's outermost frame; the default listing is per function)
				callgrind_annotate --auto=no --threshold=100 "$dump" >"$T/cg/annotate" 2>/dev/null || true
				sed -n 1,60p "$T/cg/annotate" >"$RESULTS_DIR/profile-fulcrum-$kind.txt"
				callgrind_annotate --inclusive=yes --auto=no --threshold=100 "$dump" >"$T/cg/annotate" 2>/dev/null || true
				sed -n 1,60p "$T/cg/annotate" >"$RESULTS_DIR/profile-fulcrum-$kind-inclusive.txt"
			fi
		done
		stop_contender "$name"
	done
fi

# ---- system calls per request (BENCH_ONLY=syscalls; not in the default run) ----
# The keep-alive and TCP-mode wrk runs of the throughput table (-t1 -c50, BENCH_SECONDS),
# with the proxy's system calls counted by the kernel's syscall tracepoints (perf stat
# -p: every thread of the proxy). Tracepoints do not slow the proxy down the way strace
# does, so epoll batches stay as they are in the throughput runs. Counts are divided by
# the requests wrk completed; reads and writes that failed with EAGAIN and
# epoll_waits that returned no event are counted apart (sys_exit filters), and so are the
# proxy's context switches from /proc (voluntary: a blocking epoll_wait, sleep and
# wake-up; involuntary: preempted by other load on the machine) and its CPU time, user
# and system apart. Written to $RESULTS_DIR/syscalls.tsv (workload, contender, what,
# per request) and printed; docs/benchmarks.md has a table of it.
SC_CALLS="read readv write writev recvfrom sendto recvmsg sendmsg epoll_wait epoll_pwait epoll_ctl
	accept4 close getsockopt setsockopt splice"
if want syscalls; then
	command -v perf >/dev/null || fail "perf is not installed (linux-perf)"
	echo "bench: system calls per request (wrk -t1 -c50 -d${SECS}s, perf stat -p)"
	mkdir -p "$RESULTS_DIR"
	: >"$T/syscalls.tsv"
	sc_events=(-e raw_syscalls:sys_enter)
	for s in $SC_CALLS; do sc_events+=(-e "syscalls:sys_enter_$s"); done
	for s in read recvfrom write writev sendto sendmsg; do
		sc_events+=(-e "syscalls:sys_exit_$s" --filter 'ret == -11')
	done
	sc_events+=(-e syscalls:sys_exit_epoll_wait --filter 'ret == 0')
	read -ra pin <<<"$PIN_LOAD"
	for name in $CONTENDERS; do
		start_contender "$name"
		check_contender "$name"
		for w in ka tcp; do
			read -ra args <<<"$(wrk_args "$w" "$name")"
			timeout 20 "${pin[@]}" wrk -t 1 -d 1s "${args[@]}" >/dev/null
			perf stat -x, -o "$T/perf-$name-$w.csv" "${sc_events[@]}" -p "${PID[$name]}" &
			perf_pid=$!
			sleep 0.5  # perf attaches
			read -r u0 s0 < <(cpu_ticks_split "${PID[$name]}")
			read -r v0 nv0 < <(ctx_switches "${PID[$name]}")
			out=$(timeout $((SECS + 30)) "${pin[@]}" wrk -t 1 -d "${SECS}s" --timeout 5s "${args[@]}" 2>&1) ||
				fail "wrk $w against $name failed: $out"
			read -r v1 nv1 < <(ctx_switches "${PID[$name]}")
			read -r u1 s1 < <(cpu_ticks_split "${PID[$name]}")
			kill -INT "$perf_pid"
			wait "$perf_pid" || true
			read -r n rps errs < <(printf '%s\n' "$out" | "$PY" "$here/wrk_totals.py") ||
				fail "cannot parse wrk output: $out"
			[ "$errs" = 0 ] && [ "$n" -gt 0 ] || fail "wrk $w against $name: $errs errors: $out"
			# perf -x, lines: count,unit,event,...; the sys_exit_* lines are the filtered ones
			awk -F, -v w="$w" -v c="$name" -v req="$n" '
				function out(what, v) { printf "%s\t%s\t%s\t%.3f\n", w, c, what, v / req }
				$3 == "raw_syscalls:sys_enter" { out("all syscalls", $1) }
				$3 ~ /^syscalls:sys_enter_/ && $1 > 0 { sub("syscalls:sys_enter_", "", $3); out($3, $1) }
				$3 == "syscalls:sys_exit_epoll_wait" { out("epoll_wait with no event", $1) }
				$3 ~ /^syscalls:sys_exit_(read|recvfrom|write|writev|sendto|sendmsg)$/ { sub("syscalls:sys_exit_", "", $3); out($3 " EAGAIN", $1) }
			' "$T/perf-$name-$w.csv" >>"$T/syscalls.tsv"
			awk -v w="$w" -v c="$name" -v req="$n" -v v=$((v1 - v0)) -v nv=$((nv1 - nv0)) 'BEGIN {
				printf "%s\t%s\tsleeps (voluntary context switches)\t%.3f\n", w, c, v / req
				printf "%s\t%s\tpreempted (involuntary context switches)\t%.3f\n", w, c, nv / req }' >>"$T/syscalls.tsv"
			awk -v w="$w" -v c="$name" -v req="$n" -v u=$((u1 - u0)) -v s=$((s1 - s0)) -v tck="$(getconf CLK_TCK)" \
				-v rps="$rps" 'BEGIN {
				printf "%s\t%s\tCPU us user\t%.1f\n", w, c, u * 1e6 / tck / req
				printf "%s\t%s\tCPU us system\t%.1f\n", w, c, s * 1e6 / tck / req
				printf "%s\t%s\treq/s\t%.0f\n", w, c, rps }' >>"$T/syscalls.tsv"
		done
		stop_contender "$name"
	done
	cp "$T/syscalls.tsv" "$RESULTS_DIR/syscalls.tsv"
	column -t -s "$(printf '\t')" "$T/syscalls.tsv"
fi

# ---- the Flask scenario ----
if want flask; then
	BENCH_OUT=$OUT BENCH_ROUNDS=$ROUNDS BENCH_DURATION=$FLASK_SECS "$here/flask_scenario.sh" "$bin"
fi

# ---- the Flask scenario with slow clients ----
if want slow; then
	BENCH_OUT=$OUT BENCH_ROUNDS=$ROUNDS BENCH_DURATION=$SLOW_SECS BENCH_RESULTS_DIR=$RESULTS_DIR \
		"$here/slow_clients.sh" "$bin"
fi

# ---- 50 routes against none, and against nginx with 50 locations ----
if want routes; then
	BENCH_OUT=$OUT BENCH_ROUNDS=$ROUNDS BENCH_DURATION=$SECS BENCH_CALLGRIND_REQUESTS=$CG_REQ \
		BENCH_PIN=$PIN BENCH_RESULTS_DIR=$RESULTS_DIR "$here/routes.sh" "$bin"
fi

# ---- the cacheable Flask scenario: fulcrum's cache, nginx proxy_cache, Varnish ----
if want cache; then
	BENCH_OUT=$OUT BENCH_ROUNDS=$ROUNDS BENCH_DURATION=$SECS BENCH_CALLGRIND_REQUESTS=$CG_REQ \
		BENCH_PIN=$PIN BENCH_RESULTS_DIR=$RESULTS_DIR "$here/cache.sh" "$bin"
fi

mkdir -p "$RESULTS_DIR"
cp "$OUT" "$RESULTS_DIR/latest.tsv"
cp "$T/wrk.txt" "$RESULTS_DIR/latest-wrk.txt" 2>/dev/null || true
"$PY" "$here/report.py" "$RESULTS_DIR/latest.tsv" "$RESULTS_DIR/latest.md" \
	"$( [ "${BENCH_DOCS:-$([ "${BENCH_QUICK:-0}" = 1 ] && echo 0 || echo 1)}" = 1 ] && echo "$here/../docs/benchmarks.md")" \
	--meta "rounds=$ROUNDS seconds=$SECS idle=$IDLE callgrind_requests=$CG_REQ flask_seconds=$FLASK_SECS slow_seconds=$SLOW_SECS pin=${PIN} proxy_cpu_capped=${PROXY_CPU}"
