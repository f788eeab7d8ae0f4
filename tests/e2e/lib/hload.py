"""hload.py: time-bounded keep-alive load for the health tests, one line per request.

  hload.py run --port P --clients C --duration S [--path /work] [--log F] [--pause S]
      C threads with a keep-alive connection each send GETs for S seconds, or until
      SIGTERM (a bounded number: at most 100000 in all); with --log every request is a line
      "start end status instance" (wall-clock seconds). Prints JSON
      {ok, fail, truncated, retried, instances, errors, elapsed}; truncated counts the
      failures where the response had begun and was cut (also counted in fail).
  hload.py shares --log F --instance NAME --from T0 --to T1 [--step S]
      NAME's share of the requests that started in each S-second window of [T0, T1):
      JSON [[window_start, share, requests], ...]
  hload.py last --log F --instance NAME
      start time of the last request NAME answered (0 when none).
"""
import argparse
import http.client
import json
import signal
import sys
import threading
import time

sys.path.insert(0, __import__("os").path.dirname(__file__))
from rawhttp import Client, instance_of  # noqa: E402

MAX_REQUESTS = 100000


def cmd_run(a):
    res = {"ok": 0, "fail": 0, "truncated": 0, "retried": 0, "instances": {}, "errors": []}
    lock = threading.Lock()
    lines = []
    left = [MAX_REQUESTS]
    end = [time.monotonic() + a.duration]

    def stop(signum, frame):
        end[0] = 0

    signal.signal(signal.SIGTERM, stop)

    def worker():
        c = Client("127.0.0.1", a.port, a.timeout)
        while time.monotonic() < end[0]:
            with lock:
                if left[0] <= 0:
                    break
                left[0] -= 1
            t0 = time.time()
            try:
                st, body, retried = c.get(a.path)
                inst = instance_of(body)
                err = None if st == 200 else "status %d %r" % (st, body[:200])
            except Exception as e:  # noqa: BLE001 - every failure counts
                c.close()
                st, inst, retried, err = 0, "-", False, "%s: %s" % (type(e).__name__, e)
                if isinstance(e, http.client.IncompleteRead):
                    with lock:
                        res["truncated"] += 1
            t1 = time.time()
            with lock:
                res["retried"] += 1 if retried else 0
                if err:
                    res["fail"] += 1
                    if len(res["errors"]) < 10:
                        res["errors"].append("%.3f %s" % (t0, err))
                else:
                    res["ok"] += 1
                    res["instances"][inst] = res["instances"].get(inst, 0) + 1
                lines.append("%.4f %.4f %d %s\n" % (t0, t1, st, inst))
            if a.pause:
                time.sleep(a.pause)
        c.close()

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(a.clients)]
    t0 = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        # short joins so the main thread sees SIGTERM
        while t.is_alive() and time.monotonic() - t0 < a.duration + a.timeout + 5:
            t.join(0.2)
    res["elapsed"] = round(time.monotonic() - t0, 3)
    if any(t.is_alive() for t in threads):
        res["errors"].append("clients still running %.0f s after the end" % (a.timeout + 5))
        res["fail"] += 1
    if a.log:
        with open(a.log, "w") as f:
            f.writelines(sorted(lines))
    print(json.dumps(res))
    return 0


def read_log(path):
    out = []
    with open(path) as f:
        for line in f:
            p = line.split()
            if len(p) == 4:
                out.append((float(p[0]), float(p[1]), int(p[2]), p[3]))
    return out


def cmd_shares(a):
    reqs = read_log(a.log)
    out = []
    t = a.start
    while t < a.to:
        win = [r for r in reqs if t <= r[0] < t + a.step]
        mine = sum(1 for r in win if r[3] == a.instance)
        out.append([round(t, 3), round(mine / len(win), 4) if win else 0.0, len(win)])
        t += a.step
    print(json.dumps(out))
    return 0


def cmd_last(a):
    starts = [r[0] for r in read_log(a.log) if r[3] == a.instance]
    print("%.4f" % (max(starts) if starts else 0))
    return 0


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("run")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--clients", type=int, required=True)
    p.add_argument("--duration", type=float, required=True)
    p.add_argument("--path", default="/work")
    p.add_argument("--log")
    p.add_argument("--pause", type=float, default=0.0)
    p.add_argument("--timeout", type=float, default=10.0)
    p = sub.add_parser("shares")
    p.add_argument("--log", required=True)
    p.add_argument("--instance", required=True)
    p.add_argument("--from", dest="start", type=float, required=True)
    p.add_argument("--to", type=float, required=True)
    p.add_argument("--step", type=float, default=2.0)
    p = sub.add_parser("last")
    p.add_argument("--log", required=True)
    p.add_argument("--instance", required=True)
    a = ap.parse_args()
    return {"run": cmd_run, "shares": cmd_shares, "last": cmd_last}[a.cmd](a)


if __name__ == "__main__":
    sys.exit(main())
