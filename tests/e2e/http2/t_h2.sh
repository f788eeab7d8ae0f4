#!/usr/bin/env bash
# t_h2.sh: HTTP/2 on a TLS listener, on by default (issue 21). curl --http2 gets h2 by
# ALPN (curl without it, and a listener with http2 = false, stay on HTTP/1.1); GET, HEAD,
# POST with a content-length and a chunked-size upload (no content-length) reach
# gunicorn as HTTP/1.1 with Host from :authority and X-Forwarded-Proto https; a large
# body comes whole; many streams on one connection (h2load) all succeed, spread over
# two backends; a chunked response's trailers become HTTP/2 trailers (content-length
# among them dropped); a stream to a dead backend gets its 502/503 while its siblings succeed;
# a plain listener with h2c = true speaks HTTP/2 to a client that starts with its
# preface (prior knowledge) and HTTP/1.1 to others;
# the access log has one line per stream with proto h2 and the stream id; /metrics
# counts h2 connections and streams.
# e2e: pairs
. "$(dirname "$0")/../lib/lib.sh"
. "$(dirname "$0")/../lib/tls_lib.sh"
need_fulcrum

ports P_WEB P_H1 P_C P_APP P_APP2 P_DEAD P_CTL P_TRL
start_flask web-1 "$P_APP" 4
start_flask web-2 "$P_APP2" 4
bg trl TERM "$PY" "$E2E_DIR/recbackend.py" --port "$P_TRL" --record "$T/trl.bin" --mode trailers
wait_listen "$P_TRL" "$LAST_PID"
tls_ca ca
tls_cert srv ca rsa "/CN=a.test" "DNS:a.test"
cfg=$T/fulcrum.cfg
{
	cfg_common
	cat <<EOF2
control = { listen = "127.0.0.1:$P_CTL"; };
listeners = ( { name = "web"; bind = "127.0.0.1:$P_WEB"; mode = "http"; pool = "flask"; h2_header_table_bytes = 1024;
                routes = ( { name = "dead"; path_prefix = "/dead/"; pool = "dead"; },
                           { name = "trailers"; path_prefix = "/trailers/"; pool = "trl"; } );
                tls = { certificates = ( { cert = "srv.crt"; key = "srv.key"; } ); }; },
              { name = "h1"; bind = "127.0.0.1:$P_H1"; mode = "http"; pool = "flask"; http2 = false;
                tls = { certificates = ( { cert = "srv.crt"; key = "srv.key"; } ); }; },
              { name = "h2c"; bind = "127.0.0.1:$P_C"; mode = "http"; pool = "flask"; h2c = true; } );
pools = ( { name = "flask"; health = { type = "none"; };
            backends = ( { name = "web-1"; address = "127.0.0.1:$P_APP"; max_conns = 4; },
                         { name = "web-2"; address = "127.0.0.1:$P_APP2"; max_conns = 4; } ); },
          { name = "trl"; health = { type = "none"; };
            backends = ( { name = "trl-1"; address = "127.0.0.1:$P_TRL"; } ); },
          { name = "dead"; health = { type = "none"; }; retries = 0;
            backends = ( { name = "gone"; address = "127.0.0.1:$P_DEAD"; } ); } );
EOF2
} >"$cfg"
start_fulcrum "$cfg" "$P_WEB" "$P_CTL"
h2() { curl -sS --noproxy '*' --max-time 20 --cacert "$T/ca.crt" --resolve "a.test:$P_WEB:127.0.0.1" --http2 "$@"; }
u="https://a.test:$P_WEB"

step "ALPN: h2 by default on a TLS listener, HTTP/1.1 with http2 = false"
assert_eq "$(h2 -o /dev/null -w '%{http_version}' "$u/")" 2 "curl --http2 speaks h2"
assert_eq "$(h2 --http1.1 -o /dev/null -w '%{http_version}' "$u/")" 1.1 "curl --http1.1 stays on HTTP/1.1"
assert_eq "$(curl -sS --noproxy '*' --cacert "$T/ca.crt" --resolve "a.test:$P_H1:127.0.0.1" --http2 -o /dev/null \
	-w '%{http_version}' "https://a.test:$P_H1/")" 1.1 "a listener with http2 = false offers no h2"

step "cleartext h2c with prior knowledge (h2c = true), HTTP/1.1 beside it"
assert_eq "$(curl -sS --noproxy '*' --max-time 10 --http2-prior-knowledge -o /dev/null -w '%{http_version} %{http_code}' \
	"http://127.0.0.1:$P_C/")" "2 200" "curl --http2-prior-knowledge"
assert_eq "$(curl -sS --noproxy '*' --max-time 10 -o /dev/null -w '%{http_version} %{http_code}' "http://127.0.0.1:$P_C/")" \
	"1.1 200" "HTTP/1.1 on the same listener"
out=$(curl -sS --noproxy '*' --max-time 10 --http2-prior-knowledge "http://127.0.0.1:$P_C/headers")
proto=$(json_get "$out" "dict((k.lower(), v) for k, v in d['headers']).get('x-forwarded-proto')")
assert_eq "$proto" http "X-Forwarded-Proto http over h2c"
# a rapid-reset burst in the same write as the preface: the connection error comes in the
# session's first read, and its GOAWAY ENHANCE_YOUR_CALM still goes out before the close
out=$("$PY" - "$P_C" <<'PY'
import socket, struct, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
def frame(t, flags, sid, payload=b""):
    return struct.pack(">I", len(payload))[1:] + bytes([t, flags]) + struct.pack(">I", sid) + payload
block = bytes([0x82, 0x86, 0x84, 0x01, 0x01, 0x61])  # GET http / with :authority "a"
burst = b"".join(frame(1, 0x5, sid, block) + frame(3, 0, sid, struct.pack(">I", 8))
                 for sid in range(1, 2 * 260, 2))
s.sendall(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + frame(4, 0, 0) + burst)
data = b""
try:
    while True:
        d = s.recv(65536)
        if not d:
            break
        data += d
except OSError:
    pass
out, p = [], 0
while p + 9 <= len(data):
    n, t = int.from_bytes(data[p:p + 3], "big"), data[p + 3]
    if t == 7:
        out.append("goaway=%d" % int.from_bytes(data[p + 13:p + 17], "big"))
    p += 9 + n
print(" ".join(out) or "no goaway")
PY
)
assert_eq "$out" "goaway=11" "frames after a reset burst read with the preface"

step "requests over h2 reach gunicorn as HTTP/1.1"
out=$(h2 "$u/headers")
host=$(json_get "$out" "dict((k.lower(), v) for k, v in d['headers'])['host']")
assert_eq "$host" "a.test:$P_WEB" "Host from :authority"
proto=$(json_get "$out" "dict((k.lower(), v) for k, v in d['headers']).get('x-forwarded-proto')")
assert_eq "$proto" https "X-Forwarded-Proto"
assert_eq "$(h2 -I -o /dev/null -w '%{http_code}' "$u/")" 200 "HEAD"
head -c 300000 /dev/urandom >"$T/up.bin"
want=$(sha256sum "$T/up.bin" | cut -d' ' -f1)
got=$(h2 --data-binary @"$T/up.bin" "$u/echo")
assert_eq "$(json_get "$got" "d['sha256']")" "$want" "POST with a content-length: the body whole"
got=$(h2 -H 'Content-Length:' -H 'Transfer-Encoding:' --data-binary @"$T/up.bin" "$u/echo" || true)
assert_eq "$(json_get "$got" "d['length']")" 300000 "POST without a content-length: sent chunked, whole"
for q in "bytes=3000000" "bytes=3000000&chunked=1"; do
	h2 -o "$T/blob" "$u/blob?$q"
	assert_eq "$(sha256sum "$T/blob" | cut -d' ' -f1)" "$("$PY" "$E2E_DIR/blob.py" 3000000 --sha256)" "a 3 MB response ($q), whole"
done

step "a backend's trailers come as HTTP/2 trailers, without the fields that may not be"
out=$(h2 -D - "$u/trailers/x" | tr -d '\r')
echo "$out" | sed 's/^/   /'
assert_match "$out" $'\nok [0-9]+\nx-checksum: [0-9]+\nserver-timing: app;dur=1.5$' "body, then the trailer fields"
assert_not_contains "$(echo "$out" | sed -n '/^ok /,$p')" "content-length" "a content-length trailer"

step "SETTINGS: the limits a client is told (h2_header_table_bytes = 1024, the defaults)"
out=$(nghttp -v -t 20 "https://127.0.0.1:$P_WEB/" 2>&1 | sed -n '/recv SETTINGS frame/,/^\[/p')
echo "$out" | grep SETTINGS_ | sed 's/^/   /'
assert_contains "$out" "SETTINGS_HEADER_TABLE_SIZE(0x01):1024" "HPACK table"
assert_contains "$out" "SETTINGS_MAX_CONCURRENT_STREAMS(0x03):100" "concurrent streams"
assert_contains "$out" "SETTINGS_MAX_HEADER_LIST_SIZE(0x06):32768" "header list"

step "many streams on one connection (h2load)"
h2load -n 200 -c 1 -m 20 "$u/work?ms=10" --h1 >/dev/null 2>&1 || true
out=$(h2load -n 200 -c 2 -m 20 "https://127.0.0.1:$P_WEB/work?ms=10" 2>&1)
echo "$out" | grep -E "requests:|status codes:" | sed 's/^/   /'
assert_contains "$out" "200 succeeded" "200 streams succeeded"
assert_contains "$out" "Application protocol: h2" "over h2"

step "a stream to a dead backend fails alone; its siblings succeed"
out=$("$PY" - "$P_WEB" "$T/ca.crt" <<'PY'
import socket, ssl, sys
import h2.connection, h2.config, h2.events
port, ca = int(sys.argv[1]), sys.argv[2]
ctx = ssl.create_default_context(cafile=ca)
ctx.set_alpn_protocols(["h2"])
s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=20), server_hostname="a.test")
c = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
c.initiate_connection()
paths = ["/p/a", "/dead/x", "/p/b", "/p/c"]
for i, p in enumerate(paths):
    c.send_headers(1 + 2 * i, [(":method", "GET"), (":scheme", "https"), (":authority", "a.test"), (":path", p)], end_stream=True)
s.sendall(c.data_to_send())
status, done = {}, set()
while len(done) < len(paths):
    data = s.recv(65536)
    if not data:
        break
    for e in c.receive_data(data):
        if isinstance(e, h2.events.ResponseReceived):
            status[e.stream_id] = dict(e.headers)[b":status"].decode()
        elif isinstance(e, h2.events.StreamEnded) or isinstance(e, h2.events.StreamReset):
            done.add(e.stream_id)
    s.sendall(c.data_to_send())
print(" ".join("%s=%s" % (p, status.get(1 + 2 * i, "reset")) for i, p in enumerate(paths)))
PY
)
assert_match "$out" '^/p/a=200 /dead/x=50[234] /p/b=200 /p/c=200$' "siblings 200, the dead one 5xx ($out)"

step "the access log: one line per stream, proto h2 and its stream id"
alog_wait 4 proto=h2 path~=/p/
assert_cmp "$(alog count proto=h2 path~=/p/)" ">=" 3 "h2 lines"
assert_eq "$(alog count proto=h2 path=/p/b stream=5)" 1 "the stream id"
assert_cmp "$(alog count proto=h1)" ">=" 1 "HTTP/1.1 lines say h1"

step "metrics"
m=$(hcurl "http://127.0.0.1:$P_CTL/metrics")
assert_match "$(echo "$m" | grep '^fulcrum_listener_h2_connections_total{listener="web"}')" ' [1-9][0-9]*$' "h2 connections counted"
assert_match "$(echo "$m" | grep '^fulcrum_listener_h2_streams_total{listener="web"}')" ' [1-9][0-9]*$' "h2 streams counted"
st=$(hcurl "http://127.0.0.1:$P_CTL/v1/stats")
assert_cmp "$(json_get "$st" "d['h2']['connections']")" ">=" 1 "GET /v1/stats: h2 connections (the status page's line)"
assert_cmp "$(json_get "$st" "d['h2']['streams']")" ">=" 200 "GET /v1/stats: h2 streams"
