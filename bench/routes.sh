#!/usr/bin/env bash
# routes.sh FULCRUM-BINARY: what 50 routes cost (issue 20). The keep-alive workload's
# backend (nginx, a 12-byte body, three ports; here on any path) behind:
#   fulcrum-none   an http listener with its pool and no routes
#   fulcrum        the same with 50 routes: hosts h0.test..h9.test x path prefixes
#                  /a0/../a4/ (host + path_prefix each), every one to the same pool;
#                  requests are Host: h9.test, /a4/x, which only the last route takes
#                  (the worst case of a linear scan)
#   fulcrum-first  the same process, requests Host: h0.test, /a0/x (the first route)
#   nginx          10 server blocks (server_name h0.test..h9.test) with 5 prefix
#                  `location` blocks each, proxying to the same upstream as the
#                  keep-alive workload's nginx; requests as for fulcrum
# Keep-alive requests/s with wrk (-t 1 -c 50) in interleaved rounds (each round starts
# with the next contender; BENCH_ROUNDS (3) of BENCH_DURATION seconds (8)), the proxy on
# CPU 0 and wrk and the backend on CPU 1 (BENCH_PIN=1, the default); then instructions
# per request under callgrind (BENCH_CALLGRIND_REQUESTS (10000) requests, h2load --h1
# -c 10 with the Host set through :authority, after a warm-up) of fulcrum-none, fulcrum, fulcrum-first and nginx (one
# process: master_process off, worker_processes 1). Prints the medians and the targets:
# fulcrum's req/s / fulcrum-none's >= 0.97 (per round too), fulcrum's instructions per
# request <= nginx's. With BENCH_OUT=FILE each sample is appended to FILE as bench/run.sh's
# ("routes NAME ROUND rps|cpu_us VALUE", "instr-routes NAME 1 instr_per_req VALUE",
# tab-separated; bench/report.py renders them). wrk outputs and fulcrum's callgrind
# profiles go to BENCH_RESULTS_DIR (bench/results): routes-wrk.txt,
# profile-routes-NAME.txt. About 3 minutes with the defaults.
# Everything listens on 127.0.0.1; only the processes started here are stopped.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
. "$here/bench_lib.sh"
bench_fulcrum_binary "$@"
ROUNDS=${BENCH_ROUNDS:-3}
DURATION=${BENCH_DURATION:-8}
CG_REQ=${BENCH_CALLGRIND_REQUESTS:-10000}
PIN=${BENCH_PIN:-1}
RESULTS_DIR=${BENCH_RESULTS_DIR:-$here/results}
bench_peer_tools
[ -n "$NGINX" ] || { echo "bench: nginx is not installed" >&2; exit 1; }
for tool in h2load valgrind callgrind_control callgrind_annotate; do
	command -v "$tool" >/dev/null || { echo "bench: $tool is not installed (make bench installs it)" >&2; exit 1; }
done

. "$here/../tests/e2e/lib/lib.sh"

if [ "$PIN" = 1 ] && [ "$(nproc)" -ge 2 ]; then
	PIN_PROXY=(taskset -c 0) PIN_LOAD=(taskset -c 1)
else
	PIN_PROXY=() PIN_LOAD=()
fi

ports B1 B2 B3 P_NONE P_50 P_NGX
mkdir -p "$T/nginx-backend" "$T/nginx" "$RESULTS_DIR"
cat >"$T/backend.conf" <<EOF
worker_processes 1;
master_process off;
daemon off;
pid $T/nginx-backend/pid;
error_log $T/nginx-backend/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $T/nginx-backend;
  keepalive_requests 100000000;
  keepalive_timeout 600s;
  server {
    listen 127.0.0.1:$B1; listen 127.0.0.1:$B2; listen 127.0.0.1:$B3;
    location / { default_type text/plain; return 200 "hello world\n"; }
  }
}
EOF
bg nginx-backend QUIT "${PIN_LOAD[@]}" "$NGINX" -e "$T/nginx-backend/error.log" -c "$T/backend.conf"
BACKEND_PID=$LAST_PID
for p in $B1 $B2 $B3; do wait_listen "$p" "$LAST_PID"; done

# fulcrum_cfg FILE PORT ROUTES(0|1)
fulcrum_cfg() {
	local i j
	{
		echo "workers = 1;"
		echo "state_dir = \"$T/state-$2\";"
		echo 'log = { level = "warn"; access = "off"; };'
		echo "listeners = ( { name = \"http\"; bind = \"127.0.0.1:$2\"; mode = \"http\"; pool = \"web\";"
		echo "  idle_timeout_ms = 600000; max_connections = 30000; max_conns_per_client = 0;"
		if [ "$3" = 1 ]; then
			echo "  routes = ("
			for i in 0 1 2 3 4 5 6 7 8 9; do
				for j in 0 1 2 3 4; do
					printf '    { name = "h%sa%s"; host = "h%s.test"; path_prefix = "/a%s/"; pool = "web"; }%s\n' \
						"$i" "$j" "$i" "$j" "$([ "$i$j" = 94 ] || echo ,)"
				done
			done
			echo "  );"
		fi
		echo "} );"
		echo "pools = ( { name = \"web\"; balance = \"wlc\"; health = { type = \"none\"; };"
		echo "  backends = ( { name = \"b1\"; address = \"127.0.0.1:$B1\"; },"
		echo "               { name = \"b2\"; address = \"127.0.0.1:$B2\"; },"
		echo "               { name = \"b3\"; address = \"127.0.0.1:$B3\"; } ); } );"
	} >"$1"
}
fulcrum_cfg "$T/none.cfg" "$P_NONE" 0
fulcrum_cfg "$T/routes.cfg" "$P_50" 1

# nginx as run.sh's keep-alive contender, its one `location /` made 50 by server_name.
{
	cat <<EOF
worker_processes 1;
master_process off;
daemon off;
pid $T/nginx/pid;
error_log $T/nginx/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $T/nginx/body;
  proxy_temp_path $T/nginx/proxy;
  keepalive_requests 100000000;
  keepalive_timeout 600s;
  upstream web { least_conn; server 127.0.0.1:$B1; server 127.0.0.1:$B2; server 127.0.0.1:$B3; keepalive 256; }
EOF
	for i in 0 1 2 3 4 5 6 7 8 9; do
		echo "  server {"
		echo "    listen 127.0.0.1:$P_NGX;"
		echo "    server_name h$i.test;"
		for j in 0 1 2 3 4; do
			echo "    location /a$j/ { proxy_pass http://web; proxy_http_version 1.1;" \
				"proxy_set_header Connection \"\"; proxy_max_temp_file_size 0; }"
		done
		echo "  }"
	done
	echo "}"
} >"$T/nginx.conf"

declare -A PID
# start NAME [WRAPPER...]: fulcrum-none, fulcrum (also serves fulcrum-first) or nginx,
# pinned to the proxy CPU, or under WRAPPER (valgrind) when given.
start() {
	local name=$1 secs=20
	shift
	local -a wrap=("$@")
	if [ ${#wrap[@]} -gt 0 ]; then secs=120; else wrap=("${PIN_PROXY[@]}"); fi
	case $name in
	fulcrum-none) bg "$name" TERM "${wrap[@]}" "$bin" -c "$T/none.cfg" ;;
	fulcrum) bg "$name" TERM "${wrap[@]}" "$bin" -c "$T/routes.cfg" ;;
	nginx) bg "$name" QUIT "${wrap[@]}" "$NGINX" -e "$T/nginx/error.log" -c "$T/nginx.conf" ;;
	esac
	PID[$name]=$LAST_PID
	wait_listen "$(port_of "$name")" "$LAST_PID" "$secs"
}
stop() {
	stop_pid "${PID[$1]}" "$([ "$1" = nginx ] && echo QUIT || echo TERM)" 30 || true
	wait_unlisten "$(port_of "$1")" 10 || true
}
port_of() { case $1 in fulcrum-none) echo "$P_NONE" ;; fulcrum | fulcrum-first) echo "$P_50" ;; nginx) echo "$P_NGX" ;; esac; }
# host and path each contender's requests carry
host_of() { case $1 in fulcrum-first) echo h0.test ;; *) echo h9.test ;; esac; }
path_of() { case $1 in fulcrum-first) echo /a0/x ;; *) echo /a4/x ;; esac; }
pid_of() { case $1 in fulcrum-first) echo "${PID[fulcrum]}" ;; *) echo "${PID[$1]}" ;; esac; }

: >"$T/samples.tsv"
record() {
	printf '%s\t%s\t%s\t%s\t%s\n' "$@" >>"$T/samples.tsv"
	[ -z "${BENCH_OUT:-}" ] || printf '%s\t%s\t%s\t%s\t%s\n' "$@" >>"$BENCH_OUT"
}
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

NAMES="fulcrum-none fulcrum fulcrum-first nginx"
start fulcrum-none
start fulcrum
start nginx
for name in $NAMES; do
	code=$(http_status "http://127.0.0.1:$(port_of "$name")$(path_of "$name")" -H "Host: $(host_of "$name")")
	[ "$code" = 200 ] || fail "$name answers $(path_of "$name") with status $code"
	timeout 20 wrk -t 1 -c 20 -d 1s -H "Host: $(host_of "$name")" \
		"http://127.0.0.1:$(port_of "$name")$(path_of "$name")" >/dev/null
done

echo "bench routes: $ROUNDS rounds of ${DURATION}s, wrk -t 1 -c 50 keep-alive; load average $(cut -d' ' -f1-3 /proc/loadavg)"
: >"$RESULTS_DIR/routes-wrk.txt"
# rotated ROUND: the contenders starting from the ROUND-th (as run.sh's rotated)
rotated() {
	local -a n=($NAMES)
	local i
	for ((i = 0; i < ${#n[@]}; i++)); do echo "${n[$((($1 - 1 + i) % ${#n[@]}))]}"; done
}
for r in $(seq 1 "$ROUNDS"); do
	for name in $(rotated "$r"); do
		t0=$(cpu_ticks "$(pid_of "$name")")
		out=$(timeout $((DURATION + 30)) "${PIN_LOAD[@]}" wrk -t 1 -c 50 -d "${DURATION}s" --timeout 5s \
			-H "Host: $(host_of "$name")" "http://127.0.0.1:$(port_of "$name")$(path_of "$name")" 2>&1) ||
			fail "wrk against $name failed: $out"
		t1=$(cpu_ticks "$(pid_of "$name")")
		printf '== %s round %s\n%s\n' "$name" "$r" "$out" >>"$RESULTS_DIR/routes-wrk.txt"
		read -r n rps errs < <(printf '%s\n' "$out" | "$PY" "$here/wrk_totals.py") || fail "cannot parse wrk output: $out"
		[ "$errs" = 0 ] || fail "wrk against $name: $errs errors: $out"
		cpu=$(((t1 - t0) * 1000000 / $(getconf CLK_TCK) / n))
		record routes "$name" "$r" rps "$rps"
		record routes "$name" "$r" cpu_us "$cpu"
		printf '  round %s %-14s %10s req/s  %s us CPU/req\n' "$r" "$name" "$rps" "$cpu"
		sleep 0.5
	done
done
for name in fulcrum-none fulcrum nginx; do stop "$name"; done

echo "bench routes: instructions per request under callgrind ($CG_REQ requests, h2load --h1 -c 10)"
mkdir -p "$T/cg"
for name in fulcrum-none fulcrum nginx; do
	start "$name" valgrind --tool=callgrind --callgrind-out-file="$T/cg/$name.out" --dump-instr=no --collect-jumps=no
	variants=$name
	[ "$name" = fulcrum ] && variants="fulcrum fulcrum-first"
	for v in $variants; do
		url=http://127.0.0.1:$(port_of "$v")$(path_of "$v")
		timeout 300 h2load --h1 -n 200 -c 10 -H ":authority: $(host_of "$v")" "$url" >/dev/null 2>&1 ||
			fail "h2load warm-up against $v"
		callgrind_control -z "${PID[$name]}" >/dev/null 2>&1
		out=$(timeout 600 h2load --h1 -n "$CG_REQ" -c 10 -H ":authority: $(host_of "$v")" "$url" 2>&1) ||
			fail "h2load against $v: $out"
		ok=$(printf '%s\n' "$out" | awk '/^status codes:/ {print $3}')
		[ "$ok" = "$CG_REQ" ] || fail "h2load against $v: $ok of $CG_REQ got 2xx: $out"
		callgrind_control -d "$v" "${PID[$name]}" >/dev/null 2>&1
		dump=$(ls -t "$T/cg/$name.out".* | head -1)
		total=$(awk '/^(summary|totals):/ {print $2; exit}' "$dump")
		record instr-routes "$v" 1 instr_per_req "$((total / CG_REQ))"
		printf '  %-14s %s instructions per request\n' "$v" "$((total / CG_REQ))"
		if [ "$name" != nginx ]; then
			callgrind_annotate --auto=no --threshold=100 "$dump" 2>/dev/null | sed -n 1,60p \
				>"$RESULTS_DIR/profile-routes-$v.txt" || true
		fi
	done
	stop "$name"
done

"$PY" - "$T/samples.tsv" <<'EOF'
import statistics, sys
s, byr = {}, {}
for line in open(sys.argv[1]):
    w, c, r, m, v = line.rstrip("\n").split("\t")
    s.setdefault((w, c, m), []).append(float(v))
    byr.setdefault((w, c, m), {})[r] = float(v)
med = lambda w, c, m: statistics.median(s[(w, c, m)]) if (w, c, m) in s else None
print("bench routes: medians")
for c in ["fulcrum-none", "fulcrum", "fulcrum-first", "nginx"]:
    print("  %-14s %10.0f req/s  %5.1f us CPU/req  %8.0f instructions/req" % (
        c, med("routes", c, "rps") or 0, med("routes", c, "cpu_us") or 0,
        med("instr-routes", c, "instr_per_req") or 0))
f, base = med("routes", "fulcrum", "rps"), med("routes", "fulcrum-none", "rps")
rr = ["%.3f" % (byr[("routes", "fulcrum", "rps")][r] / byr[("routes", "fulcrum-none", "rps")][r])
      for r in sorted(byr[("routes", "fulcrum", "rps")])]
print("  req/s, 50 routes (last) / none: %.3f (target >= 0.97: %s); per round %s" % (
    f / base, "pass" if f / base >= 0.97 else "FAIL", " ".join(rr)))
fi, ni = med("instr-routes", "fulcrum", "instr_per_req"), med("instr-routes", "nginx", "instr_per_req")
print("  instructions/req, fulcrum 50 routes (last) / nginx 50 locations: %.3f (target <= 1.00: %s)" % (
    fi / ni, "pass" if fi <= ni else "FAIL"))
EOF
