#!/usr/bin/env bash
# t_unavailable.sh: when no backend of a pool can be reached the client gets a 503 with
# a JSON body and Retry-After: 1; when one of two backends is down, idempotent requests
# that hit it are retried on the other, so 50 GETs see no failure at all. A request that
# times out in the wait queue logs the time it waited as queue_ms (it was -1).
. "$(dirname "$0")/../lib/lib.sh"
need_fulcrum

# P_DEAD1..3 are free ports on which nothing will ever listen.
ports P_DOWN P_HALF P_BUSY P_APP P_DEAD1 P_DEAD2 P_DEAD3
start_flask web-1 "$P_APP" 2

cfg=$T/fulcrum.cfg
{
	cfg_common
	cat <<EOF
listeners = (
  { name = "down"; bind = "127.0.0.1:$P_DOWN"; mode = "http"; pool = "down"; },
  { name = "half"; bind = "127.0.0.1:$P_HALF"; mode = "http"; pool = "half"; },
  { name = "busy"; bind = "127.0.0.1:$P_BUSY"; mode = "http"; pool = "busy"; } );
pools = (
  { name = "down"; health = { type = "none"; }; connect_timeout_ms = 1000; response_timeout_ms = 5000;
    queue_timeout_ms = 1000; retries = 1;
    backends = ( { name = "dead-1"; address = "127.0.0.1:$P_DEAD1"; weight = 1; max_conns = 4; },
                 { name = "dead-2"; address = "127.0.0.1:$P_DEAD2"; weight = 1; max_conns = 4; } ); },
  { name = "half"; balance = "wlc"; health = { type = "none"; }; connect_timeout_ms = 1000;
    response_timeout_ms = 5000; queue_timeout_ms = 2000; retries = 1;
    backends = ( { name = "web-1"; address = "127.0.0.1:$P_APP"; weight = 1; max_conns = 4; },
                 { name = "dead-3"; address = "127.0.0.1:$P_DEAD3"; weight = 1; max_conns = 4; } ); },
  { name = "busy"; health = { type = "none"; }; queue_timeout_ms = 1000; retries = 0;
    backends = ( { name = "busy-1"; address = "127.0.0.1:$P_APP"; weight = 1; max_conns = 1; } ); } );
EOF
} >"$cfg"
start_fulcrum "$cfg" "$P_DOWN" "$P_HALF" "$P_BUSY"

step "all backends down -> 503 with a JSON body"
codes=()
for i in 1 2 3 4 5; do
	t0=$(now_ms)
	rm -f "$T/body$i"
	codes+=("$(http_status_body "$T/body$i" "http://127.0.0.1:$P_DOWN/p/x$i" -D "$T/hdrs$i")")
	ms=$(($(now_ms) - t0))
	assert_cmp "$ms" "<" 4000 "milliseconds to the answer of GET #$i (connection refused is immediate)"
done
echo "   statuses of 5 GETs: ${codes[*]}"
assert_eq "${codes[*]}" "503 503 503 503 503" "statuses of 5 GETs with every backend down (body of #1: $(head -c 200 "$T/body1"))"
for i in 1 2 3 4 5; do
	err=$("$PY" -c 'import json,sys; d=json.load(open(sys.argv[1])); print("error" in d and bool(d["error"]))' "$T/body$i" 2>&1) ||
		fail "503 body is not JSON: $(head -c 300 "$T/body$i")"
	assert_eq "$err" True "503 body has a non-empty \"error\" member: $(head -c 300 "$T/body$i")"
	grep -qi '^content-type: *application/json' "$T/hdrs$i" || fail "503 without Content-Type application/json: $(cat "$T/hdrs$i")"
	grep -qi '^retry-after: *1\s*$' "$T/hdrs$i" || fail "503 without Retry-After: 1: $(cat "$T/hdrs$i")"
done
code=$(http_status "http://127.0.0.1:$P_DOWN/echo" --data-binary 'x=1')
assert_eq "$code" 503 "POST with every backend down"
alog_wait 6 status=503
assert_eq "$(alog count status=503)" 6 "access-log entries with status 503"

step "one backend of two down -> 50 GETs without a failure"
out=$(rawhttp loop --port "$P_HALF" --count 50 --interval 0.02 --path / --reconnect-every 1)
echo "   $out"
assert_eq "$(json_get "$out" 'd["fail"]')" 0 "failed GETs (errors: $(json_get "$out" 'd["errors"]'))"
assert_eq "$(json_get "$out" 'd["ok"]')" 50 "successful GETs"
assert_eq "$(json_get "$out" 'd["instances"].get("web-1", 0)')" 50 "GETs answered by web-1"

step "and on one keep-alive connection"
out=$(rawhttp loop --port "$P_HALF" --count 50 --interval 0 --path /)
assert_eq "$(json_get "$out" 'd["fail"]')" 0 "failed keep-alive GETs (errors: $(json_get "$out" 'd["errors"]'))"
assert_eq "$(json_get "$out" 'd["retried"]')" 0 "client-side retries needed"

step "a request that times out in the wait queue logs the time it waited"
bg hold TERM curl -s -o /dev/null --noproxy '*' --max-time 30 "http://127.0.0.1:$P_BUSY/work?ms=4000"
HOLD=$LAST_PID
# the app counts its /work requests in flight in conc.web-1 ("inflight peak total")
for ((i = 0; i < 200; i++)); do
	[ "$(cut -d' ' -f1 "$T/conc.web-1" 2>/dev/null)" = 1 ] && break
	sleep 0.05
done
[ "$(cut -d' ' -f1 "$T/conc.web-1" 2>/dev/null)" = 1 ] || fail "the long request did not reach gunicorn"
assert_eq "$(http_status "http://127.0.0.1:$P_BUSY/p/queued")" 503 "GET behind the only slot (queue_timeout_ms = 1000)"
alog_wait 1 termination=queue_timeout
line=$(alog last termination=queue_timeout)
echo "   $line"
q=$(json_get "$line" 'd["queue_ms"]')
assert_cmp "$q" ">=" 900 "queue_ms of a request that timed out in the queue"
assert_cmp "$q" "<" 10000 "queue_ms of a request that timed out in the queue"
wait_exit "$HOLD" 20 >/dev/null || true
echo "ok"
