#!/usr/bin/env bash
# t_fault_fds.sh: file descriptors run out. fulcrum's RLIMIT_NOFILE is lowered to 300
# while it runs (prlimit) and 600 silent connections are opened at it: it accepts until
# the lowest free descriptor reaches the reserve at the top of the limit (an eighth),
# logs that it pauses accepting, and leaves the rest in the kernel's backlog. The
# keep-alive clients it already has keep being served all along (each request still
# needs a backend connection: the reserve is for those), so not one GET fails and no
# backend is blamed. When the hog lets go, fulcrum accepts again and new clients are
# served.
. "$(dirname "$0")/../lib/lib.sh"
. "$(dirname "$0")/../lib/health_lib.sh"
. "$(dirname "$0")/../lib/fault_lib.sh"
need_fulcrum
command -v prlimit >/dev/null || skip "no prlimit (util-linux)"

LIMIT=300
ports P_WEB P1 P2
start_flask web-1 "$P1" 3
start_flask web-2 "$P2" 3

cfg=$T/fulcrum.cfg
{
	cfg_common
	# head_timeout_ms long: the hog's silent connections must stay until it lets go
	cat <<CFG
listeners = ( { name = "web"; bind = "127.0.0.1:$P_WEB"; mode = "http"; pool = "flask";
                max_conns_per_client = 0;  # the one test client holds them all
                head_timeout_ms = 60000; idle_timeout_ms = 60000; } );
pools = ( { name = "flask"; health = { type = "http"; path = "/healthz"; interval_ms = 500; timeout_ms = 1000; };
            connect_timeout_ms = 1000; response_timeout_ms = 10000; queue_timeout_ms = 10000; retries = 1;
            backends = ( { name = "web-1"; address = "127.0.0.1:$P1"; max_conns = 3; },
                         { name = "web-2"; address = "127.0.0.1:$P2"; max_conns = 3; } ); } );
CFG
} >"$cfg"
start_fulcrum "$cfg" "$P_WEB"
wait_http "http://127.0.0.1:$P_WEB/healthz" 10

# the load ends 1 s after fulcrum accepts again (60 s only bounds it)
step "continuous load: 4 keep-alive clients on /work"
load_start load 4 60
sleep 2

step "RLIMIT_NOFILE of fulcrum lowered to $LIMIT; 600 silent connections held for 8 s"
prlimit --pid "$FULCRUM_PID" --nofile=$LIMIT:$LIMIT
sleep 1.2 # fulcrum re-reads the limit once a second
bg hog INT "$PY" "$E2E_DIR/connhog.py" --port "$P_WEB" --count 600 --hold 8 --ready "$T/hog.ready" --connect-timeout 3
HOG_PID=$LAST_PID
for ((i = 0; i < 100; i++)); do
	[ -s "$T/hog.ready" ] && break
	sleep 0.1
done
sleep 1
nfd=$(ls "/proc/$FULCRUM_PID/fd" | wc -l)
echo "   fulcrum holds $nfd descriptors (limit $LIMIT)"
assert_cmp "$nfd" "<=" "$LIMIT" "descriptors held"
assert_cmp "$nfd" ">=" $((LIMIT * 3 / 4)) "descriptors held while the hog connects (the limit was reached)"
wait_log 'pausing accept until descriptors free up' 5 >/dev/null
grep -m1 'pausing accept until descriptors free up' "$T/fulcrum.log" | sed 's/^/   /'

step "a new client meanwhile waits in the backlog, and is served once the hog lets go"
t0=$(now_s)
st=$(CURL_MAX_TIME=20 http_status "http://127.0.0.1:$P_WEB/work")
t1=$(now_s)
wait_exit "$HOG_PID" 30 || fail "connection hog did not finish"
echo "   hog: $(cat "$T/hog.log")"
echo "   new client: status $st after $(awk -v a="$t1" -v b="$t0" 'BEGIN {printf "%.1f", a - b}') s"
assert_eq "$st" 200 "status for a client that arrived while descriptors were exhausted"
wait_log 'accepting again' 5 >/dev/null

sleep 1
load_stop
load_check load 100
grep -E 'flask/web-[12] .*(down|eject)' "$T/fulcrum.log" && fail "a backend was blamed for fulcrum's own descriptor shortage"
assert_eq "$(alog count status=503)" 0 "requests answered 503"
st=$(http_status "http://127.0.0.1:$P_WEB/work")
assert_eq "$st" 200 "status after recovery"
echo "ok"
