#!/usr/bin/env bash
# t_smuggling.sh: malformed and ambiguous requests (request smuggling vectors) are
# answered 400 (501 for an unknown transfer coding, 505 for an unknown version) and the
# connection closed, and not one byte of them reaches the backend. A recording backend
# appends everything it receives to a file; well-formed requests before and after show
# that the file does grow when something is forwarded.
. "$(dirname "$0")/lib.sh"
need_fulcrum

ports P_WEB P_REC
REC=$T/received.bin
bg recbackend TERM "$PY" "$E2E_DIR/recbackend.py" --port "$P_REC" --record "$REC"
wait_listen "$P_REC" "$LAST_PID"

cfg=$T/fulcrum.cfg
{
	cfg_common
	cat <<EOF
listeners = ( { name = "web"; bind = "127.0.0.1:$P_WEB"; mode = "http"; pool = "rec";
                head_timeout_ms = 2000; idle_timeout_ms = 5000; head_max_bytes = 32768;
                header_max_count = 100; body_max_bytes = 0; } );
pools = ( { name = "rec"; health = { type = "none"; }; connect_timeout_ms = 1000;
            response_timeout_ms = 3000; retries = 1;
            backends = ( { name = "rec-1"; address = "127.0.0.1:$P_REC"; weight = 1; max_conns = 0; } ); } );
EOF
} >"$cfg"
start_fulcrum "$cfg" "$P_WEB"

# good NAME DATA: a well-formed request must be answered 200 on an open connection and
# reach the backend (the record grows and contains MARK).
good() {
	local name=$1 data=$2 mark=$3 before out
	before=$(stat -c %s "$REC")
	out=$(rawhttp send --port "$P_WEB" --timeout 1.5 --summary --data "$data")
	assert_eq "$out" "statuses=200 closed=0" "well-formed request '$name'"
	sleep 0.1
	assert_cmp "$(stat -c %s "$REC")" ">" "$before" "bytes recorded by the backend after '$name'"
	grep -aq "$mark" "$REC" || fail "backend did not receive '$mark' for '$name'"
	echo "   good $name: forwarded"
}

bad=()
# vector NAME STATUS-REGEX DATA: DATA (Python escapes) in one write must get exactly one
# response with a status matching STATUS-REGEX, then the connection closes, and the
# backend receives nothing.
vector() {
	local name=$1 want=$2 data=$3 before after out
	before=$(stat -c %s "$REC")
	out=$(rawhttp send --port "$P_WEB" --timeout 3 --summary --data "$data")
	sleep 0.15
	after=$(stat -c %s "$REC")
	if [[ $out =~ ^statuses=($want)\ closed=1$ ]] && [ "$after" = "$before" ]; then
		echo "   ok   $name: $out"
		return 0
	fi
	if ! [[ $out =~ ^statuses=($want)\ closed=1$ ]]; then
		bad+=("$name: got '$out', want statuses=$want closed=1")
	fi
	if [ "$after" != "$before" ]; then
		bad+=("$name: backend received $((after - before)) bytes: $(tail -c $((after - before)) "$REC" | head -c 300 | od -c | head -n 6 | tr '\n' ' ')")
	fi
	echo "   BAD  $name: $out (backend got $((after - before)) bytes)"
}

step "a well-formed request reaches the backend"
good "POST with Content-Length" 'POST /first HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nhello' "POST /first"

step "smuggling and malformed vectors"
P='POST / HTTP/1.1\r\nHost: t\r\n'
vector "CL+TE" 400 "${P}"'Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n'
vector "TE+CL" 400 "${P}"'Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n'
vector "TE xchunked" '400|501' "${P}"'Transfer-Encoding: xchunked\r\n\r\n0\r\n\r\n'
vector "TE chunked, chunked" '400|501' "${P}"'Transfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n'
vector "two TE headers" '400|501' "${P}"'Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n'
vector "TE chunked then identity" '400|501' "${P}"'Transfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n'
vector "TE with vertical tab" '400|501' "${P}"'Transfer-Encoding:\x0bchunked\r\n\r\n0\r\n\r\n'
vector "TE space before colon" 400 "${P}"'Transfer-Encoding : chunked\r\n\r\n0\r\n\r\n'
vector "duplicate CL" 400 "${P}"'Content-Length: 5\r\nContent-Length: 5\r\n\r\nhello'
vector "CL +5" 400 "${P}"'Content-Length: +5\r\n\r\nhello'
vector "CL list 5, 5" 400 "${P}"'Content-Length: 5, 5\r\n\r\nhello'
vector "CL -1" 400 "${P}"'Content-Length: -1\r\n\r\nhello'
vector "CL 0x5" 400 "${P}"'Content-Length: 0x5\r\n\r\nhello'
vector "CL overflow" 400 "${P}"'Content-Length: 99999999999999999999999\r\n\r\nhello'
vector "CL space before colon" 400 "${P}"'Content-Length : 5\r\n\r\nhello'
vector "obs-fold" 400 'GET / HTTP/1.1\r\nHost: t\r\nX-Foo: a\r\n b\r\n\r\n'
vector "space before colon" 400 'GET / HTTP/1.1\r\nHost: t\r\nX-Foo : bar\r\n\r\n'
vector "bare LF line endings" 400 'GET / HTTP/1.1\nHost: t\n\n'
vector "one bare LF" 400 'GET / HTTP/1.1\r\nHost: t\nX-Foo: a\r\n\r\n'
vector "bare CR" 400 'GET / HTTP/1.1\r\nHost: t\rX-Foo: b\r\n\r\n'
vector "NUL in header value" 400 'GET / HTTP/1.1\r\nHost: t\r\nX-Foo: a\x00b\r\n\r\n'
vector "DEL in header value" 400 'GET / HTTP/1.1\r\nHost: t\r\nX-Foo: a\x7fb\r\n\r\n'
vector "bad char in header name" 400 'GET / HTTP/1.1\r\nHost: t\r\nX[Foo]: a\r\n\r\n'
vector "chunk size 0x5" 400 "${P}"'Transfer-Encoding: chunked\r\n\r\n0x5\r\nhello\r\n0\r\n\r\n'
vector "chunk size overflow" 400 "${P}"'Transfer-Encoding: chunked\r\n\r\nffffffffffffffffff\r\nhello\r\n0\r\n\r\n'
vector "chunk without CRLF" 400 "${P}"'Transfer-Encoding: chunked\r\n\r\n5\r\nhelloXX0\r\n\r\n'
vector "missing Host (HTTP/1.1)" 400 'GET / HTTP/1.1\r\nX-Foo: a\r\n\r\n'
vector "two Host headers" 400 'GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n'
vector "HTTP/1.0 with TE" 400 'POST / HTTP/1.0\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n'
vector "request line with two spaces" 400 'GET  / HTTP/1.1\r\nHost: t\r\n\r\n'
vector "invalid method char" 400 'G(T / HTTP/1.1\r\nHost: t\r\n\r\n'
vector "control char in target" 400 'GET /a\x01b HTTP/1.1\r\nHost: t\r\n\r\n'
vector "space in target" 400 'GET /a b HTTP/1.1\r\nHost: t\r\n\r\n'
vector "version HTTP/2.0" 505 'GET / HTTP/2.0\r\nHost: t\r\n\r\n'
vector "version garbage" '400|505' 'GET / HTTX/1.1\r\nHost: t\r\n\r\n'
vector "smuggled second request in CL+TE" 400 "${P}"'Content-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /admin HTTP/1.1\r\nHost: t\r\n\r\n'

step "well-formed requests still reach the backend afterwards"
good "chunked POST" 'POST /last HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n' "POST /last"
good "GET" 'GET /final HTTP/1.1\r\nHost: t\r\n\r\n' "GET /final"
if grep -aq "/admin" "$REC"; then
	fail "the smuggled GET /admin reached the backend"
fi

if [ ${#bad[@]} -gt 0 ]; then
	printf '   %s\n' "${bad[@]}" >&2
	fail "${#bad[@]} problem(s) with malformed requests"
fi
echo "ok"
