#!/usr/bin/env bash
# t_fault_hang.sh: a backend that accepts connections and never answers sits in the pool
# beside two healthy instances, under continuous load. Each GET sent to it ends in a
# response timeout and is replayed on another backend (idempotent, retries = 1, and the
# pool opts in with retry_on_response_timeout), so not one GET fails; the silent backend
# did receive some of them (the replay is real). Without the opt-in (the default) the
# backend may still be working on it, so a timed-out GET is answered 504, not sent twice.
# With the silent backend alone in its pool, the timeout is not replayed onto it again:
# 504 after one response_timeout_ms (t_timeouts.sh checks that path in detail).
. "$(dirname "$0")/../lib/lib.sh"
. "$(dirname "$0")/../lib/health_lib.sh"
. "$(dirname "$0")/../lib/fault_lib.sh"
need_fulcrum

ports P_WEB P1 P2 P_SILENT
start_flask web-1 "$P1" 3
start_flask web-2 "$P2" 3
bg silent TERM "$PY" "$E2E_DIR/recbackend.py" --port "$P_SILENT" --record "$T/silent.bin" --mode silent
wait_listen "$P_SILENT" "$LAST_PID"

cfg=$T/fulcrum.cfg
write_cfg() {
{
	cfg_common
	# passive errors = 0: the silent backend is never ejected, so it keeps getting
	# requests for the whole run and every one of them must be replayed
	cat <<CFG
listeners = ( { name = "web"; bind = "127.0.0.1:$P_WEB"; mode = "http"; pool = "flask"; } );
pools = ( { name = "flask"; balance = "rr"; health = { type = "none"; }; passive = { errors = 0; };
            connect_timeout_ms = 1000; response_timeout_ms = 1000; queue_timeout_ms = 10000; retries = 1;
            retry_on_response_timeout = $RETRY_ON_TIMEOUT;
            backends = ( { name = "web-1"; address = "127.0.0.1:$P1"; max_conns = 3; },
                         { name = "web-2"; address = "127.0.0.1:$P2"; max_conns = 3; },
                         { name = "silent-1"; address = "127.0.0.1:$P_SILENT"; max_conns = 0; } ); } );
CFG
} >"$cfg"
}
RETRY_ON_TIMEOUT=true write_cfg
start_fulcrum "$cfg" "$P_WEB"

step "continuous load: 6 keep-alive clients on /work for 12 s, one backend of three silent"
load_start load 6 12
load_check load 100
sent=$(grep -ac 'GET /work ' "$T/silent.bin" || true)
echo "   GETs the silent backend received (and never answered): $sent"
assert_cmp "$sent" ">=" 5 "GETs that reached the silent backend and had to be replayed"
alog_wait 100
echo "   access log by status: $(alog group status)"
assert_eq "$(alog count status=504)" 0 "GETs answered 504"

step "default (retry_on_response_timeout = false): a timed-out GET is answered 504, not replayed"
RETRY_ON_TIMEOUT=false write_cfg
kill -HUP "$FULCRUM_PID"
for _ in $(seq 50); do
	grep -q "generation 2 applied" "$T/fulcrum.log" && break
	sleep 0.1
done
before=$(grep -ac 'GET /work ' "$T/silent.bin" || true)
codes=""
for _ in 1 2 3; do
	codes="$codes $(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "http://127.0.0.1:$P_WEB/work")"
done
echo "   statuses of three sequential GETs (round robin over three): $codes"
case "$codes" in *504*) ;; *) fail "no GET reached the silent backend and got its 504: $codes" ;; esac
after=$(grep -ac 'GET /work ' "$T/silent.bin" || true)
assert_cmp "$((after - before))" ">=" 1 "GETs the silent backend got after the reload"
echo "ok"
