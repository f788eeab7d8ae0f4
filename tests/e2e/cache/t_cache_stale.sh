#!/usr/bin/env bash
# t_cache_stale.sh: stale answers of a pool's cache (RFC 5861, issue 19). Within a
# response's stale-while-revalidate window every request gets the stale answer at once
# ("stale") while fulcrum refetches the entry once in the background ("refresh"): with
# If-None-Match when it has an ETag, a 304 freshening the entry; a refresh's 5xx leaves
# the entry. Within stale-if-error, a refetch that the backend answers 5xx gets the
# stale answer instead.
# Past the windows, the backend's answer goes through. The pool's stale_if_error_s
# applies to responses that name no window. With the only backend killed (every connect
# refused), a stale entry is served within its stale-if-error window and a 5xx after it.
# e2e: pairs
. "$(dirname "$0")/../lib/lib.sh"
need_fulcrum

ports P_LB P_APP P_CTL
bg app INT "$GUNICORN" -w 1 -k gthread --threads 32 -b "127.0.0.1:$P_APP" --chdir "$(dirname "$0")" \
	--graceful-timeout 2 --timeout 60 --access-logfile - --error-logfile - cache_app:app
APP_PID=$LAST_PID
wait_listen "$P_APP" "$LAST_PID" 20
wait_http "http://127.0.0.1:$P_APP/healthz" 20
cfg=$T/fulcrum.cfg
{
	E2E_WORKERS=2 cfg_common
	cat <<EOF2
control = { listen = "127.0.0.1:$P_CTL"; };
listeners = ( { name = "web"; bind = "127.0.0.1:$P_LB"; pool = "app";
                routes = ( { name = "one"; path_prefix = "/one/"; strip_prefix = "/one"; pool = "one"; } ); } );
pools = ( { name = "app"; health = { type = "none"; }; retries = 0;
            cache = { memory_bytes = 4194304; stale_if_error_s = 60; x_cache_header = "X-Cache"; };
            backends = ( { name = "a"; address = "127.0.0.1:$P_APP"; } ); },
          { name = "one"; health = { type = "none"; }; retries = 0;
            cache = { memory_bytes = 4194304; x_cache_header = "X-Cache"; };
            backends = ( { name = "a1"; address = "127.0.0.1:$P_APP"; max_conns = 1; } ); } );
EOF2
} >"$cfg"
start_fulcrum "$cfg" "$P_LB" "$P_CTL"
u=http://127.0.0.1:$P_LB
count() { hcurl "http://127.0.0.1:$P_APP/count$1"; }

step "stale-while-revalidate: every request gets the stale answer at once, one refresh in the background"
# each fetch takes 2.5 s (delay=), so the herd comes while the refetch is in progress; an
# answer arrives 2 s old (the whole seconds of its round trip) and is fresh for 4 s more
swr="$u/cc/swr?cc=max-age=6,stale-while-revalidate=60&delay=2.5"
assert_eq "$(CURL_MAX_TIME=10 hcurl "$swr")" "swr 1" "first fetch"
sleep 4.5
t0=$(now_ms)
out=$("$PY" "$(dirname "$0")/herd.py" "$swr" 10 | sort)
took=$(($(now_ms) - t0))
assert_eq "$out" "10 200 swr 1" "ten stale answers, none waits for the refetch"
assert_cmp "$took" "<" 2000 "the herd did not wait for the 2.5 s refetch (${took} ms)"
for _ in $(seq 1 100); do [ "$(count /cc/swr)" = 2 ] && break; sleep 0.1; done
assert_eq "$(count /cc/swr)" 2 "gunicorn saw one refetch"
alog_wait 1 cache=refresh
assert_eq "$(hcurl -D "$T/h0" "$swr")" "swr 2" "the refetched answer is stored"
assert_contains "$(tr -d '\r' <"$T/h0")" "X-Cache: hit" "and is a hit"
assert_eq "$(alog count cache=stale)" 10 "access log: stale"
alog_wait 1 cache=refresh status=200
assert_eq "$(alog count cache=refresh status=200)" 1 "access log: the refresh, 200"
assert_eq "$(count /cc/swr)" 2 "still one refetch"

step "a refresh asks with the entry's ETag; the backend's 304 freshens the entry"
cond="$u/cc/cond?cc=max-age=1,stale-while-revalidate=60&etag=v1&cond=1"
assert_eq "$(hcurl "$cond")" "cond 1" "first fetch"
sleep 2.2
assert_eq "$(hcurl -D "$T/h3" "$cond")" "cond 1" "the stale answer"
assert_contains "$(tr -d '\r' <"$T/h3")" "X-Cache: stale" "X-Cache: stale"
alog_wait 1 cache=refresh status=304
assert_eq "$(alog count cache=refresh status=304)" 1 "the refresh got a 304 (If-None-Match sent)"
assert_eq "$(hcurl -D "$T/h4" "$cond")" "cond 1" "the freshened entry keeps its body"
assert_contains "$(tr -d '\r' <"$T/h4")" "X-Cache: hit" "and is fresh again: a hit"
assert_contains "$(tr -d '\r' <"$T/h4")" 'ETag: "v1"' "with its ETag"
assert_eq "$(count /cc/cond)" 2 "gunicorn saw the first fetch and the refresh"

step "a refresh the backend answers 5xx leaves the stale entry"
fail5="$u/cc/fail5?cc=max-age=1,stale-while-revalidate=60"
assert_eq "$(hcurl "$fail5")" "fail5 1" "first fetch"
sleep 2.2
hcurl -o /dev/null "http://127.0.0.1:$P_APP/setfail/1"
assert_eq "$(hcurl "$fail5")" "fail5 1" "stale; its refresh fails"
alog_wait 1 cache=refresh status=500
assert_eq "$(alog count cache=refresh status=500)" 1 "the failed refresh"
assert_eq "$(hcurl -D "$T/h5" "$fail5")" "fail5 1" "still the stale answer"
assert_contains "$(tr -d '\r' <"$T/h5")" "X-Cache: stale" "X-Cache: stale"
hcurl -o /dev/null "http://127.0.0.1:$P_APP/setfail/0"

step "a refresh takes a free slot or none: it never queues ahead of a client"
bg="$u/one/cc/bg?cc=max-age=1,stale-while-revalidate=60"
assert_eq "$(hcurl "$bg")" "bg 1" "first fetch"
sleep 2.2
hcurl -o /dev/null "$u/one/cc/hold?delay=3" &
holder=$!
for _ in $(seq 1 50); do [ "$(count /cc/hold)" = 1 ] && break; sleep 0.1; done
assert_eq "$(hcurl -D "$T/h6" "$bg")" "bg 1" "the stale answer while the only slot is held"
assert_contains "$(tr -d '\r' <"$T/h6")" "X-Cache: stale" "X-Cache: stale"
alog_wait 1 cache=refresh path~=/cc/bg
assert_eq "$(alog count cache=refresh path~=/cc/bg termination=queue_full)" 1 "the refresh gave up: no free slot"
assert_eq "$(count /cc/bg)" 1 "gunicorn was not asked"
wait "$holder"
hcurl -o /dev/null "$bg"
for _ in $(seq 1 50); do [ "$(count /cc/bg)" = 2 ] && break; sleep 0.1; done
assert_eq "$(count /cc/bg)" 2 "with the slot free, the next stale answer's refresh runs"

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

step "metrics: stale answers by reason"
m=$(hcurl "http://127.0.0.1:$P_CTL/metrics")
sie_n=$(echo "$m" | sed -n 's/^fulcrum_cache_stale_if_error_total{pool="app"} //p')
swr_n=$(echo "$m" | sed -n 's/^fulcrum_cache_stale_total{pool="app"} //p')
# stale-if-error: the 500 of /cc/sie and /cc/def, the dead backend of /cc/dead
assert_eq "$sie_n" 3 "fulcrum_cache_stale_if_error_total"
assert_cmp "$swr_n" ">=" 10 "fulcrum_cache_stale_total (stale-while-revalidate)"
