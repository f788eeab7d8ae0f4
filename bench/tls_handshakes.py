"""tls_handshakes.py HOST PORT SECONDS PROCESSES: full TLS handshakes, one request each.

Each of PROCESSES processes loops for SECONDS: connect, full TLS handshake, "GET /" with
"Connection: close", read the response to EOF, close. No session is ever offered for
resumption (each connection gets a fresh SSL object and no saved session), which wrk and
h2load cannot promise: both keep the session of the previous connection and resume it
whenever the server allows (stateful TLS 1.3 tickets from a session cache), so with them
a "handshake per request" run measures resumptions. Prints wrk-style lines
("N requests in Xs", "Requests/sec: R", "Socket errors: ...") for bench/run.sh's parser.
Bounded: every socket operation has a 5 s timeout; the run ends after SECONDS."""
import multiprocessing
import socket
import ssl
import sys
import time


def worker(host, port, seconds, out):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    request = b"GET / HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n"
    ok = errors = resumed = 0
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        try:
            with socket.create_connection((host, port), timeout=5) as raw:
                with ctx.wrap_socket(raw, server_hostname="bench.test") as s:
                    resumed += 1 if s.session_reused else 0
                    s.sendall(request)
                    data = b""
                    while True:
                        chunk = s.recv(4096)
                        if not chunk:
                            break
                        data += chunk
            if data.startswith(b"HTTP/1.1 200"):
                ok += 1
            else:
                errors += 1
        except (OSError, ssl.SSLError):
            errors += 1
    out.put((ok, errors, resumed))


def main():
    if len(sys.argv) != 5:
        sys.exit("usage: tls_handshakes.py HOST PORT SECONDS PROCESSES")
    host, port, seconds, procs = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
    out = multiprocessing.Queue()
    ps = [multiprocessing.Process(target=worker, args=(host, port, seconds, out)) for _ in range(procs)]
    start = time.monotonic()
    for p in ps:
        p.start()
    results = [out.get(timeout=seconds + 60) for _ in ps]
    for p in ps:
        p.join(timeout=10)
    elapsed = time.monotonic() - start
    ok = sum(r[0] for r in results)
    errors = sum(r[1] for r in results)
    resumed = sum(r[2] for r in results)
    print("  %d requests in %.2fs, %d resumed" % (ok, elapsed, resumed))
    print("Requests/sec: %.2f" % (ok / elapsed))
    print("Socket errors: connect 0, read %d, write 0, timeout 0" % errors)
    if resumed:
        sys.exit("tls_handshakes: %d handshakes resumed a session" % resumed)


if __name__ == "__main__":
    main()
