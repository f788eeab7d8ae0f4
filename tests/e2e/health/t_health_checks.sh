#!/usr/bin/env bash
# t_health_checks.sh: active checks under light load. An instance whose /healthz hangs
# is marked down by timeout after fall checks, one answering 500 by status, and both
# come back after rise passes; while down they answer no traffic. A 503 with the
# configured drain header takes the instance out of new traffic as "draining" without
# counting as a failure (no down line); a 503 without the header is a failure. tcp
# checks mark a closed port down and an open one up; https checks speak TLS and send
# the configured path and Host (a pool no listener uses is still checked).
. "$(dirname "$0")/../lib/lib.sh"
. "$(dirname "$0")/../lib/health_lib.sh"
need_fulcrum

IV=300
ports P_WEB P_TCP P1 P2 P3 P_DEAD P_TLS
start_flask web-1 "$P1" 2
start_flask web-2 "$P2" 1 -k gthread --threads 16  # hung checks must not block its traffic
start_flask web-3 "$P3" 2

# A TLS backend that answers 200 and records the Host header of each request.
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$T/tls.key" -out "$T/tls.crt" -days 2 \
	-subj /CN=localhost >/dev/null 2>&1 || fail "openssl could not make a test certificate"
cat >"$T/tls_backend.py" <<'PYEOF'
import http.server, ssl, sys, time
port, crt, key, rec = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        with open(rec, "a") as f:
            f.write("%s %s\n" % (self.path, self.headers.get("Host")))
        self.send_response(200)
        self.send_header("Content-Length", "3")
        self.end_headers()
        self.wfile.write(b"ok\n")
    def log_message(self, *a):
        pass
srv = http.server.ThreadingHTTPServer(("127.0.0.1", port), H)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(crt, key)
srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
srv.timeout = 1
end = time.monotonic() + 200
while time.monotonic() < end:
    srv.handle_request()
PYEOF
bg tls-backend TERM "$PY" "$T/tls_backend.py" "$P_TLS" "$T/tls.crt" "$T/tls.key" "$T/tls-hosts"
wait_listen "$P_TLS" "$LAST_PID" 10

cfg=$T/fulcrum.cfg
{
	cfg_common
	cat <<CFG
listeners = (
  { name = "web"; bind = "127.0.0.1:$P_WEB"; mode = "http"; pool = "flask"; },
  { name = "l4"; bind = "127.0.0.1:$P_TCP"; mode = "tcp"; pool = "l4"; } );
pools = (
  { name = "flask"; balance = "wlc";
    health = { type = "http"; path = "/healthz"; interval_ms = $IV; timeout_ms = 300; rise = 2; fall = 2;
               drain_status = "503"; drain_header = "X-Drain"; };
    connect_timeout_ms = 1000; response_timeout_ms = 5000;
    backends = ( { name = "web-1"; address = "127.0.0.1:$P1"; max_conns = 2; },
                 { name = "web-2"; address = "127.0.0.1:$P2"; max_conns = 2; },
                 { name = "web-3"; address = "127.0.0.1:$P3"; max_conns = 2; } ); },
  { name = "l4"; health = { type = "tcp"; interval_ms = $IV; timeout_ms = 300; rise = 2; fall = 2; };
    backends = ( { name = "open"; address = "127.0.0.1:$P1"; },
                 { name = "closed"; address = "127.0.0.1:$P_DEAD"; } ); },
  { name = "tlspool"; health = { type = "http"; https = true; host = "health.example"; path = "/hc";
                                 interval_ms = $IV; timeout_ms = 1000; rise = 1; fall = 2; };
    backends = ( { name = "tls-1"; address = "127.0.0.1:$P_TLS"; },
                 { name = "plain"; address = "127.0.0.1:$P3"; } ); } );
CFG
} >"$cfg"
t0=$(now_s)
start_fulcrum "$cfg" "$P_WEB" "$P_TCP"
bg load TERM "$PY" "$E2E_DIR/hload.py" run --port "$P_WEB" --clients 3 --pause 0.02 --duration 90 \
	--timeout 10 --log "$T/requests.log"
LOAD_PID=$LAST_PID

# The load's log is written when it ends: periods when web-2 must answer nothing are
# collected as "FROM TO WHAT" and checked then.
OUT_PERIODS=()
# out_period FROM TO WHAT: web-2 must answer no request that starts 50 ms after FROM
# (time for requests picked just before) and ends before TO (one that started before TO
# may reach fulcrum after it, when web-2 is back: on a loaded machine that happens).
out_period() { OUT_PERIODS+=("$(awk -v t="$1" 'BEGIN {printf "%.3f", t + 0.05}') $2 $3"); }
# answered_by NAME FROM TO: requests NAME answered that started at FROM or later and
# ended by TO (hload's log: start, end, status, instance).
answered_by() {
	awk -v n="$1" -v a="$2" -v b="$3" '$4 == n && $1 >= a && $2 <= b { c++ } END { print c + 0 }' "$T/requests.log"
}
# set_health NAME MODE: switches the instance's /healthz ("" = healthy again).
set_health() { printf '%s\n' "$2" >"$T/health.$1"; }

step "tcp checks: the closed port goes down, the open one stays up"
wait_log 'backend l4/closed .* down: 2 checks failed in a row \(last: connect: Connection refused\)' 5 "$t0" >/dev/null
[ -z "$(log_time 'backend l4/open .* down:' "$t0")" ] || fail "l4/open was marked down"

step "https checks: TLS, path and Host as configured; a plain backend fails them"
wait_log 'backend tlspool/plain .* down:' 8 "$t0" >/dev/null
[ -z "$(log_time 'backend tlspool/tls-1 .* down:' "$t0")" ] || fail "tlspool/tls-1 was marked down"
assert_eq "$(sort -u "$T/tls-hosts")" "/hc health.example" "path and Host of the https checks"

sleep 1
step "web-2's /healthz hangs: down by timeout after fall checks"
# A timed-out check is excused while the backend visibly serves (requests in flight that
# complete: t_health_busy), and web-2's threads keep serving /work while /healthz hangs.
# So the load holds still (SIGSTOP: its requests in flight complete, none start) until
# web-2 is down; it then runs on, and web-2 must answer none of it while down.
kill -STOP "$LOAD_PID"
t_hang=$(now_s)
set_health web-2 hang
t_down=$(wait_log 'backend flask/web-2 .* down:' 5 "$t_hang")
kill -CONT "$LOAD_PID"
line=$(grep 'backend flask/web-2 .* down:' "$T/fulcrum.log" | tail -1)
echo "   $(awk -v a="$t_down" -v b="$t_hang" 'BEGIN {printf "%.2f", a - b}') s: ${line#* gen=1 }"
assert_contains "$line" "2 checks failed in a row (last: no answer within 300 ms)" "the down line"
# fall checks, each up to the timeout after an interval (+10 % jitter), and a margin
assert_cmp "$(awk -v a="$t_down" -v b="$t_hang" 'BEGIN {print a - b}')" "<=" 3 "seconds until down"
sleep 2
t_heal=$(now_s)
set_health web-2 ""
t_up=$(wait_log 'backend flask/web-2 .* up:' 5 "$t_heal")
assert_contains "$(grep 'backend flask/web-2 .* up:' "$T/fulcrum.log" | tail -1)" "2 checks passed in a row" "the up line"
out_period "$t_down" "$t_up" "down (hung /healthz)"

sleep 1
step "web-2's /healthz answers 500: down by status"
t_fail=$(now_s)
set_health web-2 fail
t_down=$(wait_log 'backend flask/web-2 .* down:' 5 "$t_fail")
assert_contains "$(grep 'backend flask/web-2 .* down:' "$T/fulcrum.log" | tail -1)" "(last: HTTP 500, expected 200-399)" "the down line"
sleep 1.5
t_heal=$(now_s)
set_health web-2 ""
t_up=$(wait_log 'backend flask/web-2 .* up:' 5 "$t_heal")
out_period "$t_down" "$t_up" "down (500)"

sleep 1
step "web-2 drains itself (503 + X-Drain): no new traffic, not a failure"
t_drain=$(now_s)
set_health web-2 drain
t_d=$(wait_log 'backend flask/web-2 .* draining:' 5 "$t_drain")
assert_contains "$(grep 'backend flask/web-2 .* draining:' "$T/fulcrum.log" | tail -1)" "check answered HTTP 503 with X-Drain" "the draining line"
sleep 2.5  # about eight checks, far more than fall
[ -z "$(log_time 'backend flask/web-2 .* down:' "$t_drain")" ] || fail "a draining web-2 was marked down"
t_back=$(now_s)
set_health web-2 ""
t_up=$(wait_log 'backend flask/web-2 .* up:' 5 "$t_back")
assert_contains "$(grep 'backend flask/web-2 .* up:' "$T/fulcrum.log" | tail -1)" "check passes again" "the up line after draining"
out_period "$t_d" "$t_back" "draining"

sleep 1
step "a 503 without X-Drain is a failure"
t_503=$(now_s)
set_health web-2 503
wait_log 'backend flask/web-2 .* down: .*HTTP 503, expected' 5 "$t_503" >/dev/null
set_health web-2 ""
wait_log 'backend flask/web-2 .* up:' 5 "$t_503" >/dev/null
sleep 1

stop_pid "$LOAD_PID" TERM 20 || true
out=$(cat "$T/load.log")
echo "   load: $(json_get "$out" '{k: d[k] for k in ("ok", "fail", "instances")}')"
assert_eq "$(json_get "$out" 'd["fail"]')" 0 "failed GETs through all of it (errors: $(json_get "$out" 'd["errors"]'))"
assert_cmp "$(json_get "$out" 'd["instances"].get("web-2", 0)')" ">" 50 "requests web-2 answered while healthy"
for p in "${OUT_PERIODS[@]}"; do
	read -r from to what <<<"$p"
	n=$(answered_by web-2 "$from" "$to")
	echo "   web-2 $what for $(awk -v a="$from" -v b="$to" 'BEGIN {printf "%.1f", b - a}') s: answered $n requests"
	assert_eq "$n" 0 "requests web-2 answered while $what"
done
echo "ok"
