#!/usr/bin/env bash
# t_backend_keepalive.sh: idle backend connections and the backend's own keep-alive
# (issue 25, item 5c). gunicorn's gthread worker closes an idle connection after
# --keep-alive 2 s; a POST written on it as it closes used to get a 502.
# - POSTs sent 2.2 s apart (just after gunicorn's keep-alive) all get 200;
# - the race made certain: fulcrum is stopped (SIGSTOP) while gunicorn closes the idle
#   connection and the next POST arrives, then resumed, so it sees the request before
#   the close. With the default backend_idle_timeout_ms (1.5 s) the stale connection is
#   not reused; with 60 s it is, the request fails unread, and is replayed on a new
#   connection (a POST too): 200 both times;
# - but a backend that read the POST on a reused connection and closed without an
#   answer had it: that POST is not replayed (502), the backend got it once; a GET
#   there is idempotent and goes again on a new connection (200), as nginx retries a
#   failed cached connection, even with one backend in the pool;
# - a backend announcing "Keep-Alive: timeout=1" has its idle connections reused for
#   less than that, though backend_idle_timeout_ms allows 60 s.
. "$(dirname "$0")/../lib/lib.sh"
need_fulcrum

ports P_GT P_GTLONG P_KA P_RD P1 P_REC P_DROP P_CTL
start_flask gt "$P1" 1 -k gthread --threads 2 --keep-alive 2
bg rec TERM "$PY" "$E2E_DIR/recbackend.py" --port "$P_REC" --record "$T/rec.bin" --keep-alive-timeout 1
wait_listen "$P_REC" "$LAST_PID"
bg drop TERM "$PY" "$E2E_DIR/recbackend.py" --port "$P_DROP" --record "$T/drop.bin" --mode close-second
wait_listen "$P_DROP" "$LAST_PID"

cfg=$T/fulcrum.cfg
{
	cfg_common
	echo "control = { listen = \"127.0.0.1:$P_CTL\"; token_file = \"$T/token\"; };"
	cat <<CFG
listeners = ( { name = "gt"; bind = "127.0.0.1:$P_GT"; mode = "http"; pool = "gt"; },
              { name = "gtlong"; bind = "127.0.0.1:$P_GTLONG"; mode = "http"; pool = "gtlong"; },
              { name = "ka"; bind = "127.0.0.1:$P_KA"; mode = "http"; pool = "ka"; },
              { name = "rd"; bind = "127.0.0.1:$P_RD"; mode = "http"; pool = "rd"; } );
pools = ( { name = "gt"; health = { type = "none"; };
            backends = ( { name = "gt-1"; address = "127.0.0.1:$P1"; } ); },
          { name = "gtlong"; health = { type = "none"; }; backend_idle_timeout_ms = 60000;
            backends = ( { name = "gt-1"; address = "127.0.0.1:$P1"; } ); },
          { name = "ka"; health = { type = "none"; }; backend_idle_timeout_ms = 60000;
            backends = ( { name = "rec-1"; address = "127.0.0.1:$P_REC"; } ); },
          { name = "rd"; health = { type = "none"; }; backend_idle_timeout_ms = 60000;
            backends = ( { name = "drop-1"; address = "127.0.0.1:$P_DROP"; } ); } );
CFG
} >"$cfg"
echo "keepalive-token-0123456789abcdef" >"$T/token"
chmod 600 "$T/token"
start_fulcrum "$cfg" "$P_GT" "$P_GTLONG" "$P_KA" "$P_RD" "$P_CTL"
# metric NAME LABELS: one sample from /metrics
metric() {
	curl -s -H "Authorization: Bearer $(cat "$T/token")" "http://127.0.0.1:$P_CTL/metrics" |
		awk -v n="$1{$2}" '$1 == n { print $2 }'
}

# posts PORT ROUNDS GAP STOP [METHOD]: on one keep-alive client connection, ROUNDS times: a POST,
# a pause of GAP s, another POST. With STOP=1 fulcrum is stopped for the pause and
# resumed 0.3 s after the second POST was sent. Prints the statuses, space-separated.
posts() {
	"$PY" - "$1" "$2" "$3" "$4" "$FULCRUM_PID" "${5:-POST}" <<'PYEOF'
import http.client, os, signal, sys, threading, time
port, rounds, gap, stop, pid = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]), sys.argv[4] == "1", int(sys.argv[5])
method = sys.argv[6]
conn = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
out = []
def post():
    global conn
    try:
        if method == "POST":
            conn.request("POST", "/echo", body=b"x" * 100, headers={"Content-Type": "text/plain"})
        else:
            conn.request(method, "/echo")
        r = conn.getresponse()
        r.read()
        out.append(str(r.status))
        if r.will_close:
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
    except (OSError, http.client.HTTPException) as e:
        out.append(type(e).__name__)
        conn.close()
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
for _ in range(rounds):
    post()
    if stop:
        os.kill(pid, signal.SIGSTOP)
        t = threading.Timer(gap + 0.3, os.kill, (pid, signal.SIGCONT))
        t.start()
    time.sleep(gap)
    post()
    if stop:
        t.join()
print(" ".join(out))
PYEOF
}

step "POSTs 2.2 s apart to gunicorn gthread --keep-alive 2: never a 502"
out=$(posts "$P_GT" 3 2.2 0)
echo "   statuses: $out"
assert_eq "$out" "200 200 200 200 200 200" "statuses"

for pool in gt gtlong; do
	port=$P_GT
	[ $pool = gtlong ] && port=$P_GTLONG
	step "$pool: fulcrum stopped for 3.3 s while gunicorn closes the idle connection and a POST comes"
	out=$(posts "$port" 1 3.3 1)
	echo "   statuses: $out"
	assert_eq "$out" "200 200" "statuses"
done
kill -0 "$FULCRUM_PID"

step "a backend that read the second POST on a connection and closed: not replayed"
out=$(posts "$P_RD" 1 0.1 0)
got=$(grep -ao 'POST /echo' "$T/drop.bin" | wc -l)
echo "   statuses: $out; POSTs the backend received: $got"
assert_eq "$out" "200 502" "statuses"
assert_eq "$got" 2 "POSTs the backend received"
step "the same backend closing on a GET: replayed once on a new connection"
out=$(posts "$P_RD" 1 0.1 0 GET)
got=$(grep -ao 'GET /echo' "$T/drop.bin" | wc -l)
echo "   statuses: $out; GETs the backend received: $got"
assert_eq "$out" "200 200" "statuses"
assert_eq "$got" 3 "GETs the backend received (the second one twice)"
assert_eq "$(metric fulcrum_pool_retries_total 'pool="rd"')" 0 "retries spent on the race (the pool's retries and budget)"

step "a backend announcing Keep-Alive: timeout=1: its connection reused at once, not after 0.8 s"
conn_of() { hcurl -D - -o /dev/null "http://127.0.0.1:$P_KA/ka/$1" | tr -d '\r' | awk -F': ' 'tolower($1) == "x-conn" {print $2}'; }
c1=$(conn_of 1)
c2=$(conn_of 2)
sleep 0.8
c3=$(conn_of 3)
echo "   backend connections: $c1 $c2 $c3"
assert_eq "$c2" "$c1" "connection of the request right after the first (reused)"
assert_cmp "$c3" ">" "$c2" "connection of the request 0.8 s later (a new one)"
echo "ok"
