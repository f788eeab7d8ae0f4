#!/usr/bin/env bash
# t_http_semantics.sh: responses without a body (HEAD, 204, 304) are framed right, so
# the keep-alive connection goes on to the next request, and Expect: 100-continue gets
# its interim 100 before the body is sent. One client connection per check; the
# answer to the request after the bodiless one proves the framing.
# e2e: pairs
. "$(dirname "$0")/../lib/lib.sh"
need_fulcrum

ports P_WEB P_APP
start_flask web-1 "$P_APP" 2 -k gthread --threads 4
cfg=$T/fulcrum.cfg
{
	cfg_common
	cat <<EOF
listeners = ( { name = "web"; bind = "127.0.0.1:$P_WEB"; mode = "http"; pool = "flask"; } );
pools = ( { name = "flask"; health = { type = "none"; };
            backends = ( { name = "web-1"; address = "127.0.0.1:$P_APP"; } ); } );
EOF
} >"$cfg"
start_fulcrum "$cfg" "$P_WEB"

# seq_on_one_conn FIRST-REQUEST-LINE: sends FIRST then "GET /" on one connection, one
# after the other, and prints the two status codes and the second body.
seq_on_one_conn() {
	"$PY" - "$P_WEB" "$1" <<'PY'
import socket, sys
port, first = int(sys.argv[1]), sys.argv[2]
s = socket.create_connection(("127.0.0.1", port), timeout=5)
f = s.makefile("rb")
def read_response(head_only):
    status = f.readline().split()[1].decode()
    length = None
    while True:
        line = f.readline()
        if line in (b"\r\n", b""):
            break
        k, _, v = line.decode().partition(":")
        if k.strip().lower() == "content-length":
            length = int(v)
    body = b""
    if not head_only and status not in ("204", "304") and length:
        body = f.read(length)
    return status, body
s.sendall(first.encode() + b" HTTP/1.1\r\nHost: t\r\n\r\n")
st1, _ = read_response(first.startswith("HEAD"))
s.sendall(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
st2, body = read_response(False)
print(st1, st2, body.decode().strip())
PY
}

step "HEAD: headers only (Content-Length kept), then the next request on the same connection"
assert_eq "$(seq_on_one_conn "HEAD /blob?bytes=5000")" "200 200 ok web-1" "HEAD then GET"
len=$(curl -sI "http://127.0.0.1:$P_WEB/blob?bytes=5000" | tr -d '\r' | awk -F': ' 'tolower($1)=="content-length" {print $2}')
assert_eq "$len" 5000 "Content-Length of the HEAD response"

step "204 and 304 carry no body"
assert_eq "$(seq_on_one_conn "GET /status/204")" "204 200 ok web-1" "204 then GET"
assert_eq "$(seq_on_one_conn "GET /status/304")" "304 200 ok web-1" "304 then GET"

step "Expect: 100-continue: the interim 100 comes before the body is sent"
head -c 300000 /dev/urandom >"$T/up.bin"
out=$(curl -sv -H 'Expect: 100-continue' --data-binary @"$T/up.bin" "http://127.0.0.1:$P_WEB/echo" 2>&1)
assert_contains "$out" "HTTP/1.1 100 Continue" "interim response seen by curl"
want=$(sha256sum "$T/up.bin" | cut -d' ' -f1)
assert_contains "$out" "\"sha256\":\"$want\"" "body hash after 100-continue"
echo "ok"
