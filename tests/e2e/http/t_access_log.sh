#!/usr/bin/env bash
# t_access_log.sh: the access log's combined format (Referer and User-Agent quoted and
# escaped), log.access_sample (1 line of N,
# 5xx always), reopening on SIGUSR1 after the file was moved away, upload_ms of a slow
# upload, and the error log's gen= and conn= on a line about one connection.
# e2e: pairs
. "$(dirname "$0")/../lib/lib.sh"
need_fulcrum

ports P_WEB P_DEAD P_PX P_APP P_GONE
start_flask web-1 "$P_APP" 1
cfg=$T/fulcrum.cfg
write_cfg() {  # FORMAT SAMPLE
	cat >"$cfg" <<EOF
workers = 1;
state_dir = "$T/state";
shutdown_timeout_s = 5;
log = { level = "info"; access = "$T/access.log"; format = "$1"; access_sample = $2; };
listeners = (
  { name = "web"; bind = "127.0.0.1:$P_WEB"; mode = "http"; pool = "app"; },
  { name = "dead"; bind = "127.0.0.1:$P_DEAD"; mode = "http"; pool = "gone"; },
  { name = "px"; bind = "127.0.0.1:$P_PX"; mode = "http"; pool = "app"; accept_proxy = true;
    proxy_trusted = ( "127.0.0.1/32" ); } );
pools = (
  { name = "app"; health = { type = "none"; };
    backends = ( { name = "web-1"; address = "127.0.0.1:$P_APP"; weight = 1; max_conns = 8; } ); },
  { name = "gone"; health = { type = "none"; }; passive = { connect_failures = 0; errors = 0; };
    backends = ( { name = "dead-1"; address = "127.0.0.1:$P_GONE"; weight = 1; max_conns = 4; } ); } );
EOF
}
lines() { if [ -f "$1" ]; then wc -l <"$1" | tr -d ' '; else echo 0; fi; }
# wait_lines FILE N: up to 5 s for FILE to have N lines (written after the response).
wait_lines() {
	local i
	for ((i = 0; i < 50; i++)); do
		[ "$(lines "$1")" -ge "$2" ] && return 0
		sleep 0.1
	done
}
get() { http_status "$1"; }

write_cfg combined 1
start_fulcrum "$cfg" "$P_WEB" "$P_DEAD" "$P_PX"

step "combined format"
for p in a b c; do assert_eq "$(get "http://127.0.0.1:$P_WEB/p/$p" )" 200 "GET /p/$p"; done
wait_lines "$T/access.log" 3
assert_eq "$(lines "$T/access.log")" 3 "access-log lines"
re='^127\.0\.0\.1 - - \[[0-9]{2}/[A-Z][a-z]{2}/[0-9]{4}:[0-9]{2}:[0-9]{2}:[0-9]{2} \+0000\] "GET /p/a HTTP/1\.1" 200 [0-9]+ "-" "curl/[0-9.]+" backend=web-1 term=done total_ms=[0-9.]+ conn=0\.[0-9]+$'
assert_match "$(head -n 1 "$T/access.log")" "$re" "first combined line (curl's User-Agent, no Referer)"
# Referer and User-Agent as the client sent them, a quote and a backslash escaped
assert_eq "$(http_status "http://127.0.0.1:$P_WEB/p/r" -e 'http://shop.example/from?a=1' \
	-A 'Probe "1" \x')" 200 "GET /p/r with a Referer and a User-Agent"
wait_lines "$T/access.log" 4
assert_contains "$(tail -n 1 "$T/access.log")" \
	'"GET /p/r HTTP/1.1" 200 ' "the line of GET /p/r"
assert_contains "$(tail -n 1 "$T/access.log")" \
	' "http://shop.example/from?a=1" "Probe \"1\" \\x" backend=web-1 ' "Referer and User-Agent in the combined line"

step "access_sample = 5: 1 line of 5 for 2xx/4xx, every 5xx"
write_cfg json 5
kill -HUP "$FULCRUM_PID"
for ((i = 0; i < 50; i++)); do grep -q 'generation 2 applied' "$T/fulcrum.log" && break; sleep 0.1; done
grep -q 'generation 2 applied' "$T/fulcrum.log" || fail "reload to access_sample = 5 not applied"
before=$(lines "$T/access.log")
for ((i = 0; i < 20; i++)); do assert_eq "$(get "http://127.0.0.1:$P_WEB/p/s$i")" 200 "GET /p/s$i"; done
for ((i = 0; i < 3; i++)); do assert_eq "$(get "http://127.0.0.1:$P_WEB/status/404")" 404 "GET /status/404"; done
for ((i = 0; i < 2; i++)); do assert_eq "$(get "http://127.0.0.1:$P_DEAD/x$i")" 503 "GET on the dead pool"; done
# 23 sampled requests on one worker: the 5th, 10th, 15th and 20th are written; both 503s
wait_lines "$T/access.log" $((before + 6))
sleep 0.3
assert_eq "$(($(lines "$T/access.log") - before))" 6 "lines written for 20 x 200, 3 x 404, 2 x 503"
tail -n 6 "$T/access.log" >"$T/sampled.log"
assert_eq "$("$PY" "$E2E_DIR/alog.py" "$T/sampled.log" count status=503)" 2 "503 lines (never sampled out)"
assert_eq "$("$PY" "$E2E_DIR/alog.py" "$T/sampled.log" count status=200)" 4 "200 lines (every 5th)"
"$PY" "$E2E_DIR/alog.py" "$T/sampled.log" check-fields time,listener,client,client_port,method,path,status,pool,backend,bytes_in,bytes_out,queue_ms,connect_ms,response_ms,total_ms,upload_ms,delivery_ms,termination,request_id,connection ||
	fail "JSON access-log lines lack a documented field: $(tail -n 1 "$T/sampled.log")"

step "SIGUSR1 reopens the access log after it was moved away"
write_cfg json 1
kill -HUP "$FULCRUM_PID"
for ((i = 0; i < 50; i++)); do grep -q 'generation 3 applied' "$T/fulcrum.log" && break; sleep 0.1; done
mv "$T/access.log" "$T/access.log.1"
moved=$(lines "$T/access.log.1")
assert_eq "$(get "http://127.0.0.1:$P_WEB/p/before")" 200 "GET before SIGUSR1"
wait_lines "$T/access.log.1" $((moved + 1))
assert_eq "$(lines "$T/access.log.1")" $((moved + 1)) "a line after the move still goes to the moved file"
[ -e "$T/access.log" ] && fail "access.log exists before SIGUSR1"
kill -USR1 "$FULCRUM_PID"
for ((i = 0; i < 50; i++)); do grep -q 'access log reopened' "$T/fulcrum.log" && break; sleep 0.1; done
grep -q 'access log reopened' "$T/fulcrum.log" || fail "no 'access log reopened' after SIGUSR1"
for p in n1 n2 n3; do assert_eq "$(get "http://127.0.0.1:$P_WEB/p/$p")" 200 "GET /p/$p"; done
wait_lines "$T/access.log" 3
assert_eq "$(lines "$T/access.log")" 3 "lines in the new access.log"
assert_eq "$(lines "$T/access.log.1")" $((moved + 1)) "lines in the moved file (unchanged)"
assert_eq "$("$PY" "$E2E_DIR/alog.py" "$T/access.log" count path=/p/n3)" 1 "the new file has the new requests"

step "upload_ms: a body that comes in two halves a second apart takes a second to upload"
"$PY" - "$P_WEB" <<'EOF' || fail "the slow upload got no 200"
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
s.sendall(b"POST /echo?slow-upload HTTP/1.1\r\nHost: t\r\nContent-Length: 2000\r\n\r\n" + b"a" * 1000)
time.sleep(1.0)
s.sendall(b"b" * 1000)
got = b""
while b"\r\n\r\n" not in got:
    d = s.recv(4096)
    if not d:
        break
    got += d
sys.exit(0 if got.startswith(b"HTTP/1.1 200") else 1)
EOF
alog_wait 1 path=/echo?slow-upload
up=$(json_get "$(grep 'slow-upload' "$T/access.log" | tail -n 1)" 'd["upload_ms"]')
echo "   upload_ms $up"
assert_cmp "$up" ">=" 900 "upload_ms of a body sent in halves a second apart"
assert_cmp "$(json_get "$(grep '/p/n3' "$T/access.log" | tail -n 1)" 'd["upload_ms"]')" "==" 0 "upload_ms without a body"

step "an error-log line about a connection names the generation and the connection"
"$PY" - "$P_PX" <<'EOF' || fail "could not send a bad PROXY header"
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
s.sendall(b"NOT A PROXY HEADER AT ALL\r\n\r\n")
try:
    s.recv(100)
except OSError:
    pass
EOF
for ((i = 0; i < 50; i++)); do grep -q 'bad PROXY header' "$T/fulcrum.log" && break; sleep 0.1; done
line=$(grep 'bad PROXY header' "$T/fulcrum.log" | tail -n 1)
assert_match "$line" ' warn gen=3 conn=0\.[0-9]+ listener px: bad PROXY header' "error-log line"
echo "PASS"
