#!/usr/bin/env bash
# t_drain_deadline.sh: a draining backend keeps its connections and requests until they
# end or the drain deadline passes (DESIGN.md, backend states). Drained through the API
# with timeout_s = 2: a request that ends before the deadline gets its 200; one that
# would not gets a 503 "drain_deadline" at the deadline (within the workers' one-second
# sweep), and the client's next try lands on the backend in rotation; a response already
# streaming is cut. Set draining with PUT (no timeout given): the pool's drain_timeout_s.
# Set active again before the deadline: nothing is cut. A TCP-mode tunnel to a drained
# backend is closed at its deadline. Each cut has its access-log line. Response
# buffering is off here: a buffered response holds no backend once it is whole, so
# there is nothing for a drain to cut (only a streamed one still ties up the backend).
. "$(dirname "$0")/../lib/lib.sh"
. "$E2E_DIR/ctl_lib.sh"
need_fulcrum

ports P_WEB P_L4 P_CTL P1 P2 P_ECHO
start_flask web-1 "$P1" 3
start_flask web-2 "$P2" 1
bg echo TERM "$PY" "$E2E_DIR/tcpecho.py" server --port "$P_ECHO"
wait_listen "$P_ECHO" "$LAST_PID"

cfg=$T/fulcrum.cfg
{
	cfg_common
	cfg_control "$P_CTL"
	cat <<CFG
listeners = ( { name = "web"; bind = "127.0.0.1:$P_WEB"; mode = "http"; pool = "flask"; },
              { name = "l4"; bind = "127.0.0.1:$P_L4"; mode = "tcp"; pool = "echo"; idle_timeout_ms = 60000; } );
pools = ( { name = "flask"; health = { type = "none"; }; response_timeout_ms = 60000; retries = 0;
            drain_timeout_s = 2; buffering = { response = false; };
            backends = ( { name = "web-1"; address = "127.0.0.1:$P1"; },
                         { name = "web-2"; address = "127.0.0.1:$P2"; state = "maint"; } ); },
          { name = "echo"; health = { type = "none"; };
            backends = ( { name = "echo-1"; address = "127.0.0.1:$P_ECHO"; } ); } );
CFG
} >"$cfg"
start_fulcrum "$cfg" "$P_WEB" "$P_L4" "$P_CTL"
wait_http "http://127.0.0.1:$P_WEB/healthz" 10

# in_flight NAME PATH [CURL ARGS]: a request in the background; when it ends,
# $T/NAME.res holds "curl-exit http-code end-time" and $T/NAME.body the body.
in_flight() {
	local name=$1 path=$2
	shift 2
	(
		rc=0
		code=$(hcurl -o "$T/$name.body" -w '%{http_code}' "$@" "http://127.0.0.1:$P_WEB$path" 2>/dev/null) || rc=$?
		echo "$rc $code $(date +%s.%N)" >"$T/$name.res"
	) &
}
# wait_res NAME...: until every request NAME has ended (at most 20 s).
wait_res() {
	local n i
	for n in "$@"; do
		for ((i = 0; i < 200; i++)); do
			[ -s "$T/$n.res" ] && break
			sleep 0.1
		done
		[ -s "$T/$n.res" ] || fail "request $n still running after 20 s"
	done
}
# active_of NAME: requests in flight on backend NAME of pool flask, as the API sees them.
active_of() { json_get "$(ctl --json get flask "$1")" 'd["active"]'; }
# wait_active NAME N: until backend NAME has N requests in flight (at most 10 s).
wait_active() {
	local i
	for ((i = 0; i < 100; i++)); do
		[ "$(active_of "$1")" = "$2" ] && return 0
		sleep 0.1
	done
	fail "backend $1: $(active_of "$1") requests in flight, expected $2"
}
# ended_after NAME T0: seconds from T0 to when request NAME ended.
ended_after() { awk -v a="$(cut -d' ' -f3 "$T/$1.res")" -v b="$2" 'BEGIN { printf "%.2f", a - b }'; }

step "drain web-1 with timeout_s = 2: what ends first is answered, the rest is cut at the deadline"
in_flight quick '/sleep?ms=1000'
in_flight slow '/sleep?ms=15000'
in_flight stream '/blob?bytes=400000000' --limit-rate 2M
wait_active web-1 3
assert_eq "$(api PUT /v1/pools/flask/backends/web-2 -d '{"state": "active"}')" 200 "web-2 set active"
t0=$(date +%s.%N)
assert_eq "$(api POST /v1/pools/flask/backends/web-1/drain -d '{"timeout_s": 2}')" 202 "drain of web-1 with 3 in flight"
left=$(json_get "$(ctl --json get flask web-1)" 'd["drain_deadline_in_s"]')
assert_cmp "$left" ">" 1 "drain_deadline_in_s right after a 2 s drain"
assert_cmp "$left" "<=" 2 "drain_deadline_in_s right after a 2 s drain"
wait_res quick slow stream
read -r rc code _ <"$T/quick.res"
assert_eq "$rc $code" "0 200" "curl exit and status of the request that ended before the deadline"
assert_contains "$(cat "$T/quick.body")" "slept 1000 web-1" "its body"
read -r rc code _ <"$T/slow.res"
assert_eq "$rc $code" "0 503" "curl exit and status of the request still waiting at the deadline"
assert_contains "$(cat "$T/slow.body")" '"error":"drain_deadline"' "its body"
took=$(ended_after slow "$t0")
echo "   the unanswered request was cut $took s after the drain"
assert_cmp "$took" ">=" 1.9 "seconds from the drain to the cut (deadline 2 s)"
assert_cmp "$took" "<=" 5 "seconds from the drain to the cut (deadline 2 s, sweep each second)"
read -r rc code _ <"$T/stream.res"
assert_eq "$rc $code" "18 200" "curl exit (18: partial transfer) and status of the response cut mid-stream"
alog_wait 2 termination=drain_deadline
# when fulcrum closed it, from its log line (curl, reading at 2 MB/s, still had what the
# sockets held to read before it saw the end)
took=$("$PY" -c 'import json, sys, datetime
e = json.loads(sys.argv[1])
t = datetime.datetime.strptime(e["time"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=datetime.timezone.utc)
print("%.2f" % (t.timestamp() - float(sys.argv[2])))' "$(alog last termination=drain_deadline path~=/blob)" "$t0")
echo "   the streaming response was cut $took s after the drain ($(stat -c %s "$T/stream.body") bytes received)"
assert_cmp "$took" ">=" 1.9 "seconds from the drain to the cut of the stream"
assert_cmp "$took" "<=" 5 "seconds from the drain to the cut of the stream"
assert_eq "$(active_of web-1)" 0 "requests in flight on web-1 after the cut"
assert_eq "$(json_get "$(ctl --json get flask web-1)" 'd["drain_deadline_in_s"]')" 0 "drain_deadline_in_s once it has passed"
assert_eq "$(alog count termination=drain_deadline)" 2 "access-log lines of the cut requests"
assert_eq "$(alog count termination=drain_deadline status=503 path~=/sleep backend=web-1)" 1 \
	"the cut unanswered request logged as a 503 on behalf of its backend"
assert_eq "$(alog count termination=drain_deadline status=200 path~=/blob backend=web-1)" 1 "the cut stream logged with its backend"
assert_contains "$(hcurl "http://127.0.0.1:$P_WEB/whoami")" "\"instance\":\"web-2\"" "the client's next try goes to the backend in rotation"

step "PUT state draining, no timeout given: the pool's drain_timeout_s (2 s) applies"
assert_eq "$(api PUT /v1/pools/flask/backends/web-2 -d '{"state": "maint"}')" 200 "web-2 out of rotation"
assert_eq "$(api PUT /v1/pools/flask/backends/web-1 -d '{"state": "active"}')" 200 "web-1 active again"
in_flight slow2 '/sleep?ms=15000'
wait_active web-1 1
t0=$(date +%s.%N)
assert_eq "$(api PUT /v1/pools/flask/backends/web-1 -d '{"state": "draining"}')" 200 "web-1 set draining"
wait_res slow2
read -r rc code _ <"$T/slow2.res"
assert_eq "$rc $code" "0 503" "the request still on web-1 at the pool's deadline"
took=$(ended_after slow2 "$t0")
echo "   cut $took s after web-1 was set draining"
assert_cmp "$took" ">=" 1.9 "seconds to the cut (drain_timeout_s = 2)"
assert_cmp "$took" "<=" 5 "seconds to the cut (drain_timeout_s = 2)"

step "active again before the deadline: nothing is cut"
assert_eq "$(api PUT /v1/pools/flask/backends/web-1 -d '{"state": "active"}')" 200 "web-1 active again"
in_flight long '/sleep?ms=4000'
wait_active web-1 1
assert_eq "$(api POST /v1/pools/flask/backends/web-1/drain -d '{"timeout_s": 1}')" 202 "drain of web-1 (1 s)"
sleep 0.3
assert_eq "$(api PUT /v1/pools/flask/backends/web-1 -d '{"state": "active"}')" 200 "web-1 active before its deadline"
wait_res long
read -r rc code _ <"$T/long.res"
assert_eq "$rc $code" "0 200" "the 4 s request on web-1, which outlived the cancelled 1 s deadline"
assert_eq "$(json_get "$(ctl --json get flask web-1)" '"drain_deadline_in_s" in d')" false "a drain deadline shown on an active backend"

step "TCP mode: a tunnel to a drained backend is closed at its deadline"
out=$("$PY" - "$P_L4" "$P_CTL" "$TOKEN" <<'EOF'
import json, socket, sys, time, urllib.request
port, ctl, token = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
s = socket.create_connection(("127.0.0.1", port), timeout=10)
s.sendall(b"ping")
got = b""
while len(got) < 4:
    got += s.recv(4 - len(got))
req = urllib.request.Request("http://127.0.0.1:%d/v1/pools/echo/backends/echo-1/drain" % ctl,
                             data=json.dumps({"timeout_s": 1}).encode(), method="POST",
                             headers={"Authorization": "Bearer " + token,
                                      "Content-Type": "application/json"})
t0 = time.time()
code = urllib.request.urlopen(req, timeout=10).status
s.sendall(b"pong")  # the tunnel still works before the deadline
echo = s.recv(4)
try:
    end = s.recv(1)  # then EOF (or a reset) when fulcrum cuts it
except ConnectionResetError:
    end = b""
print("echo=%s drain=%d again=%s end=%r after=%.2f" % (got.decode(), code, echo.decode(), end, time.time() - t0))
EOF
)
echo "   $out"
assert_match "$out" "^echo=ping drain=202 again=pong end=b'' after=" "the tunnel's life"
took=${out##*after=}
assert_cmp "$took" ">=" 0.9 "seconds from the drain to the tunnel's close (deadline 1 s)"
assert_cmp "$took" "<=" 4 "seconds from the drain to the tunnel's close (deadline 1 s)"
alog_wait 1 termination=drain_deadline backend=echo-1
assert_eq "$(alog count termination=drain_deadline backend=echo-1)" 1 "access-log line of the cut tunnel"
echo "ok"
