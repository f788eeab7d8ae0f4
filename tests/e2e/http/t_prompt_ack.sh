#!/usr/bin/env bash
# t_prompt_ack.sh: fulcrum acknowledges what it reads at once when more is to come, so a
# peer that writes a message in two pieces with Nagle's rule on is not held for Linux's
# delayed-ACK timer (40 ms) in the middle of it.
# - backend side: recbackend.py --mode split writes each response's head and body in two
#   send() calls without TCP_NODELAY, on a keep-alive connection fulcrum reuses. Its body
#   leaves only when the head is acknowledged; before the fix every reused request took
#   40-44 ms (HAProxy 2.6 and nginx 1.22 take the same against this backend), now well
#   under 1 ms. A gunicorn sync worker held that way is the resource fulcrum exists to
#   save;
# - client side: a client that writes a POST's head and body apart without TCP_NODELAY,
#   on one keep-alive connection, with request buffering (the default) and without it:
#   before the fix each POST after the first waited 40-44 ms for its body.
# The bound (a median under 20 ms over 10 requests) is half the timer: a loaded machine
# does not add 20 ms to most of ten requests, the timer adds 40 to every one.
# e2e: pairs
. "$(dirname "$0")/../lib/lib.sh"
need_fulcrum

ports P_LB P_STREAM P_SPLIT P_OK
bg split TERM "$PY" "$E2E_DIR/recbackend.py" --port "$P_SPLIT" --record "$T/split.bin" --mode split
wait_listen "$P_SPLIT" "$LAST_PID"
bg ok TERM "$PY" "$E2E_DIR/recbackend.py" --port "$P_OK" --record "$T/ok.bin"
wait_listen "$P_OK" "$LAST_PID"
cfg=$T/fulcrum.cfg
{
	cfg_common
	cat <<EOF
listeners = ( { name = "web"; bind = "127.0.0.1:$P_LB"; mode = "http"; pool = "split"; },
              { name = "stream"; bind = "127.0.0.1:$P_STREAM"; mode = "http"; pool = "ok"; } );
pools = ( { name = "split"; health = { type = "none"; }; backend_idle_timeout_ms = 60000;
            backends = ( { name = "split-1"; address = "127.0.0.1:$P_SPLIT"; } ); },
          { name = "ok"; health = { type = "none"; }; backend_idle_timeout_ms = 60000;
            buffering = { request = false; };
            backends = ( { name = "ok-1"; address = "127.0.0.1:$P_OK"; } ); } );
EOF
} >"$cfg"
start_fulcrum "$cfg" "$P_LB" "$P_STREAM"

# keepalive_ms PORT METHOD: 11 requests on one client connection (Nagle on, a POST's
# head and body in two writes); prints the milliseconds of the last 10, the median last.
keepalive_ms() {
	"$PY" - "$1" "$2" <<'PYEOF'
import socket, statistics, sys, time
port, method = int(sys.argv[1]), sys.argv[2]
s = socket.create_connection(("127.0.0.1", port), timeout=10)
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 0)
times = []
for i in range(11):
    t = time.monotonic()
    body = b"x" * 100 if method == "POST" else b""
    s.sendall(b"%s /r%d HTTP/1.1\r\nHost: t\r\nContent-Length: %d\r\n\r\n" % (method.encode(), i, len(body)))
    if body:
        s.sendall(body)
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = s.recv(65536)
        if not chunk:
            sys.exit("connection closed after %d answers" % i)
        buf += chunk
    head, rest = buf.split(b"\r\n\r\n", 1)
    if not head.startswith(b"HTTP/1.1 200"):
        sys.exit("answer %d: %r" % (i, head[:40]))
    n = [int(l.split(b":")[1]) for l in head.split(b"\r\n") if l.lower().startswith(b"content-length:")][0]
    while len(rest) < n:
        rest += s.recv(65536)
    times.append((time.monotonic() - t) * 1000)
print(" ".join("%.1f" % x for x in times[1:]), "%.1f" % statistics.median(times[1:]))
PYEOF
}

step "a backend that writes head and body apart (Nagle on), on a reused connection"
out=$(keepalive_ms "$P_LB" GET)
echo "   ms: $out"
assert_cmp "${out##* }" "<" 20 "median ms of a reused backend's split answer"
alog_wait 11
assert_cmp "$(alog count status=200 backend=split-1)" ">=" 11 "answers logged 200 from split-1"

step "a client that writes a POST's head and body apart, request buffering on"
out=$(keepalive_ms "$P_LB" POST)
echo "   ms: $out"
assert_cmp "${out##* }" "<" 20 "median ms of a buffered POST"

step "the same client, request buffering off (the body streams)"
out=$(keepalive_ms "$P_STREAM" POST)
echo "   ms: $out"
assert_cmp "${out##* }" "<" 20 "median ms of a streamed POST"
assert_cmp "$(grep -ao 'POST /r[0-9]* ' "$T/ok.bin" | wc -l)" == 11 "POSTs that reached the backend"
echo "ok"
