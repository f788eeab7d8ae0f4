#!/usr/bin/env bash
# t_queue_upload_reuse.sh: an upload that waited in the queue goes out whole on a reused
# keep-alive backend connection. One gunicorn gthread worker with one thread (it keeps
# connections alive) behind max_conns = 1: a 1.5 s request holds the slot, a 16 MB
# upload (buffered whole, then queued) follows it. When the slot frees, the upload gets
# the idle connection from the pool and is too large for one write, so it must ask for
# writability at once. (Before the fix the queue's hand-over, which runs outside any
# event handler, left the connection's events as the idle pool had set them: the rest
# of the body waited for the response timeout's 504.)
# e2e: pairs
. "$(dirname "$0")/../lib/lib.sh"
need_fulcrum

ports P_LB P_BE
start_flask web "$P_BE" 1 -k gthread --threads 1
cfg=$T/fulcrum.cfg
{
	cfg_common
	cat <<EOF
listeners = ( { name = "web"; bind = "127.0.0.1:$P_LB"; mode = "http"; pool = "flask"; } );
pools = ( { name = "flask"; health = { type = "none"; }; queue_timeout_ms = 20000;
            response_timeout_ms = 15000; retries = 0;
            backends = ( { name = "w"; address = "127.0.0.1:$P_BE"; max_conns = 1; } ); } );
EOF
} >"$cfg"
start_fulcrum "$cfg" "$P_LB"

step "a first request leaves a keep-alive connection in the idle pool"
code=$(http_status "http://127.0.0.1:$P_LB/sleep?ms=1")
assert_eq "$code" 200 "warm-up request"

step "a 1.5 s request holds the slot; a 16 MB upload queues behind it"
head -c 16000000 /dev/zero >"$T/big.bin"
hcurl -o /dev/null "http://127.0.0.1:$P_LB/sleep?ms=1500" &
HOLD=$!
sleep 0.3
out=$(hcurl -o "$T/up.out" -w '%{http_code} %{time_total}' -H 'Expect:' \
	--data-binary @"$T/big.bin" "http://127.0.0.1:$P_LB/echo-len?tag=up") || true
wait "$HOLD" || true
echo "   upload: $out; $(head -c 120 "$T/up.out" 2>/dev/null)"
assert_eq "${out%% *}" 200 "the queued upload's status"
assert_contains "$(cat "$T/up.out")" '"length":16000000' "the backend's count of body bytes"
assert_cmp "${out#* }" "<" 8 "the upload's time in s (it waited only for the slot)"
alog_wait 3
entry=$(alog last path~=/echo-len)
echo "   log: $entry"
assert_cmp "$(json_get "$entry" 'd["connect_ms"]')" == 0 "connect_ms of the upload (0: a reused connection)"
assert_match "$(json_get "$entry" 'd["queue_ms"]')" '^[1-9][0-9]*' "queue_ms of the upload (it waited)"
echo "ok"
