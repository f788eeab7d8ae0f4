"""http_vectors.py: the differential HTTP check. Each vector is raw bytes a client sends on
a fresh connection to fulcrum (in front of tests/e2e/lib/recbackend.py, which records every
byte it receives), with the expected outcome: the statuses the client gets, whether the
connection is then closed, and what the backend receives: nothing, or exactly these
requests once normalized (method, target, version, the client's fields in order with
fulcrum's own additions checked and set apart, and the body bytes, de-chunked, with a
chunked body's framing re-checked by a strict parser).

  http_vectors.py run --port P --record FILE [--only NAME...]   exit 1 on any mismatch
  http_vectors.py table                                          the Markdown table (docs)

The listener under test: head_max_bytes 32768, header_max_count 100, body_max_bytes
1048576 (t_http_vectors.sh writes that config)."""
import argparse
import re
import socket
import sys
import time

LOOP = "127.0.0.1"
LISTENER_PORT = [None]  # the port under test, as fulcrum's X-Forwarded-Port must say it


class R:
    """A request as the backend must receive it. headers: the client's fields that must
    pass, in order, as (name, value) with value trimmed; fulcrum's X-Forwarded-For,
    X-Forwarded-Proto, X-Forwarded-Host, Forwarded and X-Request-ID are checked apart
    unless listed here (then compared exactly)."""

    def __init__(self, method, target, headers, body=b"", version="HTTP/1.1"):
        self.method, self.target, self.version = method, target, version
        self.headers, self.body = headers, body


class V:
    def __init__(self, name, raw, statuses, fwd=None, closed=None, head=False, note=""):
        self.name, self.raw, self.statuses, self.fwd = name, raw, statuses, fwd
        # errors close the connection; a forwarded request keeps it unless said
        self.closed = closed if closed is not None else (fwd is None)
        self.head, self.note = head, note


H = [("Host", "t")]
P = b"POST / HTTP/1.1\r\nHost: t\r\n"
G = b"GET / HTTP/1.1\r\nHost: t\r\n"
CHUNKED = [("Transfer-Encoding", "chunked")]

VECTORS = [
    # ---- well-formed requests: forwarded faithfully ----
    V("plain GET", G + b"\r\n", [200], [R("GET", "/", H)]),
    V("fragment in the target", b"GET /a%20b/c?x=1&y=%2F#no HTTP/1.1\r\nHost: t\r\n\r\n", [400],
      note="a fragment (#) is never part of a request target (HAProxy CVE-2023-45539)"),
    V("GET with query", b"GET /a%20b/c?x=1&y=%2F HTTP/1.1\r\nHost: t\r\n\r\n", [200],
      [R("GET", "/a%20b/c?x=1&y=%2F", H)]),
    V("POST Content-Length", P + b"Content-Length: 5\r\n\r\nhello", [200],
      [R("POST", "/", H + [("Content-Length", "5")], b"hello")]),
    V("POST Content-Length 0", P + b"Content-Length: 0\r\n\r\n", [200],
      [R("POST", "/", H + [("Content-Length", "0")])]),
    V("CL with leading zeros", P + b"Content-Length: 005\r\n\r\nhello", [200],
      [R("POST", "/", H + [("Content-Length", "005")], b"hello")]),
    V("CL with trailing space", P + b"Content-Length: 5 \r\n\r\nhello", [200],
      [R("POST", "/", H + [("Content-Length", "5")], b"hello")]),
    V("GET with a body", G + b"Content-Length: 3\r\n\r\nabc", [200],
      [R("GET", "/", H + [("Content-Length", "3")], b"abc")]),
    V("POST chunked", P + b"Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n", [200],
      [R("POST", "/", H + CHUNKED, b"hello world")]),
    V("chunked, upper-case hex", P + b"Transfer-Encoding: chunked\r\n\r\nA\r\n0123456789\r\n0\r\n\r\n", [200],
      [R("POST", "/", H + CHUNKED, b"0123456789")]),
    V("chunked, leading zeros in size", P + b"Transfer-Encoding: chunked\r\n\r\n0005\r\nhello\r\n0\r\n\r\n", [200],
      [R("POST", "/", H + CHUNKED, b"hello")]),
    V("chunk extension", P + b"Transfer-Encoding: chunked\r\n\r\n5;name=val\r\nhello\r\n0\r\n\r\n", [200],
      [R("POST", "/", H + CHUNKED, b"hello")]),
    V("chunk extension quoted", P + b"Transfer-Encoding: chunked\r\n\r\n5;a=\"x y\"\r\nhello\r\n0;z\r\n\r\n", [200],
      [R("POST", "/", H + CHUNKED, b"hello")]),
    V("chunked with trailer", P + b"Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\nX-Sum: 1\r\n\r\n", [200],
      [R("POST", "/", H + CHUNKED, b"hello")]),
    V("TE chunked, any case", P + b"Transfer-Encoding: Chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n", [200],
      [R("POST", "/", H + [("Transfer-Encoding", "Chunked")], b"abc")]),
    V("TE gzip, chunked", P + b"Transfer-Encoding: gzip, chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n", [501],
      note="a coding fulcrum does not implement: refused rather than passed on"),
    V("PUT", b"PUT /r HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\n\r\nok", [200],
      [R("PUT", "/r", H + [("Content-Length", "2")], b"ok")]),
    V("DELETE", b"DELETE /r/1 HTTP/1.1\r\nHost: t\r\n\r\n", [200], [R("DELETE", "/r/1", H)]),
    V("PATCH", b"PATCH /r HTTP/1.1\r\nHost: t\r\nContent-Length: 1\r\n\r\nx", [200],
      [R("PATCH", "/r", H + [("Content-Length", "1")], b"x")]),
    V("HEAD", b"HEAD /h HTTP/1.1\r\nHost: t\r\n\r\n", [200], [R("HEAD", "/h", H)], head=True),
    V("OPTIONS path", b"OPTIONS /o HTTP/1.1\r\nHost: t\r\n\r\n", [200], [R("OPTIONS", "/o", H)]),
    V("OPTIONS *", b"OPTIONS * HTTP/1.1\r\nHost: t\r\n\r\n", [200], [R("OPTIONS", "*", H)]),
    V("unknown method token", b"FROB /x HTTP/1.1\r\nHost: t\r\n\r\n", [200], [R("FROB", "/x", H)],
      note="methods are tokens; the backend decides"),
    V("CONNECT", b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n", [501],
      note="a reverse proxy opens no tunnels"),
    V("absolute-form target", b"GET http://t/abs?q=1 HTTP/1.1\r\nHost: t\r\n\r\n", [200],
      [R("GET", "http://t/abs?q=1", H)], note="passed as is; the backend must accept absolute-form"),
    V("HTTP/1.0 without Host", b"GET /old HTTP/1.0\r\n\r\n", [200],
      [R("GET", "/old", [], version="HTTP/1.0")], closed=True,
      note="1.0 needs no Host; the client connection closes after the answer"),
    V("HTTP/1.0 keep-alive", b"GET /old HTTP/1.0\r\nHost: t\r\nConnection: keep-alive\r\n\r\n", [200],
      [R("GET", "/old", H, version="HTTP/1.0")], closed=False),
    V("HTTP/1.1 Connection: close", G + b"Connection: close\r\n\r\n", [200], [R("GET", "/", H)], closed=True),
    V("leading empty line", b"\r\n" + G + b"\r\n", [200], [R("GET", "/", H)],
      note="RFC 9112 2.2: an empty line before the request line is ignored"),
    V("pipelined GETs", G + b"\r\n" + b"GET /2 HTTP/1.1\r\nHost: t\r\n\r\n", [200, 200],
      [R("GET", "/", H), R("GET", "/2", H)]),
    V("OWS trimmed", G + b"X-A:   padded  \r\nX-B:\ttab\t\r\n\r\n", [200],
      [R("GET", "/", H + [("X-A", "padded"), ("X-B", "tab")])]),
    V("empty field value", G + b"X-Empty:\r\n\r\n", [200], [R("GET", "/", H + [("X-Empty", "")])]),
    V("obs-text in a value", G + b"X-Name: caf\xc3\xa9\r\n\r\n", [200],
      [R("GET", "/", H + [("X-Name", "caf\xc3\xa9")])], note="bytes 0x80-0xff are obs-text: passed as is"),
    V("repeated ordinary field", G + b"X-Dup: 1\r\nX-Dup: 2\r\n\r\n", [200],
      [R("GET", "/", H + [("X-Dup", "1"), ("X-Dup", "2")])]),
    V("Host with port", b"GET / HTTP/1.1\r\nHost: shop.example:8080\r\n\r\n", [200],
      [R("GET", "/", [("Host", "shop.example:8080")])]),
    V("hop-by-hop removed", G + b"Connection: keep-alive, X-Hop\r\nX-Hop: 1\r\nKeep-Alive: timeout=5\r\n"
      b"Proxy-Connection: keep-alive\r\nTE: trailers\r\nX-Stay: 2\r\n\r\n", [200],
      [R("GET", "/", H + [("X-Stay", "2")])]),
    V("underscore names dropped", G + b"X_Forwarded_For: 6.6.6.6\r\nX-Ok: 1\r\n\r\n", [200],
      [R("GET", "/", H + [("X-Ok", "1")])], note="WSGI maps _ and - alike: a spoofing path"),
    V("client X-Forwarded-For replaced", G + b"X-Forwarded-For: 203.0.113.9\r\n\r\n", [200],
      [R("GET", "/", H)], note="only a listener with trust_forwarded = true appends to a client's chain"),
    V("client X-Forwarded-Proto replaced", G + b"X-Forwarded-Proto: https\r\nX-Forwarded-Host: evil\r\n\r\n",
      [200], [R("GET", "/", H)]),
    V("client ProxyFix claims replaced", G + b"X-Forwarded-Port: 443\r\nX-Forwarded-Prefix: /admin\r\n"
      b"X-Real-IP: 10.0.0.1\r\nForwarded: for=10.0.0.1;proto=https\r\n\r\n", [200], [R("GET", "/", H)],
      note="X-Forwarded-Port/-Prefix, X-Real-IP and Forwarded are fulcrum's to say"),
    V("client X-Request-ID kept", G + b"X-Request-ID: abc-123\r\n\r\n", [200],
      [R("GET", "/", H + [("X-Request-ID", "abc-123")])]),
    V("unsafe X-Request-ID replaced", G + b'X-Request-ID: x","status":200,"path":"/forged\r\n\r\n', [200],
      [R("GET", "/", H)], note="a request id outside [A-Za-z0-9._:+/=@-] or over 64 bytes gets fulcrum's own"),
    V("8 KB field value", G + b"X-Big: " + b"v" * 8192 + b"\r\n\r\n", [200],
      [R("GET", "/", H + [("X-Big", "v" * 8192)])]),
    V("8 KB target", b"GET /" + b"p" * 8000 + b" HTTP/1.1\r\nHost: t\r\n\r\n", [200],
      [R("GET", "/" + "p" * 8000, H)]),
    V("99 header fields", G + b"".join(b"X-F%d: %d\r\n" % (i, i) for i in range(99)) + b"\r\n", [200],
      [R("GET", "/", H + [("X-F%d" % i, str(i)) for i in range(99)])]),
    V("Expect: 100-continue", P + b"Content-Length: 5\r\nExpect: 100-continue\r\n\r\nhello", [200],
      [R("POST", "/", H + [("Content-Length", "5"), ("Expect", "100-continue")], b"hello")],
      note="the body came with the head: no interim 100 is needed"),
    # ---- refused: the backend receives nothing ----
    V("CL+TE", P + b"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", [400]),
    V("TE+CL", P + b"Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n", [400]),
    V("CL+TE smuggled GET", P + b"Content-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
      b"GET /admin HTTP/1.1\r\nHost: t\r\n\r\n", [400]),
    V("TE xchunked", P + b"Transfer-Encoding: xchunked\r\n\r\n0\r\n\r\n", [400],
      note="not a registered coding: malformed (501 is for known codings not implemented)"),
    V("TE chunked, chunked", P + b"Transfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n", [400]),
    V("two TE fields", P + b"Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", [400]),
    V("Connection names Content-Length", P + b"Connection: Content-Length\r\nContent-Length: 44\r\n\r\n"
      b"GET /smuggled HTTP/1.1\r\nHost: t\r\nX-A: 1234\r\n\r\n", [400],
      note="a hop that honoured it would forward the body as a second request (issue 25)"),
    V("Connection names Transfer-Encoding", P + b"Transfer-Encoding: chunked\r\nConnection: keep-alive, "
      b"transfer-encoding\r\n\r\n5\r\nhello\r\n0\r\n\r\n", [400]),
    V("Connection names Host", G + b"Connection: host\r\n\r\n", [400]),
    V("TE chunked, identity", P + b"Transfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n", [400]),
    V("TE identity", P + b"Transfer-Encoding: identity\r\n\r\n", [501]),
    V("TE gzip alone", P + b"Transfer-Encoding: gzip\r\n\r\nabc", [501],
      note="RFC 9112 6.3: not chunked last in a request: refused"),
    V("TE with vertical tab", P + b"Transfer-Encoding:\x0bchunked\r\n\r\n0\r\n\r\n", [400]),
    V("TE space before colon", P + b"Transfer-Encoding : chunked\r\n\r\n0\r\n\r\n", [400]),
    V("CL twice, same value", P + b"Content-Length: 5\r\nContent-Length: 5\r\n\r\nhello", [400],
      note="RFC allows merging equal values; refusing is the safe choice"),
    V("CL twice, different", P + b"Content-Length: 5\r\nContent-Length: 6\r\n\r\nhello!", [400]),
    V("CL list 5, 5", P + b"Content-Length: 5, 5\r\n\r\nhello", [400]),
    V("CL +5", P + b"Content-Length: +5\r\n\r\nhello", [400]),
    V("CL -1", P + b"Content-Length: -1\r\n\r\nhello", [400]),
    V("CL 0x5", P + b"Content-Length: 0x5\r\n\r\nhello", [400]),
    V("CL overflow", P + b"Content-Length: 99999999999999999999999\r\n\r\nhello", [400]),
    V("CL over body_max_bytes", P + b"Content-Length: 2000000\r\n\r\nhello", [413]),
    V("CL space before colon", P + b"Content-Length : 5\r\n\r\nhello", [400]),
    V("Host twice", b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", [400]),
    V("Host missing in 1.1", b"GET / HTTP/1.1\r\nX-Foo: a\r\n\r\n", [400]),
    V("Host with a space", b"GET / HTTP/1.1\r\nHost: a b\r\n\r\n", [400]),
    V("obs-fold", G + b"X-Foo: a\r\n b\r\n\r\n", [400]),
    V("space before colon", G + b"X-Foo : bar\r\n\r\n", [400]),
    V("bare LF everywhere", b"GET / HTTP/1.1\nHost: t\n\n", [400]),
    V("one bare LF", b"GET / HTTP/1.1\r\nHost: t\nX-Foo: a\r\n\r\n", [400]),
    V("bare CR", b"GET / HTTP/1.1\r\nHost: t\rX-Foo: b\r\n\r\n", [400]),
    V("NUL in a value", G + b"X-Foo: a\x00b\r\n\r\n", [400]),
    V("DEL in a value", G + b"X-Foo: a\x7fb\r\n\r\n", [400]),
    V("NUL in the target", b"GET /a\x00b HTTP/1.1\r\nHost: t\r\n\r\n", [400]),
    V("non-ASCII in the target", b"GET /caf\xc3\xa9 HTTP/1.1\r\nHost: t\r\n\r\n", [400],
      note="a target is ASCII; clients percent-encode"),
    V("bad char in a name", G + b"X[Foo]: a\r\n\r\n", [400]),
    V("non-ASCII in a name", G + b"X-Caf\xc3\xa9: a\r\n\r\n", [400]),
    V("chunk size 0x5", P + b"Transfer-Encoding: chunked\r\n\r\n0x5\r\nhello\r\n0\r\n\r\n", [400]),
    V("chunk size overflow", P + b"Transfer-Encoding: chunked\r\n\r\nffffffffffffffffff\r\nhello\r\n0\r\n\r\n", [400]),
    V("chunk size over body_max_bytes", P + b"Transfer-Encoding: chunked\r\n\r\nfffffff\r\nhello\r\n", [413],
      note="the announced size counts: refused before the head is sent"),
    V("chunk without its CRLF", P + b"Transfer-Encoding: chunked\r\n\r\n5\r\nhelloXX0\r\n\r\n", [400]),
    V("chunk size with space", P + b"Transfer-Encoding: chunked\r\n\r\n5 \r\nhello\r\n0\r\n\r\n", [400]),
    V("chunked with bare LF", P + b"Transfer-Encoding: chunked\r\n\r\n5\nhello\n0\n\n", [400]),
    V("HTTP/1.0 with TE", b"POST / HTTP/1.0\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", [400]),
    V("two spaces in the request line", b"GET  / HTTP/1.1\r\nHost: t\r\n\r\n", [400]),
    V("tab in the request line", b"GET\t/ HTTP/1.1\r\nHost: t\r\n\r\n", [400]),
    V("bad char in the method", b"G(T / HTTP/1.1\r\nHost: t\r\n\r\n", [400]),
    V("control char in the target", b"GET /a\x01b HTTP/1.1\r\nHost: t\r\n\r\n", [400]),
    V("space in the target", b"GET /a b HTTP/1.1\r\nHost: t\r\n\r\n", [400]),
    V("HTTP/0.9 request", b"GET /\r\n\r\n", [400]),
    V("HTTP/2.0 version", b"GET / HTTP/2.0\r\nHost: t\r\n\r\n", [505]),
    V("HTTP/1.2 version", b"GET / HTTP/1.2\r\nHost: t\r\n\r\n", [505]),
    V("version garbage", b"GET / HTTX/1.1\r\nHost: t\r\n\r\n", [400]),
    V("101 header fields", G + b"".join(b"X-F%d: %d\r\n" % (i, i) for i in range(100)) + b"\r\n", [431]),
    V("head over head_max_bytes", G + b"X-Big: " + b"v" * 33000 + b"\r\n\r\n", [431]),
]


# ---- what the backend received ----

def parse_requests(data):
    """Strictly parses recorded bytes into [(method, target, version, [(name, value)],
    body, framing_ok)]; raises ValueError on anything malformed."""
    out = []
    pos = 0
    while pos < len(data):
        end = data.find(b"\r\n\r\n", pos)
        if end < 0:
            raise ValueError("incomplete head: %r" % data[pos:pos + 200])
        lines = data[pos:end].split(b"\r\n")
        m = re.fullmatch(rb"([!#$%&'*+.^_`|~0-9A-Za-z-]+) (\S+) (HTTP/1\.[01])", lines[0])
        if not m:
            raise ValueError("bad request line %r" % lines[0][:200])
        hdrs = []
        for ln in lines[1:]:
            hm = re.fullmatch(rb"([!#$%&'*+.^_`|~0-9A-Za-z-]+):[ \t]*(.*?)[ \t]*", ln, re.S)
            if not hm or b"\n" in ln or b"\r" in ln:
                raise ValueError("bad field line %r" % ln[:200])
            hdrs.append((hm.group(1).decode("latin-1"), hm.group(2).decode("latin-1")))
        pos = end + 4
        names = [k.lower() for k, _ in hdrs]
        body = b""
        if "transfer-encoding" in names:
            while True:
                le = data.find(b"\r\n", pos)
                if le < 0:
                    raise ValueError("chunk size line cut")
                sz = data[pos:le].split(b";", 1)[0]
                if not re.fullmatch(rb"[0-9A-Fa-f]+", sz):
                    raise ValueError("bad chunk size %r" % data[pos:le])
                n = int(sz, 16)
                pos = le + 2
                if n == 0:
                    te = data.find(b"\r\n\r\n", pos - 2)
                    if te < 0:
                        raise ValueError("trailer section cut")
                    pos = te + 4
                    break
                if data[pos + n:pos + n + 2] != b"\r\n":
                    raise ValueError("chunk data not followed by CRLF")
                body += data[pos:pos + n]
                pos += n + 2
        elif "content-length" in names:
            n = int(dict((k.lower(), v) for k, v in hdrs)["content-length"])
            if len(data) < pos + n:
                raise ValueError("body cut: %d of %d bytes" % (len(data) - pos, n))
            body = data[pos:pos + n]
            pos += n
        out.append((m.group(1).decode(), m.group(2).decode("latin-1"), m.group(3).decode(), hdrs, body))
    return out


ADDED = ("x-forwarded-for", "x-forwarded-proto", "x-forwarded-host", "x-forwarded-port", "x-real-ip",
         "forwarded", "x-request-id")


def check_request(got, want):
    """Returns a list of differences between a received request and the expected one."""
    method, target, version, hdrs, body = got
    bad = []
    if (method, target, version) != (want.method, want.target, want.version):
        bad.append("request line %s %s %s, want %s %s %s" % (method, target[:80], version, want.method,
                                                              want.target[:80], want.version))
    listed = {k.lower() for k, _ in want.headers}
    host = [v for k, v in want.headers if k.lower() == "host"]
    rest = []
    seen = {}
    for k, v in hdrs:
        lk = k.lower()
        if lk in ADDED and lk not in listed:
            seen[lk] = seen.get(lk, []) + [v]
            continue
        if lk == "connection" and version == "HTTP/1.0" and v == "keep-alive" and "connection" not in listed:
            continue  # fulcrum keeps its 1.0 backend connection alive
        rest.append((k, v))
    want_added = {"x-forwarded-for": "127.0.0.1", "x-forwarded-proto": "http",
                  "x-forwarded-host": host[0] if host else None, "x-real-ip": "127.0.0.1",
                  "x-forwarded-port": LISTENER_PORT[0]}
    for k, v in want_added.items():
        if k in listed:
            continue
        if v is None:
            if k in seen:
                bad.append("%s added without a Host" % k)
        elif seen.get(k) != [v]:
            bad.append("%s: %s, want [%r]" % (k, seen.get(k), v))
    if "forwarded" not in listed:
        fw = seen.get("forwarded", [])
        if len(fw) != 1 or not fw[0].startswith("for=127.0.0.1;proto=http"):
            bad.append("Forwarded: %s" % fw)
    if "x-request-id" not in listed:
        rid = seen.get("x-request-id", [])
        if len(rid) != 1 or not re.fullmatch(r"[!-~]{8,}", rid[0]):
            bad.append("X-Request-ID: %s" % rid)
    if rest != want.headers:
        bad.append("fields %s, want %s" % (short(rest), short(want.headers)))
    if body != want.body:
        bad.append("body %r, want %r" % (body[:80], want.body[:80]))
    return bad


def short(h):
    return [(k, v if len(v) < 40 else v[:30] + "...(%d)" % len(v)) for k, v in h][:12]


# ---- what the client received ----

def read_responses(data, head_only):
    """[(status, ...)] of complete responses in data and whether bytes are left over."""
    st = []
    pos = 0
    while pos < len(data):
        end = data.find(b"\r\n\r\n", pos)
        if end < 0:
            return st, True
        lines = data[pos:end].split(b"\r\n")
        try:
            code = int(lines[0].split(b" ")[1])
        except (IndexError, ValueError):
            return st, True
        fields = dict((ln.split(b":", 1)[0].strip().lower(), ln.split(b":", 1)[1].strip())
                      for ln in lines[1:] if b":" in ln)
        pos = end + 4
        if code // 100 == 1:
            st.append(code)
            continue
        if head_only or code in (204, 304):
            n = 0
        elif b"content-length" in fields:
            n = int(fields[b"content-length"])
        elif fields.get(b"transfer-encoding", b"").lower() == b"chunked":
            term = data.find(b"\r\n0\r\n\r\n", pos - 2)
            if term < 0:
                return st + [code], True
            n = term + 7 - pos
        else:
            n = len(data) - pos
        if len(data) < pos + n:
            return st + [code], True
        pos += n
        st.append(code)
    return st, False


def run_one(v, port, record):
    before = len(open(record, "rb").read())
    s = socket.create_connection((LOOP, port), timeout=3)
    s.sendall(v.raw)
    data = b""
    closed = False
    want_n = len(v.statuses)
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline:
        st, partial = read_responses(data, v.head)
        # enough: every expected answer is here and nothing more came for 0.3 s
        s.settimeout(0.3 if len([x for x in st if x >= 200]) >= want_n and not partial else
                     max(0.05, deadline - time.monotonic()))
        try:
            chunk = s.recv(65536)
        except socket.timeout:
            if len([x for x in st if x >= 200]) >= want_n:
                break
            continue
        except ConnectionResetError:
            closed = True
            break
        if not chunk:
            closed = True
            break
        data += chunk
    s.close()
    time.sleep(0.15)  # let the backend record what it got
    got = open(record, "rb").read()[before:]
    problems = []
    statuses, partial = read_responses(data, v.head)
    statuses = [x for x in statuses if x >= 200]
    if statuses != v.statuses or partial:
        problems.append("statuses %s%s, want %s" % (statuses, " (+ partial)" if partial else "", v.statuses))
    if closed != v.closed:
        problems.append("connection %s, want %s" % ("closed" if closed else "open", "closed" if v.closed else "open"))
    if v.fwd is None:
        if got:
            problems.append("backend received %d bytes: %r" % (len(got), got[:200]))
    else:
        try:
            reqs = parse_requests(got)
        except ValueError as e:
            problems.append("backend received malformed bytes: %s" % e)
            reqs = None
        if reqs is not None:
            if len(reqs) != len(v.fwd):
                problems.append("backend received %d requests, want %d" % (len(reqs), len(v.fwd)))
            for g, w in zip(reqs, v.fwd):
                problems += check_request(g, w)
    return problems


def cmd_run(a):
    LISTENER_PORT[0] = str(a.port)
    bad = 0
    n = 0
    for v in VECTORS:
        if a.only and v.name not in a.only:
            continue
        n += 1
        p = run_one(v, a.port, a.record)
        if p:
            bad += 1
            print("   BAD  %s: %s" % (v.name, "; ".join(p)))
        else:
            print("   ok   %s" % v.name)
    print("http vectors: %d checked, %d bad" % (n, bad))
    return 1 if bad else 0


def show(b, limit=70):
    s = b.decode("latin-1")
    s = s.encode("unicode_escape").decode("ascii").replace("|", "\\|")
    return s if len(s) <= limit else s[:limit] + "..."


def cmd_table(a):
    print("| # | vector | client sends | status | backend receives | note |")
    print("|---|---|---|---|---|---|")
    for i, v in enumerate(VECTORS, 1):
        if v.fwd is None:
            fw = "nothing"
        else:
            fw = "; ".join("`%s %s`%s%s" % (r.method, show(r.target.encode("latin-1"), 30),
                                             " + %d fields" % len(r.headers) if r.headers else "",
                                             ", body `%s`" % show(r.body, 20) if r.body else "")
                           for r in v.fwd)
        st = ", ".join(str(x) for x in v.statuses) + (" (closed)" if v.closed else "")
        print("| %d | %s | `%s` | %s | %s | %s |" % (i, v.name, show(v.raw), st, fw, v.note))
    return 0


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("run")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--record", required=True)
    p.add_argument("--only", nargs="*")
    sub.add_parser("table")
    a = ap.parse_args()
    return {"run": cmd_run, "table": cmd_table}[a.cmd](a)


if __name__ == "__main__":
    sys.exit(main())
