#!/usr/bin/env bash
# t_limits.sh: request limits of a listener: a head over head_max_bytes -> 431, more
# fields than header_max_count -> 431, a body over body_max_bytes -> 413 (declared
# length, streamed without Expect, and chunked). Requests just inside the limits pass,
# and rejected requests never reach the backend.
# e2e: pairs
. "$(dirname "$0")/../lib/lib.sh"
need_fulcrum

ports P_WEB P_APP
# gunicorn's own limits (8190-byte fields, 100 fields) must not be the ones tested.
start_flask web-1 "$P_APP" 2 --limit-request-fields 1000 --limit-request-field_size 0 \
	--limit-request-line 0

cfg=$T/fulcrum.cfg
{
	cfg_common
	cat <<EOF
listeners = ( { name = "web"; bind = "127.0.0.1:$P_WEB"; mode = "http"; pool = "flask";
                head_timeout_ms = 5000; idle_timeout_ms = 5000; head_max_bytes = 32768;
                header_max_count = 100; body_max_bytes = 1048576; } );
pools = ( { name = "flask"; health = { type = "none"; }; connect_timeout_ms = 1000;
            response_timeout_ms = 10000;
            backends = ( { name = "web-1"; address = "127.0.0.1:$P_APP"; weight = 1; max_conns = 4; } ); } );
EOF
} >"$cfg"
start_fulcrum "$cfg" "$P_WEB"
URL=http://127.0.0.1:$P_WEB

# backend_saw CASE: 0 when the backend's access log shows a request for case=CASE.
backend_saw() { grep -q "case=$1" "$T/web-1.log"; }

step "head size"
h16k=$(head -c 16384 /dev/zero | tr '\0' a)
out=$(hcurl -f -H "X-Big: $h16k" "$URL/headers?case=h16k") || fail "16 KiB header refused"
assert_contains "$out" "$h16k" "/headers answer (16 KiB header forwarded)"
h64k=$(head -c 65536 /dev/zero | tr '\0' b)
assert_eq "$(http_status "$URL/headers?case=h64k" -H "X-Big: $h64k")" 431 "64 KiB header"
h40k=$(head -c 40960 /dev/zero | tr '\0' c)
assert_eq "$(http_status "$URL/headers?case=h40k" -H "X-Big: $h40k")" 431 "40 KiB header (just over 32 KiB)"
big_line="/headers?case=line&q=$(head -c 40000 /dev/zero | tr '\0' d)"
assert_eq "$(http_status "$URL$big_line")" 431 "40 KB request target"

step "header count"
args=()
for i in $(seq 1 60); do args+=(-H "X-H$i: v$i"); done
assert_eq "$(http_status "$URL/headers?case=n60" "${args[@]}")" 200 "60 header fields"
args=()
for i in $(seq 1 150); do args+=(-H "X-H$i: v$i"); done
assert_eq "$(http_status "$URL/headers?case=n150" "${args[@]}")" 431 "150 header fields"

step "body size"
head -c 1048576 /dev/urandom >"$T/b1m"
head -c 2097152 /dev/urandom >"$T/b2m"
out=$(hcurl -f --data-binary @"$T/b1m" -H 'Content-Type: application/octet-stream' "$URL/echo?case=b1m") ||
	fail "1 MiB body (exactly the limit) refused"
assert_eq "$(json_get "$out" 'd["sha256"]')" "$(sha256_file "$T/b1m")" "1 MiB body digest"
assert_eq "$(http_status "$URL/echo?case=b2m" --data-binary @"$T/b2m" -H 'Content-Type: application/octet-stream')" \
	413 "2 MiB body with Content-Length (curl's Expect: 100-continue)"
assert_eq "$(http_status "$URL/echo?case=b2mnoexp" --data-binary @"$T/b2m" -H 'Expect:' -H 'Content-Type: application/octet-stream')" \
	413 "2 MiB body with Content-Length, sent at once (no Expect)"
out=$(rawhttp send --port "$P_WEB" --timeout 3 --summary \
	--data 'POST /echo?case=declared HTTP/1.1\r\nHost: t\r\nContent-Length: 2097152\r\n\r\n')
assert_match "$out" '^statuses=413 ' "head declaring a 2 MiB body (no body sent)"
assert_eq "$(http_status "$URL/echo?case=b2mchunked" -H 'Transfer-Encoding: chunked' --data-binary @"$T/b2m" -H 'Content-Type: application/octet-stream')" \
	413 "2 MiB chunked body"

step "a client still sending a refused body reads the 413 (lingering close, not a reset)"
# fulcrum answers 413 once 1 MiB is exceeded, shuts its write side and drops what still
# comes for a short while: closing at once would make the kernel answer the bytes that
# follow with a reset, which can destroy the unread 413 at the client.
out=$("$PY" - "$P_WEB" <<'EOF'
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
s.sendall(b"POST /echo?case=linger HTTP/1.1\r\nHost: t\r\nContent-Length: 8388608\r\n\r\n")
# like curl, a client whose send fails reports that and reads nothing more
chunk, sent, t0 = b"x" * 65536, 0, time.time()
while sent < 8388608 and time.time() - t0 < 1.0:
    try:
        s.sendall(chunk)
    except OSError as e:
        print("send failed after %d bytes: %s" % (sent, e))
        sys.exit(0)
    sent += len(chunk)
data = b""
try:
    while len(data) < 65536:
        d = s.recv(65536)
        if not d:
            break
        data += d
except OSError as e:
    data += b" [" + type(e).__name__.encode() + b"]"
print((data.split(b"\r\n", 1)[0] or b"nothing").decode(errors="replace"))
EOF
)
assert_eq "$out" "HTTP/1.1 413 Content Too Large" "status line read by a client that kept sending its body"

step "rejected requests did not reach the backend"
sleep 0.3
for c in h64k h40k line n150 b2m b2mnoexp declared linger; do
	if backend_saw "$c"; then
		fail "request case=$c reached the backend"
	fi
done
for c in h16k n60 b1m; do
	backend_saw "$c" || fail "accepted request case=$c is missing from the backend log"
done
echo "ok"
