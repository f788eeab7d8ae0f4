"""herd.py URL N: N threads send GET URL at the same moment (a barrier), each on its own
connection, and print one line per distinct (status, body) with its count, most first.
Every request is bounded by a 20 s timeout; a failed one counts as status 0."""
import collections
import http.client
import sys
import threading
import urllib.parse

url, n = sys.argv[1], int(sys.argv[2])
u = urllib.parse.urlsplit(url)
target = u.path + ("?" + u.query if u.query else "")
barrier = threading.Barrier(n, timeout=30)
results = collections.Counter()
lock = threading.Lock()


def one():
    status, body = 0, b""
    try:
        c = http.client.HTTPConnection(u.hostname, u.port, timeout=20)
        c.connect()
        barrier.wait()
        c.request("GET", target)
        r = c.getresponse()
        status, body = r.status, r.read()
        c.close()
    except Exception as e:  # noqa: BLE001 - any failure is a result to count
        body = repr(e).encode()
    with lock:
        results[(status, body.split(b"\n")[0].decode(errors="replace"))] += 1


threads = [threading.Thread(target=one) for _ in range(n)]
for t in threads:
    t.start()
for t in threads:
    t.join()
for (status, first), k in results.most_common():
    print("%d %d %s" % (k, status, first))
