#!/usr/bin/env bash
# t_ctl_conn_limits.sh: connections without a token cannot lock the control API out
# (issue 17, item 9). With 300 idle connections, and then 300 slowloris ones, held open
# against it, /healthz, /readyz and an authenticated GET /v1/status still answer
# promptly; 150 parallel `drain?wait=1` long polls do not count against the limit of
# short calls: a short call answers while they wait, and every one of them gets its 200.
. "$(dirname "$0")/../lib/lib.sh"
. "$E2E_DIR/ctl_lib.sh"
need_fulcrum

ports P_WEB P_A P_CTL
start_flask web-1 "$P_A" 2
cfg=$T/fulcrum.cfg
{
	cfg_common
	cfg_control "$P_CTL"
	cat <<EOF
listeners = ( { name = "web"; bind = "127.0.0.1:$P_WEB"; mode = "http"; pool = "flask"; } );
pools = ( { name = "flask"; health = { type = "none"; };
            backends = ( { name = "web-1"; address = "127.0.0.1:$P_A"; } ); } );
EOF
} >"$cfg"
start_fulcrum "$cfg" "$P_WEB" "$P_CTL"
wait_http "http://127.0.0.1:$P_WEB/healthz" 10
U=http://127.0.0.1:$P_CTL

# prompt WHAT URL [CURL ARGS...]: the call answers 200 within 3 s.
prompt() {
	local what=$1 url=$2 t0 st ms
	shift 2
	t0=$(now_ms)
	st=$(CURL_MAX_TIME=10 http_status "$url" "$@")
	ms=$(($(now_ms) - t0))
	assert_eq "$st" 200 "$what"
	[ "$ms" -le 3000 ] || fail "$what took $ms ms"
	echo "   $what: 200 in $ms ms"
}

# probes WHEN: the probes and an authenticated call, each prompt.
probes() {
	prompt "/healthz $1" "$U/healthz"
	prompt "/readyz $1" "$U/readyz"
	prompt "GET /v1/status with the token $1" "$U/v1/status" -H "Authorization: Bearer $TOKEN"
}

for mode in idle slowloris; do
	step "300 $mode connections held open: probes and token holders still get in"
	rm -f "$T/hog.ready"
	bg "hog-$mode" TERM "$PY" "$E2E_DIR/connhog.py" --port "$P_CTL" --count 300 --hold 60 \
		--mode "$mode" --trickle 0.5 --ready "$T/hog.ready"
	hog=$LAST_PID
	for _ in $(seq 1 200); do
		[ -s "$T/hog.ready" ] && break
		sleep 0.05
	done
	[ -s "$T/hog.ready" ] || fail "connhog did not connect within 10 s"
	probes "with 300 $mode connections"
	sleep 1
	probes "a second later"
	stop_pid "$hog" TERM 10 || true
	echo "   connhog: $(cat "$T/hog-$mode.log")"
done

step "150 parallel drain?wait=1 long polls plus a short call"
# one slow request in flight keeps the drain waiting
hcurl -o /dev/null "http://127.0.0.1:$P_WEB/sleep?ms=8000" &
slow=$!
for _ in $(seq 1 50); do
	[ "$(json_get "$(hcurl -H "Authorization: Bearer $TOKEN" "$U/v1/pools/flask/backends/web-1")" 'd["active"]')" = 1 ] && break
	sleep 0.1
done
# the long polls, from one process (150 curl processes take seconds to start here)
cat >"$T/polls.py" <<'PY'
import json, socket, sys, time
port, token, ready = int(sys.argv[1]), sys.argv[2], sys.argv[3]
body = b'{"timeout_s": 40}'
req = (b"POST /v1/pools/flask/backends/web-1/drain?wait=1 HTTP/1.1\r\nHost: 127.0.0.1\r\n"
       b"Authorization: Bearer " + token.encode() + b"\r\nContent-Type: application/json\r\n"
       b"Content-Length: %d\r\nConnection: close\r\n\r\n" % len(body) + body)
socks = []
for _ in range(150):
    s = socket.create_connection(("127.0.0.1", port), timeout=60)
    s.sendall(req)
    socks.append(s)
open(ready, "w").write("150\n")
statuses = {}
for s in socks:
    data = b""
    try:
        while b"\r\n" not in data:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
    except OSError:
        pass
    st = data.split(b" ")[1].decode() if data.count(b" ") >= 1 else "none"
    statuses[st] = statuses.get(st, 0) + 1
    s.close()
print(json.dumps(statuses))
PY
bg polls TERM "$PY" "$T/polls.py" "$P_CTL" "$TOKEN" "$T/polls.ready"
polls=$LAST_PID
for _ in $(seq 1 200); do
	[ -s "$T/polls.ready" ] && break
	sleep 0.05
done
[ -s "$T/polls.ready" ] || fail "the 150 long polls were not sent within 10 s"
sleep 1
prompt "GET /v1/status while 150 long polls wait" "$U/v1/status" -H "Authorization: Bearer $TOKEN"
prompt "/healthz while 150 long polls wait" "$U/healthz"
kill -0 "$polls" 2>/dev/null || fail "the long polls ended before the request in flight: $(cat "$T/polls.log")"
wait "$slow" || true
wait_exit "$polls" 30 || fail "the long polls did not end: $(cat "$T/polls.log")"
assert_eq "$(cat "$T/polls.log")" '{"200": 150}' "answers to the 150 long polls"
echo ok
