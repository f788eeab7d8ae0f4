"""h2hostile.py PORT CAFILE CASE: one hostile HTTP/2 client case against fulcrum's TLS
listener on 127.0.0.1:PORT (SNI a.test), with python3-h2 (and its hyperframe and hpack
for frames h2 itself refuses to send). Prints one line saying what the server did:
  status=N          the stream got a response with status N
  reset=CODE        the stream was reset with that error code (1 = PROTOCOL_ERROR)
  goaway=CODE       the connection got GOAWAY with that code (11 = ENHANCE_YOUR_CALM)
  closed            the connection closed without either
Cases:
  uppercase | no-slash-path | unknown-pseudo | connection-header | te-gzip |
  transfer-encoding | cr-in-value | authority-host | cl-short | cl-long : one request
      (the path carries the case name) that must be refused
  big-headers       a header list over h2_max_header_list_bytes (431)
  rapid-reset N     N streams opened and reset at once
  continuation N    HEADERS without END_HEADERS, then N empty CONTINUATION frames
  stalled-window    a 3 MB response to a stream that grants no window, while a sibling
                    stream on the same connection completes: prints the sibling's status
Every socket wait is bounded (20 s)."""
import socket
import ssl
import sys
import time

import h2.config
import h2.connection
import h2.events
import h2.settings
import hpack
import hyperframe.frame

port, ca, case = int(sys.argv[1]), sys.argv[2], sys.argv[3]
arg = int(sys.argv[4]) if len(sys.argv) > 4 else 0

ctx = ssl.create_default_context(cafile=ca)
ctx.set_alpn_protocols(["h2"])
sock = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=20), server_hostname="a.test")
assert sock.selected_alpn_protocol() == "h2", sock.selected_alpn_protocol()
conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True, validate_outbound_headers=False,
                                                            normalize_outbound_headers=False,
                                                            validate_inbound_headers=False))
conn.initiate_connection()
sock.sendall(conn.data_to_send())
BASE = [(":method", "GET"), (":scheme", "https"), (":authority", "a.test"), (":path", "/p/" + case)]


def send_raw(frames):
    sock.sendall(b"".join(f.serialize() for f in frames))


def wait(stream_ids, deadline=20.0):
    """Reads until every stream in stream_ids ended or was reset, or GOAWAY / close.
    Returns (results by stream id, goaway code or None, closed)."""
    res, goaway, end = {}, None, time.monotonic() + deadline
    while time.monotonic() < end and any(s not in res or not res[s][1] for s in stream_ids):
        try:
            data = sock.recv(65536)
        except (ConnectionResetError, ssl.SSLError, socket.timeout):
            return res, goaway, True
        if not data:
            return res, goaway, True
        try:
            events = conn.receive_data(data)
        except h2.exceptions.ProtocolError:
            return res, goaway, True
        for e in events:
            if isinstance(e, h2.events.ResponseReceived):
                res[e.stream_id] = ("status=" + dict(e.headers)[b":status"].decode(), False)
            elif isinstance(e, h2.events.StreamEnded):
                res[e.stream_id] = (res.get(e.stream_id, ("status=?", False))[0], True)
            elif isinstance(e, h2.events.StreamReset):
                res[e.stream_id] = ("reset=%d" % e.error_code, True)
            elif isinstance(e, h2.events.ConnectionTerminated):
                goaway = e.error_code
                return res, goaway, False
            elif isinstance(e, h2.events.DataReceived):
                conn.acknowledge_received_data(e.flow_controlled_length, e.stream_id)
        try:
            sock.sendall(conn.data_to_send())
        except OSError:
            return res, goaway, True
    return res, goaway, False


def report(res, goaway, closed, sid=1):
    if sid in res:
        print(res[sid][0])
    elif goaway is not None:
        print("goaway=%d" % goaway)
    else:
        print("closed" if closed else "timeout")


def one(headers, body=None, cl_lie=None):
    conn.send_headers(1, headers, end_stream=body is None)
    if body is not None:
        conn.send_data(1, body, end_stream=True)
    sock.sendall(conn.data_to_send())
    report(*wait([1]))


if case == "uppercase":
    one(BASE + [("X-Upper", "1")])
elif case == "no-slash-path":
    one(BASE[:3] + [(":path", "p/no-slash-path")])
elif case == "unknown-pseudo":
    one(BASE + [(":foo", "bar")])
elif case == "connection-header":
    one(BASE + [("connection", "keep-alive")])
elif case == "te-gzip":
    one(BASE + [("te", "gzip")])
elif case == "transfer-encoding":
    one([(":method", "POST")] + BASE[1:] + [("transfer-encoding", "chunked")], body=b"5\r\nhello\r\n0\r\n\r\n")
elif case == "cr-in-value":
    one(BASE + [("x-smuggle", "a\r\nX-Injected: 1")])
elif case == "authority-host":
    one(BASE + [("host", "b.test")])
elif case == "cl-short":
    one([(":method", "POST")] + BASE[1:] + [("content-length", "10")], body=b"hello")
elif case == "cl-long":
    one([(":method", "POST")] + BASE[1:] + [("content-length", "3")], body=b"hello")
elif case == "big-headers":
    one(BASE + [("x-big-%d" % i, "v" * 1000) for i in range(40)])
elif case == "rapid-reset":
    sid = 1
    for _ in range(arg):
        conn.send_headers(sid, BASE, end_stream=True)
        conn.reset_stream(sid)
        sid += 2
    sock.sendall(conn.data_to_send())
    res, goaway, closed = wait([sid])
    print("goaway=%d" % goaway if goaway is not None else ("closed" if closed else "no-goaway"))
elif case == "continuation":
    enc = hpack.Encoder()
    hf = hyperframe.frame.HeadersFrame(1)
    hf.data = enc.encode(BASE)
    hf.flags.add("END_STREAM")  # no END_HEADERS: CONTINUATION frames must follow
    frames = [hf]
    for _ in range(arg):
        frames.append(hyperframe.frame.ContinuationFrame(1))
    send_raw(frames)
    res, goaway, closed = wait([1], 10)
    print("goaway=%d" % goaway if goaway is not None else ("closed" if closed else "no-goaway"))
elif case == "stalled-window":
    # the stream window is tiny; the big stream never gets a WINDOW_UPDATE
    conn.update_settings({h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: 1})
    conn.send_headers(1, BASE[:3] + [(":path", "/blob?bytes=3000000")], end_stream=True)
    sock.sendall(conn.data_to_send())
    time.sleep(1.0)
    conn.update_settings({h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: 65535})
    conn.send_headers(3, BASE[:3] + [(":path", "/p/sibling")], end_stream=True)
    sock.sendall(conn.data_to_send())
    end = time.monotonic() + 20
    got = None
    while time.monotonic() < end and got is None:
        data = sock.recv(65536)
        if not data:
            break
        for e in conn.receive_data(data):
            if isinstance(e, h2.events.ResponseReceived) and e.stream_id == 3:
                got = "status=" + dict(e.headers)[b":status"].decode()
            elif isinstance(e, h2.events.DataReceived) and e.stream_id == 3:
                conn.acknowledge_received_data(e.flow_controlled_length, 3)
        sock.sendall(conn.data_to_send())
    print(got or "sibling-blocked")
else:
    sys.exit("unknown case " + case)
