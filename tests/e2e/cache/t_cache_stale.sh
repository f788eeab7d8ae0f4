#!/usr/bin/env bash
# t_cache_stale.sh: stale answers of a pool's cache (RFC 5861, issue 19). Within a
# response's stale-while-revalidate window, the requests that come while one of them
# refetches the entry get the stale answer at once ("stale") instead of waiting; within
# stale-if-error, a refetch that the backend answers 5xx gets the stale answer instead.
# Past the windows, the backend's answer goes through. The pool's stale_if_error_s
# applies to responses that name no window. With the only backend killed (every connect
# refused), a stale entry is served within its stale-if-error window and a 5xx after it.
# e2e: pairs
. "$(dirname "$0")/../lib/lib.sh"
need_fulcrum

ports P_LB P_APP
bg app INT "$GUNICORN" -w 1 -k gthread --threads 32 -b "127.0.0.1:$P_APP" --chdir "$(dirname "$0")" \
	--graceful-timeout 2 --timeout 60 --access-logfile - --error-logfile - cache_app:app
APP_PID=$LAST_PID
wait_listen "$P_APP" "$LAST_PID" 20
wait_http "http://127.0.0.1:$P_APP/healthz" 20
cfg=$T/fulcrum.cfg
{
	E2E_WORKERS=2 cfg_common
	cat <<EOF2
listeners = ( { name = "web"; bind = "127.0.0.1:$P_LB"; pool = "app"; } );
pools = ( { name = "app"; health = { type = "none"; }; retries = 0;
            cache = { memory_bytes = 4194304; stale_if_error_s = 60; x_cache_header = "X-Cache"; };
            backends = ( { name = "a"; address = "127.0.0.1:$P_APP"; } ); } );
EOF2
} >"$cfg"
start_fulcrum "$cfg" "$P_LB"
u=http://127.0.0.1:$P_LB
count() { hcurl "http://127.0.0.1:$P_APP/count$1"; }

step "stale-while-revalidate: a refetch's concurrent requests get the stale answer"
swr="$u/cc/swr?cc=max-age=3,stale-while-revalidate=60&s=1.5"
assert_eq "$(hcurl "$swr")" "swr 1" "first fetch"
sleep 3.5
out=$("$PY" "$(dirname "$0")/herd.py" "$swr" 10 | sort)
assert_eq "$out" "$(printf '%s\n' '1 200 swr 2' '9 200 swr 1')" "one refetch, nine stale answers"
assert_eq "$(count /cc/swr)" 2 "gunicorn saw the refetch only"
assert_eq "$(hcurl "$swr")" "swr 2" "the refetched answer is stored"
alog_wait 9 cache=stale
assert_eq "$(alog count cache=stale)" 9 "access log: stale"

step "stale-if-error: a 5xx refetch gets the stale answer"
sie="$u/cc/sie?cc=max-age=1,stale-if-error=60"
assert_eq "$(hcurl "$sie")" "sie 1" "first fetch"
sleep 2.2
hcurl -o /dev/null "http://127.0.0.1:$P_APP/setfail/1"
assert_eq "$(hcurl -D "$T/h1" "$sie")" "sie 1" "the stale answer"
assert_contains "$(head -n 1 "$T/h1")" " 200" "its status"
assert_contains "$(tr -d '\r' <"$T/h1")" "X-Cache: stale" "X-Cache: stale"
assert_eq "$(count /cc/sie)" 2 "the backend was asked (and failed)"

step "the pool's stale_if_error_s covers a response that names no window"
def="$u/cc/def?cc=max-age=1"
hcurl -o /dev/null "http://127.0.0.1:$P_APP/setfail/0"
assert_eq "$(hcurl "$def")" "def 1" "first fetch"
sleep 2.2
hcurl -o /dev/null "http://127.0.0.1:$P_APP/setfail/1"
assert_eq "$(hcurl "$def")" "def 1" "the stale answer for a 500"

step "without a stale entry the 500 goes through"
code=$(hcurl -o /dev/null -w '%{http_code}' "$u/cc/none?cc=max-age=1")
assert_eq "$code" 500 "no stale entry"
hcurl -o /dev/null "http://127.0.0.1:$P_APP/setfail/0"
assert_eq "$(hcurl "$sie")" "sie 3" "the backend answers again: a fresh answer"

step "every backend killed: the stale entry within stale-if-error, a 5xx after it"
dead="$u/cc/dead?cc=max-age=1,stale-if-error=5"
assert_eq "$(hcurl "$dead")" "dead 1" "first fetch"
t0=$(date +%s.%N)
sleep 1.5
# gunicorn and its worker (a killed master leaves its worker serving)
app_workers=$(pgrep -P "$APP_PID" || true)
stop_pid "$APP_PID" KILL 10 || true
for p in $app_workers; do kill -KILL "$p" 2>/dev/null || true; done
for _ in $(seq 1 50); do curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$P_APP/healthz" || break; sleep 0.1; done
assert_eq "$(hcurl -D "$T/h2" "$dead")" "dead 1" "the stale answer with the backend gone"
assert_contains "$(head -n 1 "$T/h2")" " 200" "its status"
assert_contains "$(tr -d '\r' <"$T/h2")" "X-Cache: stale" "X-Cache: stale"
# freshness ends 1 s after the fetch, the window 5 s after that
sleep "$("$PY" -c "import time; print(max(0.0, $t0 + 7.0 - time.time()))")"
code=$(hcurl -o /dev/null -w '%{http_code}' "$dead")
assert_match "$code" '^5[0-9][0-9]$' "past the window: fulcrum's own 5xx ($code)"
alog_wait 1 path=/cc/dead?cc=max-age=1,stale-if-error=5 cache=stale
