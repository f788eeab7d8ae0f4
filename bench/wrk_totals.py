"""wrk_totals.py: reads wrk's output on stdin; prints "requests rps errors" (errors:
non-2xx/3xx responses plus socket errors). Used by bench/run.sh and bench/routes.sh."""
import re, sys
out = sys.stdin.read()
n = int(re.search(r"(\d+) requests in", out).group(1))
rps = float(re.search(r"Requests/sec:\s+([0-9.]+)", out).group(1))
errs = 0
m = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
errs += int(m.group(1)) if m else 0
m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
errs += sum(int(x) for x in m.groups()) if m else 0
print(n, rps, errs)
