#!/usr/bin/env bash
# t_queue_abandoned.sh: a request whose client gives up while it waits in the queue never
# reaches a backend (issue 24, "abandoned requests"). One gunicorn sync worker behind
# max_conns = 1: a long request holds it; five clients that give up after 0.5 s (curl
# --max-time), one that half-closes with nothing more to send (HAProxy's abortonclose)
# leave the queue, are logged client_aborted_queued and counted in
# fulcrum_pool_queue_abandoned_total; gunicorn never sees them. A client that half-closes
# after two pipelined requests has said all it will say and still reads: both are served.
# e2e: pairs
. "$(dirname "$0")/../lib/lib.sh"
need_fulcrum

ports P_LB P_CTL P_BE
start_flask web "$P_BE" 1
echo "metrics-token-0123456789abcdef" >"$T/token"
chmod 600 "$T/token"
cfg=$T/fulcrum.cfg
{
	cfg_common
	cat <<EOF
control = { listen = "127.0.0.1:$P_CTL"; token_file = "$T/token"; };
listeners = ( { name = "web"; bind = "127.0.0.1:$P_LB"; mode = "http"; pool = "flask"; } );
EOF
	one_worker_pool
} >"$cfg"
start_fulcrum "$cfg" "$P_LB" "$P_CTL"

step "a 3 s request holds the only worker"
curl -s -o "$T/hold.out" "http://127.0.0.1:$P_LB/work?ms=3000&tag=hold" &
HOLD=$!
# the app counts its requests in flight in conc.web ("inflight peak total")
for ((i = 0; i < 100; i++)); do
	[ "$(cut -d' ' -f1 "$T/conc.web" 2>/dev/null)" = 1 ] && break
	sleep 0.05
done
[ "$(cut -d' ' -f1 "$T/conc.web" 2>/dev/null)" = 1 ] || fail "the long request did not reach gunicorn"

step "five clients give up after 0.5 s, one half-closes, one pipelines two and half-closes"
pids=()
for i in 1 2 3 4 5; do
	curl -s -o /dev/null --max-time 0.5 "http://127.0.0.1:$P_LB/sleep?ms=1&tag=gaveup$i" &
	pids+=($!)
done
timeout 30 "$PY" - "$P_LB" >"$T/halfclose.out" 2>&1 <<'PYEOF' &
import socket, sys, time
port = int(sys.argv[1])
# A: half-close right after one request: it gave up (abortonclose)
a = socket.create_connection(("127.0.0.1", port))
a.sendall(b"GET /sleep?ms=1&tag=halfclose HTTP/1.1\r\nHost: t\r\n\r\n")
a.shutdown(socket.SHUT_WR)
# B: two pipelined requests, then a half-close: both must be answered
b = socket.create_connection(("127.0.0.1", port))
b.sendall(b"GET /sleep?ms=1&tag=pipe1 HTTP/1.1\r\nHost: t\r\n\r\n"
          b"GET /sleep?ms=1&tag=pipe2 HTTP/1.1\r\nHost: t\r\n\r\n")
b.shutdown(socket.SHUT_WR)
b.settimeout(20)
got = b""
end = time.monotonic() + 20
while time.monotonic() < end:
    d = b.recv(65536)
    if not d:
        break
    got += d
    if got.count(b"HTTP/1.1 200") >= 2 and got.endswith(b"\n"):
        break
a.settimeout(5)
try:
    rest = a.recv(65536)
except OSError:
    rest = b"(reset)"
print("pipelined=%d halfclose=%r" % (got.count(b"HTTP/1.1 200"), rest[:40]))
PYEOF
PIPE=$!
for p in "${pids[@]}"; do wait "$p" || true; done
wait "$HOLD" || true
wait_exit "$PIPE" 30 || fail "the pipelining client did not finish: $(cat "$T/halfclose.out")"
out=$(cat "$T/halfclose.out")
echo "   $out"
assert_contains "$out" "pipelined=2" "answers to the two pipelined requests after a half-close"
assert_eq "$(cat "$T/hold.out")" "work web" "the long request's answer"

step "gunicorn never saw the abandoned requests; they are logged and counted"
sleep 0.5
seen=$(grep -o 'tag=[a-z0-9]*' "$T/web.log" | sort | tr '\n' ' ')
echo "   gunicorn saw: $seen"
assert_not_contains "$seen" "gaveup" "requests of clients that gave up, at gunicorn"
assert_not_contains "$seen" "halfclose" "the half-closed request, at gunicorn"
assert_contains "$seen" "tag=pipe1 tag=pipe2" "the pipelined requests, at gunicorn"
alog_wait 6 termination=client_aborted_queued
assert_eq "$(alog count termination=client_aborted_queued)" 6 "access-log lines client_aborted_queued"
m=$(curl -s -H "Authorization: Bearer $(cat "$T/token")" "http://127.0.0.1:$P_CTL/metrics" |
	grep '^fulcrum_pool_queue_abandoned_total{pool="flask"}')
echo "   $m"
assert_eq "${m##* }" 6 "fulcrum_pool_queue_abandoned_total"
echo "ok"
