#!/usr/bin/env bash
# soak.sh: the memory soak of `make soak` (not part of make test). Two phases:
#  1. RSS: the release build of fulcrum in front of nginx (4 ports, "200 ok", fast
#     enough that a million requests take minutes, not hours) takes SOAK_REQUESTS
#     requests (default 1,000,000; bounded by SOAK_MAX_S seconds, default 900) from wrk
#     in 10 s rounds, while a config reload (SIGHUP, weights changed) comes every 3 s and
#     the control API adds and removes a backend every 2 s. fulcrum's RSS is sampled
#     after the warm-up (the first 2 rounds) and at the end: the final value must be
#     within 5% of the warm-up one. No response may be other than 200.
#  2. Leaks: the ASan/LSan build (build/san) runs the same mix for SOAK_SAN_S seconds
#     (default 30), gets SIGTERM, and must exit 0 with no sanitizer report. Leaks come
#     from operations, not volume, so a short run of every operation finds them; the RSS
#     phase needs the release build since ASan's quarantine and shadow memory make RSS
#     meaningless (and valgrind is too slow for this traffic).
# Env: FULCRUM, FULCRUM_SAN (the sanitized binary), SOAK_* as above, SOAK_CONNS (32).
# Prints one "soak: ..." line with the numbers; exit 0 pass, 1 fail, 77 skip.
. "$(dirname "$0")/../e2e/lib/lib.sh"
need_fulcrum
FULCRUMCTL=${FULCRUMCTL:-$(dirname "$FULCRUM")/fulcrumctl}
. "$E2E_DIR/ctl_lib.sh"
command -v wrk >/dev/null || skip "wrk is not installed (apt-get install wrk)"
command -v nginx >/dev/null || skip "nginx is not installed (apt-get install nginx)"

REQUESTS=${SOAK_REQUESTS:-1000000}
MAX_S=${SOAK_MAX_S:-900}
SAN_S=${SOAK_SAN_S:-30}
CONNS=${SOAK_CONNS:-32}
FULCRUM_SAN=${FULCRUM_SAN:-$REPO_DIR/build/san/fulcrum}

ports P_WEB P_CTL N1 N2 N3 N4 N5
mkdir -p "$T/ngx"
cat >"$T/nginx.conf" <<EOF
daemon off;
worker_processes 1;
pid $T/nginx.pid;
error_log $T/nginx.log warn;
events { worker_connections 2048; }
http {
  access_log off;
  client_body_temp_path $T/ngx/body; proxy_temp_path $T/ngx/proxy;
  fastcgi_temp_path $T/ngx/fcgi; uwsgi_temp_path $T/ngx/uwsgi; scgi_temp_path $T/ngx/scgi;
  keepalive_requests 100000;
  server {
    listen 127.0.0.1:$N1; listen 127.0.0.1:$N2; listen 127.0.0.1:$N3; listen 127.0.0.1:$N4;
    listen 127.0.0.1:$N5;
    location / { return 200 "ok\n"; }
  }
}
EOF
bg nginx QUIT nginx -c "$T/nginx.conf" -p "$T/ngx"
for p in $N1 $N2 $N3 $N4 $N5; do wait_listen "$p" "$LAST_PID"; done

cfg=$T/fulcrum.cfg
# write_cfg ROUND: the file, with weights that change from one reload to the next.
write_cfg() {
	local r=$1
	{
		cfg_common
		cfg_control "$P_CTL"
		cat <<CFG
listeners = ( { name = "web"; bind = "127.0.0.1:$P_WEB"; mode = "http"; pool = "soak"; } );
pools = ( { name = "soak"; health = { type = "http"; path = "/healthz"; interval_ms = 1000; };
            connect_timeout_ms = 1000; response_timeout_ms = 5000; queue_timeout_ms = 5000; retries = 2;
            drain_timeout_s = 2;
            backends = ( { name = "n1"; address = "127.0.0.1:$N1"; weight = $((r % 3 + 1)); },
                         { name = "n2"; address = "127.0.0.1:$N2"; weight = $(((r + 1) % 3 + 1)); },
                         { name = "n3"; address = "127.0.0.1:$N3"; weight = 2; },
                         { name = "n4"; address = "127.0.0.1:$N4"; weight = $((r % 2 + 1)); } ); } );
CFG
	} >"$cfg.new"
	mv -f "$cfg.new" "$cfg"
}

rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }

# churn PID SECONDS: for SECONDS, a reload every 3 s and a backend added or removed
# through the control API every 2 s (ROUND and EXTRA carry on between calls).
ROUND=0
EXTRA=0
churn() {
	local pid=$1 end=$((SECONDS + $2)) tick=0 st
	while [ $SECONDS -lt $end ]; do
		sleep 1
		tick=$((tick + 1))
		if [ $((tick % 3)) -eq 0 ]; then
			ROUND=$((ROUND + 1))
			write_cfg $ROUND
			kill -HUP "$pid"
		fi
		if [ $((tick % 2)) -eq 0 ]; then
			if [ $EXTRA -eq 0 ]; then
				st=$(api PUT /v1/pools/soak/backends/extra -d "{\"address\": \"127.0.0.1:$N5\", \"weight\": 2}")
				EXTRA=1
			else
				st=$(api DELETE "/v1/pools/soak/backends/extra?timeout=2")
				EXTRA=0
			fi
			case $st in 200 | 201 | 202) CHURN=$((CHURN + 1)) ;; *) CHURN_BAD+=("$st $(cat "$T/api.body")") ;; esac
		fi
	done
}
CHURN=0
CHURN_BAD=()

# round SECONDS: one wrk run; adds to TOTAL and NON2XX, ERRS.
TOTAL=0
NON2XX=0
ERRS=0
round() {
	local secs=$1 out n bad errs
	bg "wrk.$TOTAL" INT wrk -t 2 -c "$CONNS" -d "${secs}s" --timeout 10s "http://127.0.0.1:$P_WEB/"
	local wpid=$LAST_PID
	churn "$FPID" "$secs"
	wait_exit "$wpid" 60 || fail "wrk did not finish"
	out=$(cat "$T/wrk.$TOTAL.log")
	n=$(echo "$out" | awk '/requests in/ {print $1}')
	bad=$(echo "$out" | awk '/Non-2xx or 3xx responses/ {print $NF}')
	errs=$(echo "$out" | sed -n 's/.*Socket errors: connect \([0-9]*\), read \([0-9]*\), write \([0-9]*\), timeout \([0-9]*\).*/\1 \2 \3 \4/p' |
		awk '{print $1 + $2 + $3 + $4}')
	[ -n "$n" ] || fail "no request count in wrk's output: $out"
	rm -f "$T/wrk.$TOTAL.log"
	TOTAL=$((TOTAL + n))
	NON2XX=$((NON2XX + ${bad:-0}))
	ERRS=$((ERRS + ${errs:-0}))
}

step "phase 1: $REQUESTS requests (at most $MAX_S s) with reloads and backend churn, release build"
write_cfg 0
start_fulcrum "$cfg" "$P_WEB" "$P_CTL"
FPID=$FULCRUM_PID
wait_http "http://127.0.0.1:$P_WEB/" 10
t0=$SECONDS
round 10
round 10
rss_warm=$(rss_kb "$FPID")
warm_total=$TOTAL
echo "   after warm-up: $TOTAL requests, RSS $rss_warm kB"
while [ $TOTAL -lt "$REQUESTS" ] && [ $((SECONDS - t0)) -lt "$MAX_S" ]; do
	round 10
	echo "   $TOTAL requests, $((SECONDS - t0)) s, RSS $(rss_kb "$FPID") kB, $ROUND reloads, $CHURN API changes"
done
rss_end=$(rss_kb "$FPID")
secs=$((SECONDS - t0))
growth=$(awk -v a="$rss_end" -v b="$rss_warm" 'BEGIN {printf "%.2f", (a - b) * 100 / b}')
stop_pid "$FPID" TERM 20 || fail "fulcrum (release) did not exit 0 on SIGTERM"
echo "soak: requests=$TOTAL seconds=$secs rps=$((TOTAL / (secs > 0 ? secs : 1))) reloads=$ROUND api_changes=$CHURN" \
	"non2xx=$NON2XX socket_errors=$ERRS rss_after_warmup_kb=$rss_warm (at $warm_total requests)" \
	"rss_end_kb=$rss_end growth_pct=$growth"
[ ${#CHURN_BAD[@]} -eq 0 ] || fail "control API changes refused: ${CHURN_BAD[*]:0:3}"
assert_eq "$NON2XX" 0 "responses other than 200"
assert_cmp "$growth" "<=" 5 "RSS growth after warm-up, percent"

step "phase 2: $SAN_S s of the same mix under ASan/LSan, then SIGTERM"
if [ ! -x "$FULCRUM_SAN" ]; then
	fail "no sanitized binary at $FULCRUM_SAN (make BUILD=build/san SANITIZE=1 all)"
fi
FULCRUM=$FULCRUM_SAN
export LSAN_OPTIONS="suppressions=$REPO_DIR/tests/fuzz/lsan.supp"
export ASAN_OPTIONS="detect_leaks=1"
TOTAL=0
NON2XX=0
ERRS=0
ROUND=0
CHURN=0
EXTRA=0 # a fresh state_dir: the API-added backend is gone
CHURN_BAD=()
rm -rf "$T/state" && mkdir -p "$T/state"
write_cfg 0
bg fulcrum-san TERM "$FULCRUM_SAN" -c "$cfg"
FPID=$LAST_PID
wait_listen "$P_WEB" "$FPID" 30
wait_http "http://127.0.0.1:$P_WEB/" 20
round "$SAN_S"
rc=0
stop_pid "$FPID" TERM 30 || rc=$?
echo "soak: sanitized run: requests=$TOTAL non2xx=$NON2XX reloads=$ROUND api_changes=$CHURN exit=$rc"
[ ${#CHURN_BAD[@]} -eq 0 ] || fail "control API changes refused (sanitized run): ${CHURN_BAD[*]:0:3}"
assert_eq "$rc" 0 "exit status of the sanitized fulcrum on SIGTERM"
if grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$T/fulcrum-san.log"; then
	grep -A30 -E 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$T/fulcrum-san.log" | head -60 >&2
	fail "sanitizer report from the sanitized run"
fi
assert_eq "$NON2XX" 0 "responses other than 200 (sanitized run)"
echo "soak: leak check on shutdown clean"
echo "ok"
