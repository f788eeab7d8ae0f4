"""slow_clients.py HOST PORT SECONDS [options]: slow HTTP/1.1 clients for
bench/slow_clients.sh. Half of them ("readers") repeatedly GET a large response and read
it at a fixed pace; the other half ("writers") repeatedly POST a large body at the same
pace and read the short answer. Each client keeps its connection alive and reconnects
when the server closes it or after an error. Everything stops SECONDS after the start
(transfers still running then count as neither done nor failed).

A reader sets a small SO_RCVBUF before connecting, so the kernel cannot take the whole
response at once and the server (the proxy) has to hold it or wait: the pacing is what
the proxy sees. A writer paces its own sends (and keeps a small SO_SNDBUF).

Prints one line: "GETS_DONE POSTS_DONE ERRORS BODY_BYTES" (body bytes moved both ways,
finished transfers or not). Options: --clients N (48, half each), --bytes N (262144),
--rate BYTES_PER_S (32768), --get-path (/blob?bytes=BYTES&ms=20), --put-path
(/echo?ms=20), --rcvbuf (16384), --chunk (4096), --kind both|get|put (both: half
each; else all readers or all writers), -v (each error on stderr)."""
import argparse
import asyncio
import socket
import sys


class Stats:
    def __init__(self):
        self.get_done = 0
        self.put_done = 0
        self.errors = 0
        self.bytes = 0


class TransferError(Exception):
    pass


async def connect(loop, host, port, bufsize, rcv):
    """A non-blocking connected socket with SO_RCVBUF (rcv) or SO_SNDBUF set to bufsize
    before the connection exists (the window is negotiated at the handshake)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF if rcv else socket.SO_SNDBUF, bufsize)
    sock.setblocking(False)
    try:
        await loop.sock_connect(sock, (host, port))
    except BaseException:
        sock.close()
        raise
    return sock


async def read_head(loop, sock, chunk):
    """Reads until the end of a response head; returns (status, headers dict, leftover
    body bytes)."""
    buf = b""
    while b"\r\n\r\n" not in buf:
        if len(buf) > 65536:
            raise TransferError("response head too long")
        data = await loop.sock_recv(sock, chunk)
        if not data:
            raise TransferError("closed before the response head")
        buf += data
    head, rest = buf.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    if len(parts) < 2 or not parts[1].isdigit():
        raise TransferError("bad status line %r" % lines[0])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return int(parts[1]), headers, rest


async def paced_body(loop, sock, length, rest, rate, chunk, stats):
    """Reads a Content-Length body of length bytes (rest already read) at rate bytes/s;
    returns the body's first 4 KiB (enough to check a small answer)."""
    got = len(rest)
    start = loop.time()
    keep = rest[:4096]
    while got < length:
        due = start + got / rate
        now = loop.time()
        if due > now:
            await asyncio.sleep(due - now)
        data = await loop.sock_recv(sock, min(chunk, length - got))
        if not data:
            raise TransferError("closed after %d of %d body bytes" % (got, length))
        got += len(data)
        stats.bytes += len(data)
        if len(keep) < 4096:
            keep += data[:4096 - len(keep)]
    return keep


async def reader(loop, args, stats):
    """One slow downloader: GET, read the body at the pace, again."""
    sock = None
    req = ("GET %s HTTP/1.1\r\nHost: %s\r\n\r\n" % (args.get_path, args.host)).encode()
    while True:
        try:
            if sock is None:
                sock = await connect(loop, args.host, args.port, args.rcvbuf, True)
            await loop.sock_sendall(sock, req)
            status, headers, rest = await read_head(loop, sock, args.chunk)
            if status != 200 or "content-length" not in headers:
                raise TransferError("status %d, content-length %s" % (status, headers.get("content-length")))
            length = int(headers["content-length"])
            stats.bytes += min(len(rest), length)
            await paced_body(loop, sock, length, rest, args.rate, args.chunk, stats)
            if length != args.bytes:
                raise TransferError("got %d bytes, not %d" % (length, args.bytes))
            stats.get_done += 1
            if headers.get("connection", "").lower() == "close":
                sock.close()
                sock = None
        except (OSError, TransferError, ValueError) as e:
            stats.errors += 1
            if args.verbose:
                print("reader: %s" % e, file=sys.stderr)
            if sock is not None:
                sock.close()
                sock = None
            await asyncio.sleep(0.2)


async def writer(loop, args, stats):
    """One slow uploader: POST a body at the pace, read the answer, again."""
    sock = None
    head = ("POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/octet-stream\r\n"
            "Content-Length: %d\r\n\r\n" % (args.put_path, args.host, args.bytes)).encode()
    piece = b"u" * args.chunk
    while True:
        try:
            if sock is None:
                sock = await connect(loop, args.host, args.port, args.rcvbuf, False)
            await loop.sock_sendall(sock, head)
            sent = 0
            start = loop.time()
            while sent < args.bytes:
                due = start + sent / args.rate
                now = loop.time()
                if due > now:
                    await asyncio.sleep(due - now)
                n = min(args.chunk, args.bytes - sent)
                await loop.sock_sendall(sock, piece[:n])
                sent += n
                stats.bytes += n
            status, headers, rest = await read_head(loop, sock, args.chunk)
            if status != 200 or "content-length" not in headers:
                raise TransferError("status %d, content-length %s" % (status, headers.get("content-length")))
            body = await paced_body(loop, sock, int(headers["content-length"]), rest, 1e9, 65536, Stats())
            if b'"length":%d' % args.bytes not in body.replace(b" ", b""):
                raise TransferError("answer does not say length %d: %r" % (args.bytes, body[:200]))
            stats.put_done += 1
            if headers.get("connection", "").lower() == "close":
                sock.close()
                sock = None
        except (OSError, TransferError, ValueError) as e:
            stats.errors += 1
            if args.verbose:
                print("writer: %s" % e, file=sys.stderr)
            if sock is not None:
                sock.close()
                sock = None
            await asyncio.sleep(0.2)


async def run(args):
    loop = asyncio.get_running_loop()
    stats = Stats()
    tasks = []
    n = args.clients
    for i in range(n):
        # started spread over the first second, so that they do not all line up
        async def one(i=i):
            await asyncio.sleep(i / n)
            down = args.kind == "get" or (args.kind == "both" and i % 2 == 0)
            await (reader if down else writer)(loop, args, stats)
        tasks.append(asyncio.ensure_future(one()))
    await asyncio.sleep(args.seconds)
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    return stats


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("host")
    ap.add_argument("port", type=int)
    ap.add_argument("seconds", type=float)
    ap.add_argument("--clients", type=int, default=48)
    ap.add_argument("--bytes", type=int, default=262144)
    ap.add_argument("--rate", type=float, default=32768)
    ap.add_argument("--get-path")
    ap.add_argument("--put-path", default="/echo?ms=20")
    ap.add_argument("--rcvbuf", type=int, default=16384)
    ap.add_argument("--chunk", type=int, default=4096)
    ap.add_argument("--kind", choices=("both", "get", "put"), default="both")
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args()
    if not (0 < args.seconds <= 3600 and args.clients > 0 and args.bytes > 0 and args.rate > 0):
        sys.exit("slow_clients.py: bad arguments")
    if args.get_path is None:
        args.get_path = "/blob?bytes=%d&ms=20" % args.bytes
    stats = asyncio.run(run(args))
    print(stats.get_done, stats.put_done, stats.errors, stats.bytes)


if __name__ == "__main__":
    main()
