#!/usr/bin/env bash
# cache.sh FULCRUM-BINARY: the cacheable Flask scenario (issue 19). A Flask app under
# gunicorn (bench/cache_app.py: BENCH_CACHE_WORKERS (4) sync workers, ~6 ms of work per
# request) answers /item/0../item/999 with Cache-Control: max-age=1,
# stale-while-revalidate=10 and counts what it serves. In front of it in turn, each one
# worker / process:
#   fulcrum   workers = 1, the pool's cache = { ... } (memory_bytes 64 MiB)
#   nginx     proxy_cache (proxy_cache_lock on, proxy_cache_use_stale updating,
#             proxy_cache_background_update on), worker_processes 1, master_process off
#   varnish   Varnish (Debian's varnishd) with a VCL that only names the backend (the
#             built-in logic: max-age and stale-while-revalidate as TTL and grace, a
#             background fetch in grace), -s malloc, thread_pools=1, in the foreground
#             (-F) with its own -n directory, stopped by pid
# 200 clients (wrk -t 1 -c 200 --latency, bench/cache_zipf.lua) ask for /item/k with
# Zipf popularity (s = BENCH_CACHE_ZIPF_S, 1.0) in interleaved rounds (BENCH_ROUNDS (3)
# of BENCH_DURATION seconds (8), each round starting with the next contender); the proxy
# on CPU 0, wrk and gunicorn on CPU 1 (BENCH_PIN=1). Each run follows BENCH_CACHE_WARMUP
# (3) seconds of the same load, unmeasured (steady state, not a cold start). Per run:
# req/s, p99 latency, the proxy's CPU us per request and the backend's requests/s (the
# app's counter). BENCH_CACHE_WORK_MS (6): the app's work per request.
# Then the hit path: /hot/k (max-age=3600) with every URL warm, the same load in rounds:
# req/s and CPU us per request with no backend traffic; and instructions per request
# under callgrind (BENCH_CALLGRIND_REQUESTS (10000), h2load --h1 -c 10 over 10,000 URLs
# drawn from the same Zipf law) for fulcrum and nginx (Varnish's thread pool under
# valgrind is impractical: not measured).
# Prints the medians and the targets: fulcrum's req/s >= the best peer's, p99 <= the best
# peer's, hit-path CPU per request (and instructions) <= nginx's, backend requests/s <=
# Varnish's. With BENCH_OUT=FILE each sample is appended to FILE as bench/run.sh's
# ("cache|cache-hit NAME ROUND METRIC VALUE", "instr-cache-hit NAME 1 instr_per_req
# VALUE", tab-separated). wrk outputs and the summary go to BENCH_RESULTS_DIR
# (bench/results): cache-wrk.txt, cache.txt, fulcrum's profile profile-cache-hit.txt.
# About 5 minutes with the defaults. Loopback only; only the processes started here stop.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
. "$here/bench_lib.sh"
bench_fulcrum_binary "$@"
ROUNDS=${BENCH_ROUNDS:-3}
DURATION=${BENCH_DURATION:-8}
WARMUP=${BENCH_CACHE_WARMUP:-3}
CG_REQ=${BENCH_CALLGRIND_REQUESTS:-10000}
PIN=${BENCH_PIN:-1}
RESULTS_DIR=${BENCH_RESULTS_DIR:-$here/results}
APP_WORKERS=${BENCH_CACHE_WORKERS:-4}
ZIPF_S=${BENCH_CACHE_ZIPF_S:-1.0}
CONNS=200
NAMES="fulcrum nginx varnish"
bench_peer_tools
[ -n "$NGINX" ] || { echo "bench: nginx is not installed" >&2; exit 1; }
VARNISHD=$(command -v varnishd || echo /usr/sbin/varnishd)
[ -x "$VARNISHD" ] || { echo "bench: varnishd is not installed (apt-get install varnish)" >&2; exit 1; }
for tool in h2load valgrind callgrind_control callgrind_annotate taskset; do
	command -v "$tool" >/dev/null || { echo "bench: $tool is not installed (make bench installs it)" >&2; exit 1; }
done
# 200 client connections plus the backend's on one process each
ulimit -n "$(ulimit -Hn)"

. "$here/../tests/e2e/lib/lib.sh"

if [ "$PIN" = 1 ] && [ "$(nproc)" -ge 2 ]; then
	PIN_PROXY=(taskset -c 0) PIN_LOAD=(taskset -c 1)
else
	PIN_PROXY=() PIN_LOAD=()
fi

ports P_APP P_FUL P_NGX P_VAR P_CTL
mkdir -p "$RESULTS_DIR" "$T/nginx/cache" "$T/varnish" "$T/state"

# ---- the app ----
bg app INT "${PIN_LOAD[@]}" "$GUNICORN" -w "$APP_WORKERS" -k sync --preload --backlog 2048 \
	-b "127.0.0.1:$P_APP" --chdir "$here" --graceful-timeout 2 --error-logfile - cache_app:app
wait_listen "$P_APP" "$LAST_PID" 20
wait_http "http://127.0.0.1:$P_APP/healthz" 20
backend_count() { hcurl "http://127.0.0.1:$P_APP/count"; }

# ---- the contenders ----
cat >"$T/fulcrum.cfg" <<EOF
workers = 1;
state_dir = "$T/state";
log = { level = "warn"; access = "off"; };
control = { listen = "127.0.0.1:$P_CTL"; metrics_public = true; };
listeners = ( { name = "web"; bind = "127.0.0.1:$P_FUL"; mode = "http"; pool = "app";
                idle_timeout_ms = 600000; max_connections = 30000; max_conns_per_client = 0; } );
pools = ( { name = "app"; balance = "wlc"; health = { type = "none"; };
            cache = { memory_bytes = 67108864; x_cache_header = "X-Cache"; };
            backends = ( { name = "app"; address = "127.0.0.1:$P_APP"; } ); } );
EOF

cat >"$T/nginx.conf" <<EOF
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
  proxy_cache_path $T/nginx/cache levels=1:2 keys_zone=app:16m max_size=256m inactive=10m use_temp_path=off;
  upstream app { server 127.0.0.1:$P_APP; }
  server {
    listen 127.0.0.1:$P_NGX;
    location / {
      proxy_pass http://app;
      proxy_cache app;
      proxy_cache_lock on;
      proxy_cache_use_stale updating;
      proxy_cache_background_update on;
      add_header X-Cache \$upstream_cache_status;
    }
  }
}
EOF

cat >"$T/varnish.vcl" <<EOF
vcl 4.1;
# only the backend: the built-in VCL caches GET/HEAD without cookies or Authorization,
# takes the TTL from max-age and the grace from stale-while-revalidate, and serves an
# object in grace while one background fetch refreshes it
backend app { .host = "127.0.0.1"; .port = "$P_APP"; }
sub vcl_deliver {
  if (obj.hits > 0) { set resp.http.X-Cache = "HIT"; } else { set resp.http.X-Cache = "MISS"; }
}
EOF

declare -A PID
port_of() { case $1 in fulcrum) echo "$P_FUL" ;; nginx) echo "$P_NGX" ;; varnish) echo "$P_VAR" ;; esac; }
sig_of() { case $1 in nginx) echo QUIT ;; *) echo TERM ;; esac; }
# start NAME [WRAPPER...]: pinned to the proxy CPU, or under WRAPPER (valgrind) when given
start() {
	local name=$1 secs=30
	shift
	local -a wrap=("$@")
	if [ ${#wrap[@]} -gt 0 ]; then secs=120; else wrap=("${PIN_PROXY[@]}"); fi
	case $name in
	fulcrum) bg fulcrum TERM "${wrap[@]}" "$bin" -c "$T/fulcrum.cfg" ;;
	nginx) bg nginx QUIT "${wrap[@]}" "$NGINX" -e "$T/nginx/error.log" -c "$T/nginx.conf" ;;
	varnish)
		# -j none: no privilege separation (the -n directory is this run's); one thread
		# pool with threads enough for the 200 connections and the background fetches
		bg varnish TERM "${wrap[@]}" "$VARNISHD" -F -j none -n "$T/varnish" -a "127.0.0.1:$P_VAR" \
			-f "$T/varnish.vcl" -s malloc,256m -T 127.0.0.1:0 -p thread_pools=1 \
			-p thread_pool_min=300 -p thread_pool_max=1000 ;;
	esac
	PID[$name]=$LAST_PID
	wait_listen "$(port_of "$name")" "$LAST_PID" "$secs"
}
stop() {
	stop_pid "${PID[$1]}" "$(sig_of "$1")" 30 || true
	wait_unlisten "$(port_of "$1")" 10 || true
}

# to_ms VALUE: wrk's latency (850.00us, 3.21ms, 1.02s, 1.10m) in milliseconds
to_ms() {
	awk -v v="$1" 'BEGIN {
		n = v + 0; u = v; sub(/^[0-9.]+/, "", u)
		printf "%.2f", u == "us" ? n / 1000 : u == "ms" ? n : u == "s" ? n * 1000 : n * 60000 }'
}

: >"$T/samples.tsv"
record() {
	printf '%s\t%s\t%s\t%s\t%s\n' "$@" >>"$T/samples.tsv"
	[ -z "${BENCH_OUT:-}" ] || printf '%s\t%s\t%s\t%s\t%s\n' "$@" >>"$BENCH_OUT"
}
: >"$RESULTS_DIR/cache-wrk.txt"

# counters NAME: what the cache did so far, as "name=count ..." (fulcrum's fulcrum_cache_*
# metrics, Varnish's varnishstat counters; nginx keeps none)
counters() {
	case $1 in
	fulcrum)
		hcurl "http://127.0.0.1:$P_CTL/metrics" | awk '/^fulcrum_cache_[a-z_]*_total\{/ {
			n = $1; sub(/^fulcrum_cache_/, "", n); sub(/_total\{.*/, "", n); printf "%s=%s ", n, $2 }' ;;
	varnish)
		varnishstat -n "$T/varnish" -1 -f MAIN.cache_hit -f MAIN.cache_hit_grace -f MAIN.cache_miss \
			-f MAIN.busy_sleep -f MAIN.backend_req -f MAIN.bgfetch 2>/dev/null |
			awk '{n = $1; sub(/^MAIN\./, "", n); printf "%s=%s ", n, $2}' ;;
	esac
}
# counters_delta BEFORE AFTER: "name=after-before ..."
counters_delta() {
	awk -v a="$1" -v b="$2" 'BEGIN {
		n = split(a, x, " "); for (i = 1; i <= n; i++) { split(x[i], kv, "="); v[kv[1]] = kv[2] }
		n = split(b, x, " "); for (i = 1; i <= n; i++) { split(x[i], kv, "="); printf "%s=%d ", kv[1], kv[2] - v[kv[1]] } }'
}

# run WORKLOAD NAME ROUND PREFIX: one wrk run against NAME over PREFIX0..PREFIX999;
# records req/s, p99 ms, errors, the proxy's CPU us per request and the backend's req/s
run() {
	local w=$1 name=$2 r=$3 prefix=$4 t0 t1 b0 b1 out n rps errs p99 cpu brps
	# the same load unmeasured first: between its runs a contender sits idle while the
	# others run, long enough for every entry to pass its stale-while-revalidate window,
	# so without this each run would begin with 1,000 true misses queued at the app
	# (the hit path's /hot/ entries stay fresh: no need there)
	if [ "$w" = cache ] && [ "$WARMUP" -gt 0 ]; then
		timeout $((WARMUP + 30)) "${PIN_LOAD[@]}" wrk -t 1 -c "$CONNS" -d "${WARMUP}s" --timeout 10s \
			-s "$here/cache_zipf.lua" "http://127.0.0.1:$(port_of "$name")" -- "$prefix" 1000 "$ZIPF_S" \
			>/dev/null 2>&1 || fail "warm-up wrk against $name failed"
	fi
	c0=$(counters "$name")
	b0=$(backend_count)
	t0=$(cpu_ticks "${PID[$name]}")
	out=$(timeout $((DURATION + 30)) "${PIN_LOAD[@]}" wrk -t 1 -c "$CONNS" -d "${DURATION}s" --timeout 10s \
		--latency -s "$here/cache_zipf.lua" "http://127.0.0.1:$(port_of "$name")" -- "$prefix" 1000 "$ZIPF_S" 2>&1) ||
		fail "wrk against $name failed: $out"
	t1=$(cpu_ticks "${PID[$name]}")
	b1=$(backend_count)
	c1=$(counters "$name")
	printf '== %s %s round %s\n%s\ncache: %s\n' "$w" "$name" "$r" "$out" "$(counters_delta "$c0" "$c1")" \
		>>"$RESULTS_DIR/cache-wrk.txt"
	read -r n rps errs < <(printf '%s\n' "$out" | "$PY" "$here/wrk_totals.py") || fail "cannot parse wrk output: $out"
	p99=$(to_ms "$(printf '%s\n' "$out" | awk '$1 == "99%" {print $2}')")
	cpu=$(((t1 - t0) * 1000000 / $(getconf CLK_TCK) / (n > 0 ? n : 1)))
	brps=$(awk -v d=$((b1 - b0)) -v s="$DURATION" 'BEGIN {printf "%.1f", d / s}')
	record "$w" "$name" "$r" rps "$rps"
	record "$w" "$name" "$r" p99_ms "$p99"
	record "$w" "$name" "$r" errors "$errs"
	record "$w" "$name" "$r" cpu_us "$cpu"
	record "$w" "$name" "$r" backend_rps "$brps"
	printf '  round %s %-9s %-8s %9s req/s  p99 %8s ms  %3s us CPU/req  backend %7s req/s  %s errors\n' \
		"$r" "$w" "$name" "$rps" "$p99" "$cpu" "$brps" "$errs"
	[ -z "$c1" ] || echo "        $name's cache: $(counters_delta "$c0" "$c1")"
}

# rotated ROUND: the contenders starting from the ROUND-th (as run.sh's rotated)
rotated() {
	local -a n=($NAMES)
	local i
	for ((i = 0; i < ${#n[@]}; i++)); do echo "${n[$((($1 - 1 + i) % ${#n[@]}))]}"; done
}

# URL lists for h2load -i (the first line's scheme, host and port are the ones used):
# every URL once (warming), and 10,000 drawn with the Zipf law of the wrk runs
"$PY" - "$T" "$ZIPF_S" <<'EOF'
import random, sys
t, s = sys.argv[1], float(sys.argv[2])
with open(t + "/all.txt", "w") as f:
    f.write("".join("/hot/%d\n" % k for k in range(1000)))
rnd = random.Random(19)
draw = rnd.choices(range(1000), weights=[1 / (k + 1) ** s for k in range(1000)], k=10000)
with open(t + "/zipf.txt", "w") as f:
    f.write("".join("/hot/%d\n" % k for k in draw))
EOF
# urls NAME LIST: LIST with NAME's address in front of the first line
urls() { sed "1s|^|http://127.0.0.1:$(port_of "$1")|" "$T/$2.txt" >"$T/$2-$1.txt"; echo "$T/$2-$1.txt"; }
# warm NAME: every /hot/ URL asked once, one at a time (the misses fill the cache)
warm() {
	local out
	out=$(timeout 600 h2load --h1 -c 1 -n 1000 -i "$(urls "$1" all)" 2>&1) || fail "warming $1: $out"
}

for name in $NAMES; do
	start "$name"
	b0=$(backend_count)
	code=$(http_status "http://127.0.0.1:$(port_of "$name")/item/0")
	[ "$code" = 200 ] || fail "$name answers /item/0 with status $code"
	hcurl -D "$T/h-$name" -o /dev/null "http://127.0.0.1:$(port_of "$name")/item/0"
	b1=$(backend_count)
	[ $((b1 - b0)) = 1 ] || fail "$name: two requests for /item/0 reached the app $((b1 - b0)) times (not cached): $(cat "$T/h-$name")"
done

echo "bench cache: $ROUNDS rounds of ${DURATION}s, wrk -t 1 -c $CONNS, Zipf s=$ZIPF_S over /item/0..999" \
	"(max-age=1, stale-while-revalidate=10), gunicorn $APP_WORKERS sync workers; load average $(cut -d' ' -f1-3 /proc/loadavg)"
# the app alone (every request reaches it): how many requests/s it can take at most
out=$(timeout $((DURATION + 30)) "${PIN_LOAD[@]}" wrk -t 1 -c 16 -d "${DURATION}s" --timeout 10s \
	-s "$here/cache_zipf.lua" "http://127.0.0.1:$P_APP" -- /item/ 1000 "$ZIPF_S" 2>&1) || fail "wrk against the app: $out"
read -r n rps errs < <(printf '%s\n' "$out" | "$PY" "$here/wrk_totals.py") || fail "cannot parse wrk output: $out"
record cache-app app 1 rps "$rps"
echo "  the app alone (wrk -c 16, no proxy): $rps req/s, $errs errors"
for name in $NAMES; do
	timeout 30 "${PIN_LOAD[@]}" wrk -t 1 -c "$CONNS" -d 2s -s "$here/cache_zipf.lua" \
		"http://127.0.0.1:$(port_of "$name")" -- /item/ 1000 "$ZIPF_S" >/dev/null
done
for r in $(seq 1 "$ROUNDS"); do
	for name in $(rotated "$r"); do run cache "$name" "$r" /item/; sleep 1; done
done

echo "bench cache: the hit path: /hot/0..999 (max-age=3600) all warm, the same load"
for name in $NAMES; do warm "$name"; done
for r in $(seq 1 "$ROUNDS"); do
	for name in $(rotated "$r"); do run cache-hit "$name" "$r" /hot/; sleep 0.5; done
done
for name in $NAMES; do stop "$name"; done

echo "bench cache: hit-path instructions per request under callgrind ($CG_REQ requests, h2load --h1 -c 10, Zipf)"
mkdir -p "$T/cg"
for name in fulcrum nginx; do
	start "$name" valgrind --tool=callgrind --callgrind-out-file="$T/cg/$name.out" --dump-instr=no --collect-jumps=no
	warm "$name"
	timeout 300 h2load --h1 -n 200 -c 10 -i "$(urls "$name" zipf)" >/dev/null 2>&1 || fail "h2load warm-up against $name"
	b0=$(backend_count)
	callgrind_control -z "${PID[$name]}" >/dev/null 2>&1
	out=$(timeout 600 h2load --h1 -n "$CG_REQ" -c 10 -i "$(urls "$name" zipf)" 2>&1) || fail "h2load against $name: $out"
	ok=$(printf '%s\n' "$out" | awk '/^status codes:/ {print $3}')
	[ "$ok" = "$CG_REQ" ] || fail "h2load against $name: $ok of $CG_REQ got 2xx: $out"
	callgrind_control -d hit "${PID[$name]}" >/dev/null 2>&1
	b1=$(backend_count)
	dump=$(ls -t "$T/cg/$name.out".* | head -1)
	total=$(awk '/^(summary|totals):/ {print $2; exit}' "$dump")
	record instr-cache-hit "$name" 1 instr_per_req "$((total / CG_REQ))"
	printf '  %-8s %s instructions per request (%s requests reached the app)\n' "$name" "$((total / CG_REQ))" $((b1 - b0))
	if [ "$name" = fulcrum ]; then
		callgrind_annotate --auto=no --threshold=100 "$dump" 2>/dev/null | sed -n 1,60p \
			>"$RESULTS_DIR/profile-cache-hit.txt" || true
	fi
	stop "$name"
done

"$PY" - "$T/samples.tsv" <<'EOF' | tee "$RESULTS_DIR/cache.txt"
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
names = ["fulcrum", "nginx", "varnish"]
print("bench cache: medians over rounds")
print("  %-8s %10s %9s %10s %12s %7s | %12s %10s %14s" % (
    "proxy", "req/s", "p99 ms", "CPU us/req", "backend r/s", "errors",
    "hit req/s", "hit us/req", "hit instr/req"))
for c in names:
    print("  %-8s %10s %9s %10s %12s %7s | %12s %10s %14s" % (
        c, f(med("cache", c, "rps")), f(med("cache", c, "p99_ms"), 2), f(med("cache", c, "cpu_us")),
        f(med("cache", c, "backend_rps"), 1), f(sum(s.get(("cache", c, "errors"), [0]))),
        f(med("cache-hit", c, "rps")), f(med("cache-hit", c, "cpu_us")),
        f(med("instr-cache-hit", c, "instr_per_req"))))
def per_round(w, m, peers, higher):
    out = []
    for r in sorted(byr.get((w, "fulcrum", m), {})):
        vals = [byr.get((w, p, m), {}).get(r) for p in peers]
        vals = [v for v in vals if v]
        if vals:
            out.append("%.2f" % (byr[(w, "fulcrum", m)][r] / (max(vals) if higher else min(vals))))
    return " ".join(out)
def target(label, w, m, peers, higher, needed=1.0):
    mine = med(w, "fulcrum", m)
    vals = [(med(w, p, m), p) for p in peers if med(w, p, m)]
    if mine is None or not vals:
        print("  %s: not measured" % label)
        return
    v, p = max(vals) if higher else min(vals)
    ratio = mine / v
    ok = ratio >= needed if higher else ratio <= needed
    print("  %s: fulcrum %s, %s %s: %.3f (target %s %.2f: %s); per round %s" % (
        label, f(mine, 2 if m == "p99_ms" else 0), p, f(v, 2 if m == "p99_ms" else 0), ratio,
        ">=" if higher else "<=", needed, "pass" if ok else "FAIL", per_round(w, m, peers, higher) or "-"))
if med("cache-app", "app", "rps"):
    print("  (the app alone, every request reaching it: %s req/s)" % f(med("cache-app", "app", "rps")))
print("bench cache: targets (ratios of the medians)")
target("req/s >= best peer", "cache", "rps", ["nginx", "varnish"], True)
target("p99 <= best peer", "cache", "p99_ms", ["nginx", "varnish"], False)
target("hit-path CPU us/req <= nginx", "cache-hit", "cpu_us", ["nginx"], False)
target("hit-path instructions/req <= nginx", "instr-cache-hit", "instr_per_req", ["nginx"], False)
target("backend req/s <= Varnish", "cache", "backend_rps", ["varnish"], False)
EOF
