#!/usr/bin/python3
"""Writes the seed corpus of tests/fuzz/fuzz_h2_frames.c into tests/fuzz/corpus/h2_frames/.

Each seed is the target's option byte (bit 0: one frame at a time, bit 1: EOF right after
the last byte, bit 2: a graceful stop after half of the frames, bit 3: the preface and the
first bytes in one write) and then what an HTTP/2 client sends after
the preface. Frames come from hyperframe, header blocks from hpack (python3-hyperframe,
python3-hpack: Debian's, hence /usr/bin/python3); invalid frames are written by hand.
Run from anywhere: python3 tests/fuzz/corpus/h2_frames.py
"""
import os
import struct

from hpack import Encoder
from hyperframe.frame import (ContinuationFrame, DataFrame, GoAwayFrame, HeadersFrame, PingFrame,
                              PriorityFrame, RstStreamFrame, SettingsFrame, WindowUpdateFrame)

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "h2_frames")

ONE_BY_ONE, EOF_EARLY, STOP, WITH_PREFACE = 1, 2, 4, 8


def raw(ftype, flags, sid, payload=b""):
    """A frame as bytes, whatever its type, flags and length say."""
    return struct.pack(">I", len(payload))[1:] + bytes([ftype, flags]) + struct.pack(">I", sid) + payload


def req(method="GET", path="/", extra=()):
    return [(":method", method), (":scheme", "http"), (":path", path),
            (":authority", "fuzz.test")] + list(extra)


class Conn:
    """One client connection's frames, with its HPACK encoder."""

    def __init__(self, settings=None):
        self.enc = Encoder()
        s = SettingsFrame(0)
        for k, v in (settings or {}).items():
            s.settings[k] = v
        self.out = [s.serialize()]

    def add(self, *frames):
        for f in frames:
            self.out.append(f if isinstance(f, bytes) else f.serialize())
        return self

    def headers(self, sid, fields, end=True, flags=()):
        f = HeadersFrame(sid)
        f.data = self.enc.encode(fields)
        f.flags.add("END_HEADERS")
        if end:
            f.flags.add("END_STREAM")
        for fl in flags:
            f.flags.add(fl)
        return self.add(f)

    def data(self, sid, data, end=False):
        f = DataFrame(sid)
        f.data = data
        if end:
            f.flags.add("END_STREAM")
        return self.add(f)

    def bytes(self):
        return b"".join(self.out)


def seeds():
    s = {}
    s["get"] = (0, Conn().headers(1, req()))
    s["get_big"] = (0, Conn().headers(1, req(path="/big/file")))
    s["get_big_frame_by_frame"] = (ONE_BY_ONE, Conn().headers(1, req(path="/big/file")))
    s["head_and_redirect"] = (ONE_BY_ONE, Conn().headers(1, req("HEAD", "/big"))
                              .headers(3, req(path="/old/page?q=1")))
    s["no_backend_503"] = (0, Conn().headers(1, req(path="/none/x")))
    s["post_content_length"] = (ONE_BY_ONE, Conn()
                                .headers(1, req("POST", "/", [("content-length", "11")]), end=False)
                                .data(1, b"hello world", end=True))
    s["post_chunked_trailers"] = (ONE_BY_ONE, Conn()
                                  .headers(1, req("POST", "/big"), end=False)
                                  .data(1, b"part one, ").data(1, b"part two")
                                  .headers(1, [("x-checksum", "abc")], end=True))
    s["content_length_mismatch"] = (0, Conn()
                                    .headers(1, req("POST", "/", [("content-length", "5")]), end=False)
                                    .data(1, b"0123456789", end=True))
    c = Conn()
    block = c.enc.encode(req(path="/big", extra=[("x-long", "v" * 200)]))
    h = HeadersFrame(1, data=block[:10], flags=["END_STREAM"])
    c.add(h, ContinuationFrame(1, data=block[10:60]), ContinuationFrame(1, data=block[60:120]),
          ContinuationFrame(1, data=block[120:], flags=["END_HEADERS"]))
    s["continuation"] = (ONE_BY_ONE, c)
    c = Conn()
    block = c.enc.encode(req())
    c.add(HeadersFrame(1, data=block[:1], flags=["END_STREAM"]))
    for i in range(1, 40):
        c.add(ContinuationFrame(1, data=block[i:i + 1] if i < len(block) else b""))
    s["continuation_flood"] = (0, c)
    c = Conn()
    for i in range(10):
        c.headers(1 + 2 * i, req(path="/big"), end=False)
        c.add(RstStreamFrame(1 + 2 * i, error_code=8))
    s["rst_burst"] = (0, c)
    s["rst_burst_with_preface"] = (WITH_PREFACE, c)
    s["get_with_preface"] = (WITH_PREFACE, Conn().headers(1, req(path="/big")).headers(3, req(path="/none")))
    s["settings_ping"] = (ONE_BY_ONE, Conn({SettingsFrame.HEADER_TABLE_SIZE: 0, SettingsFrame.MAX_FRAME_SIZE: 20000,
                                            SettingsFrame.INITIAL_WINDOW_SIZE: 100,
                                            SettingsFrame.ENABLE_PUSH: 0})
                          .add(PingFrame(0, opaque_data=b"12345678"), SettingsFrame(0, flags=["ACK"]))
                          .headers(1, req(path="/big")).add(PingFrame(0, opaque_data=b"abcdefgh")))
    s["window_update"] = (ONE_BY_ONE, Conn({SettingsFrame.INITIAL_WINDOW_SIZE: 0})
                          .headers(1, req(path="/big"))
                          .add(WindowUpdateFrame(1, window_increment=1000), WindowUpdateFrame(0, window_increment=1000),
                               WindowUpdateFrame(1, window_increment=5000),
                               SettingsFrame(0, settings={SettingsFrame.INITIAL_WINDOW_SIZE: 65535})))
    c = Conn()
    for i in range(20):
        c.headers(1 + 2 * i, req(path="/big/%d" % i))
    s["connection_window"] = (ONE_BY_ONE, c)
    s["bad_frame_after_preface"] = (0, b"GET / HTTP/1.1\r\nHost: fuzz.test\r\n\r\n")
    s["priority"] = (ONE_BY_ONE, Conn()
                     .add(PriorityFrame(3, depends_on=0, stream_weight=200), PriorityFrame(5, depends_on=3, exclusive=True))
                     .headers(1, req(), flags=["PRIORITY"])
                     .add(PriorityFrame(1, depends_on=1)))
    s["goaway_from_client"] = (ONE_BY_ONE, Conn().headers(1, req(path="/big"), end=False)
                               .add(GoAwayFrame(0, last_stream_id=0, error_code=0, additional_data=b"bye"))
                               .headers(3, req()).data(1, b"", end=True))
    c = Conn().headers(1, req("POST", "/"), end=False)
    for _ in range(300):
        c.add(raw(0, 0, 1))
    s["empty_data_flood"] = (0, c)
    c = Conn()
    for i in range(12):
        c.headers(1 + 2 * i, req("POST", "/none"), end=False)
    s["too_many_streams"] = (0, c)
    s["header_list_431"] = (0, Conn().headers(1, req(extra=[("x-big-%d" % i, "y" * 100) for i in range(12)])))
    s["malformed_fields"] = (ONE_BY_ONE, Conn().headers(1, req(extra=[("X-Upper", "1")]))
                             .headers(3, req(extra=[("connection", "close")]))
                             .headers(5, [(":method", "GET"), (":path", "/")]).headers(7, req()))
    s["data_on_idle_stream"] = (0, Conn().add(raw(0, 1, 3, b"xyz")))
    s["eof_mid_body"] = (EOF_EARLY, Conn().headers(1, req("POST", "/big", [("content-length", "100")]), end=False)
                         .data(1, b"a" * 50))
    s["graceful_stop"] = (STOP | ONE_BY_ONE, Conn().headers(1, req("POST", "/big"), end=False)
                          .headers(3, req("POST", "/none"), end=False).data(1, b"x")
                          .headers(5, req()).data(1, b"y", end=True).data(3, b"", end=True))
    s["static_big"] = (ONE_BY_ONE, Conn({SettingsFrame.INITIAL_WINDOW_SIZE: 1 << 20})
                       .headers(1, req(path="/static/big.txt"))
                       .add(WindowUpdateFrame(0, window_increment=1 << 20)))
    s["static_big_slow_reader"] = (ONE_BY_ONE, Conn({SettingsFrame.INITIAL_WINDOW_SIZE: 100})
                                   .headers(1, req(path="/static/big.txt")).headers(3, req(path="/static/"))
                                   .add(WindowUpdateFrame(1, window_increment=70000),
                                        WindowUpdateFrame(0, window_increment=70000),
                                        RstStreamFrame(1, error_code=8)))
    s["static_range_conditional"] = (0, Conn()
                                     .headers(1, req(path="/static/big.txt", extra=[("range", "bytes=100-199")]))
                                     .headers(3, req(path="/static/index.html", extra=[("if-none-match", "*")]))
                                     .headers(5, req(path="/static/sub"))
                                     .headers(7, req("POST", "/static/index.html"), end=False).data(7, b"z", end=True))
    s["bad_frame_sizes"] = (ONE_BY_ONE, Conn().add(raw(6, 0, 0, b"1234"), raw(8, 0, 1, b"\0\0"),
                                                    raw(3, 0, 1, b"\0\0\0"), raw(4, 0, 0, b"\0\0\0")))
    return s


def main():
    os.makedirs(OUT, exist_ok=True)
    for name, (opt, c) in sorted(seeds().items()):
        body = c if isinstance(c, bytes) else c.bytes()
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(bytes([opt]) + body)


if __name__ == "__main__":
    main()
