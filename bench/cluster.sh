#!/usr/bin/env bash
# cluster.sh FULCRUM-BINARY: cluster mode's write-to-applied latency (issue 22). A 3-member
# etcd on loopback (tests/e2e/lib/etcd.sh, data dirs on the temp dir's disk, so every
# commit is fsync'd by each member) and three fulcrum replicas (workers = 1, own control
# port and state dir, cluster = { store = "etcd"; ... }) in front of a static nginx backend
# on two ports (web-1, web-2).
# BENCH_CLUSTER_WRITES (1000) writes, one after the other, all on replica 1: PUT
# /v1/pools/flask/backends/web-1 {"weight": W}, W cycling through 1..50 so that every
# write changes something (a call that changes nothing writes nothing). For each write:
#   ack      from just before the PUT is sent until its 200 answer (committed in etcd and
#            applied from replica 1's watch: the answer waits for both)
#   applied  from the same start until every replica, replica 1 included, answers GET
#            /v1/pools/flask/backends/web-1 with the write's key revision and weight: the
#            control thread published the generation that holds it (the workers switch
#            to it at their next loop iteration). The three replicas are polled over
#            keep-alive connections, in turn (each write starting with the next replica,
#            so that none is always polled last), with a 0.5 ms pause between rounds: a
#            replica's time is when its first matching answer arrived, so it is late by
#            at most one round and the pause (the round time is printed beside the numbers).
# Printed: median, p99 and max of both over the writes. Twice: with no other load from
# this script ("no-wrk"; the machine's load average is printed, it may be shared), then
# with wrk (-t 1 -c 4, GET /) through each of the three replicas' listeners meanwhile;
# wrk's requests, req/s, non-2xx/3xx answers and socket errors per replica are printed
# and any failed request is reported. One run takes about 2 to 4 minutes.
# BENCH_RESULTS_DIR (bench/results) gets cluster.txt (the summary), cluster.tsv (one line
# per write: phase, index, ack_ms, applied_ms, replica 1..3 ms) and cluster-wrk.txt.
# Everything listens on 127.0.0.1; only the processes started here are stopped.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
. "$here/bench_lib.sh"
bench_fulcrum_binary "$@"
WRITES=${BENCH_CLUSTER_WRITES:-1000}
RESULTS_DIR=${BENCH_RESULTS_DIR:-$here/results}
NGINX=$(command -v nginx || { [ -x /usr/sbin/nginx ] && echo /usr/sbin/nginx; } || true)
[ -n "$NGINX" ] || { echo "bench: nginx is not installed (make bench installs it)" >&2; exit 1; }
for tool in wrk etcd etcdctl; do
	command -v "$tool" >/dev/null ||
		{ echo "bench: $tool is not installed (make bench installs wrk, etcd-server, etcd-client)" >&2; exit 1; }
done

. "$here/../tests/e2e/lib/lib.sh"
. "$E2E_DIR/ctl_lib.sh"
. "$E2E_DIR/etcd.sh"
mkdir -p "$RESULTS_DIR"

etcd_cluster_start
ports B1 B2 W1 W2 W3 K1 K2 K3
WEB=("" "$W1" "$W2" "$W3")
CTL=("" "$K1" "$K2" "$K3")
EPS_CFG=$(sed 's/,/", "/g' <<<"$EPS")

mkdir -p "$T/nginx"
cat >"$T/backend.conf" <<EOF
worker_processes 1;
master_process off;
daemon off;
pid $T/nginx/pid;
error_log $T/nginx/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $T/nginx;
  keepalive_requests 100000000;
  server {
    listen 127.0.0.1:$B1; listen 127.0.0.1:$B2;
    location = / { default_type text/plain; return 200 "hello world\n"; }
  }
}
EOF
bg nginx-backend QUIT "$NGINX" -e "$T/nginx/error.log" -c "$T/backend.conf"
for p in $B1 $B2; do wait_listen "$p" "$LAST_PID"; done

step "three fulcrum replicas in cluster mode"
for i in 1 2 3; do
	cat >"$T/r$i.cfg" <<EOF
workers = 1;
state_dir = "$T/state$i";
shutdown_timeout_s = 2;
log = { level = "warn"; access = "off"; };
control = { listen = "127.0.0.1:${CTL[$i]}"; token_file = "$T/token"; };
listeners = ( { name = "web"; bind = "127.0.0.1:${WEB[$i]}"; mode = "http"; pool = "flask"; } );
pools = ( { name = "flask"; health = { type = "none"; };
            backends = ( { name = "web-1"; address = "127.0.0.1:$B1"; },
                         { name = "web-2"; address = "127.0.0.1:$B2"; } ); } );
cluster = { name = "bench"; store = "etcd"; endpoints = ( "$EPS_CFG" ); timeout_ms = 5000;
            replica_id = "r$i"; };
EOF
	bg "fulcrum$i" TERM "$FULCRUM" -c "$T/r$i.cfg"
	wait_listen "${WEB[$i]}" "$LAST_PID" 15
	wait_listen "${CTL[$i]}" "$LAST_PID" 15
done
for i in 1 2 3; do
	for ((k = 0; k < 150; k++)); do
		[ "$(http_status "http://127.0.0.1:${CTL[$i]}/readyz")" = 200 ] && break
		sleep 0.1
	done
	[ "$(http_status "http://127.0.0.1:${CTL[$i]}/readyz")" = 200 ] || fail "replica $i is not ready after 15 s"
	[ "$(hcurl "http://127.0.0.1:${WEB[$i]}/")" = "hello world" ] || fail "replica $i does not serve GET /"
done

# writes PHASE: the writes on replica 1, timed; samples appended to $T/cluster.tsv
writes() {
	"$PY" - "$1" "$WRITES" "$TOKEN" "${CTL[1]}" "${CTL[2]}" "${CTL[3]}" >>"$T/cluster.tsv" <<'EOF'
import http.client, json, sys, time
phase, n, token = sys.argv[1], int(sys.argv[2]), sys.argv[3]
ports = [int(p) for p in sys.argv[4:7]]
PATH = "/v1/pools/flask/backends/web-1"
HDR = {"Authorization": "Bearer " + token}
conns = [http.client.HTTPConnection("127.0.0.1", p, timeout=15) for p in ports]

def call(k, method, body=None):
    h = dict(HDR)
    if body is not None:
        h["Content-Type"] = "application/json"
    for attempt in (0, 1):
        try:
            conns[k].request(method, PATH, body=body, headers=h)
            r = conns[k].getresponse()
            return r.status, json.loads(r.read() or b"{}")
        except (http.client.HTTPException, OSError):
            conns[k].close()            # the server closed a kept-alive connection: once more
            if attempt:
                raise

st, cur = call(0, "GET")
assert st == 200, (st, cur)
weight = cur["weight"]
rounds = polls = 0
round_s = 0.0
for i in range(n):
    w = i % 50 + 1
    if w == weight:
        w = w % 50 + 1
    t0 = time.perf_counter()
    st, b = call(0, "PUT", json.dumps({"weight": w}))
    ack = time.perf_counter()
    if st != 200 or "revision" not in b:
        sys.exit("write %d: %s %s" % (i, st, b))
    rev, weight = int(b["revision"]), w
    seen = [None, None, None]
    end = t0 + 30
    while None in seen:
        rounds += 1
        r0 = time.perf_counter()
        for k in (i % 3, (i + 1) % 3, (i + 2) % 3):   # each replica polled first in turn
            if seen[k] is None:
                polls += 1
                st, g = call(k, "GET")
                if st == 200 and int(g.get("revision", 0)) >= rev and g.get("weight") == w:
                    seen[k] = time.perf_counter()
        round_s += time.perf_counter() - r0
        if None in seen:
            if time.perf_counter() > end:
                sys.exit("write %d (revision %d): replicas %s had not applied it after 30 s"
                         % (i, rev, [k + 1 for k in range(3) if seen[k] is None]))
            time.sleep(0.0005)
    ms = [(s - t0) * 1000 for s in seen]
    print("%s\t%d\t%.3f\t%.3f\t%.3f\t%.3f\t%.3f" % (phase, i, (ack - t0) * 1000, max(ms), *ms))
print("%s: %d writes, %d poll rounds, %d polls, %.3f ms per round" % (phase, n, rounds, polls,
      round_s * 1000 / max(rounds, 1)), file=sys.stderr)
EOF
}

: >"$T/cluster.tsv"
step "$WRITES writes on replica 1, no other load from this script"
t=$SECONDS
echo "no-wrk $(cut -d' ' -f1 /proc/loadavg)" >>"$T/loadavg"
writes no-wrk 2>>"$T/writes.log" || fail "the writes failed: $(tail -3 "$T/writes.log")"
echo "   $((SECONDS - t)) s"

step "$WRITES writes on replica 1, wrk -t 1 -c 4 through each replica meanwhile"
WRK=()
for i in 1 2 3; do
	bg "wrk$i" INT wrk -t 1 -c 4 -d 600s "http://127.0.0.1:${WEB[$i]}/"
	WRK[i]=$LAST_PID
done
sleep 2
t=$SECONDS
echo "wrk $(cut -d' ' -f1 /proc/loadavg)" >>"$T/loadavg"
writes wrk 2>>"$T/writes.log" || fail "the writes under load failed: $(tail -3 "$T/writes.log")"
echo "   $((SECONDS - t)) s"
: >"$RESULTS_DIR/cluster-wrk.txt"
for i in 1 2 3; do
	# wrk prints its summary when interrupted
	stop_pid "${WRK[$i]}" INT 15 || fail "wrk $i did not stop"
	printf '== wrk through replica %s\n' "$i" >>"$RESULTS_DIR/cluster-wrk.txt"
	cat "$T/wrk$i.log" >>"$RESULTS_DIR/cluster-wrk.txt"
done

cp "$T/cluster.tsv" "$RESULTS_DIR/cluster.tsv"
"$PY" - "$T/cluster.tsv" "$RESULTS_DIR/cluster-wrk.txt" "$T/writes.log" "$WRITES" "$T/loadavg" <<'EOF' | tee "$RESULTS_DIR/cluster.txt"
import os, re, sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1])]
wrk = open(sys.argv[2]).read()
rounds = dict(re.findall(r"^([\w-]+): \d+ writes, .* ([\d.]+) ms per round$", open(sys.argv[3]).read(), re.M))
def pct(v, p):
    v = sorted(v)
    return v[min(len(v) - 1, max(0, -(-len(v) * p // 100) - 1))]
load = dict(l.split() for l in open(sys.argv[5]))
print("bench cluster: %s writes per phase on replica 1; 3 etcd members, 3 replicas on loopback; "
      "%d CPUs; load average at the start of each phase: %s" % (
          sys.argv[4], os.cpu_count(), ", ".join("%s %s" % kv for kv in load.items())))
print("  %-6s %-8s %9s %9s %9s %9s" % ("phase", "", "median", "p99", "max", "mean"))
for phase in ("no-wrk", "wrk"):
    r = [x for x in rows if x[0] == phase]
    if not r:
        continue
    for col, label in ((2, "ack"), (3, "applied")):
        v = [float(x[col]) for x in r]
        print("  %-6s %-8s %7.2fms %7.2fms %7.2fms %7.2fms" % (
            phase, label, pct(v, 50), pct(v, 99), max(v), sum(v) / len(v)))
    for k in (1, 2, 3):
        v = [float(x[3 + k]) for x in r]
        print("  %-6s %-8s %7.2fms %7.2fms %7.2fms" % (phase, "replica%d" % k, pct(v, 50), pct(v, 99), max(v)))
    print("  %-6s a poll round of the three replicas took %s ms on average (the resolution of applied)"
          % (phase, rounds.get(phase, "?")))
bad = 0
for i, block in enumerate(wrk.split("== wrk through replica ")[1:], 1):
    req = re.search(r"(\d+) requests in ([\d.]+)(\w+)", block)
    rps = re.search(r"Requests/sec:\s+([\d.]+)", block)
    non2 = re.search(r"Non-2xx or 3xx responses: (\d+)", block)
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", block)
    nerr = sum(int(x) for x in sock.groups()) if sock else 0
    bad += (int(non2.group(1)) if non2 else 0) + nerr
    print("  wrk through replica %d: %s requests in %s%s, %s req/s, %s non-2xx/3xx, %s" % (
        i, req.group(1) if req else "?", req.group(2) if req else "?", req.group(3) if req else "",
        rps.group(1) if rps else "?", non2.group(1) if non2 else 0,
        "socket errors " + "/".join(sock.groups()) if sock else "no socket errors"))
print("  wrk: %s" % ("no request failed" if not bad else "%d requests FAILED" % bad))
EOF
