#!/usr/bin/env bash
# t_timeouts.sh: a request head that does not complete within head_timeout_ms ends the
# connection (408 or a plain close), also when bytes keep trickling in; an idle
# keep-alive connection is closed after idle_timeout_ms; a backend that accepts and
# never answers yields 504 after response_timeout_ms.
. "$(dirname "$0")/../lib/lib.sh"
need_fulcrum

ports P_WEB P_SILENT_L P_APP P_SILENT
start_flask web-1 "$P_APP" 2
bg silent TERM "$PY" "$E2E_DIR/recbackend.py" --port "$P_SILENT" --record "$T/silent.bin" --mode silent
wait_listen "$P_SILENT" "$LAST_PID"

cfg=$T/fulcrum.cfg
{
	cfg_common
	cat <<EOF
listeners = (
  { name = "web"; bind = "127.0.0.1:$P_WEB"; mode = "http"; pool = "flask";
    head_timeout_ms = 1000; idle_timeout_ms = 3000; },
  { name = "silent"; bind = "127.0.0.1:$P_SILENT_L"; mode = "http"; pool = "silent";
    head_timeout_ms = 5000; idle_timeout_ms = 10000; } );
pools = (
  { name = "flask"; health = { type = "none"; }; connect_timeout_ms = 1000; response_timeout_ms = 5000;
    backends = ( { name = "web-1"; address = "127.0.0.1:$P_APP"; weight = 1; max_conns = 2; } ); },
  { name = "silent"; health = { type = "none"; }; connect_timeout_ms = 1000; response_timeout_ms = 1000;
    retries = 1;
    backends = ( { name = "silent-1"; address = "127.0.0.1:$P_SILENT"; weight = 1; max_conns = 0; } ); } );
EOF
} >"$cfg"
start_fulcrum "$cfg" "$P_WEB" "$P_SILENT_L"

# closed_check LABEL OUT MIN MAX STATUS-REGEX: OUT is a slowloris line.
closed_check() {
	local label=$1 out=$2 min=$3 max=$4 want=$5 after status
	echo "   $label: $out"
	assert_match "$out" '^closed_after=[0-9.]+ status=' "$label: the connection was closed"
	after=$(echo "$out" | sed 's/^closed_after=\([0-9.]*\) .*/\1/')
	status=$(echo "$out" | sed 's/.* status=//')
	assert_cmp "$after" ">=" "$min" "$label: seconds until closed"
	assert_cmp "$after" "<=" "$max" "$label: seconds until closed"
	assert_match "$status" "^($want)$" "$label: response before the close"
}

step "slowloris: half a head, then silence (head_timeout_ms = 1000)"
out=$(rawhttp slowloris --port "$P_WEB" --max-wait 8 --data 'GET /p/slow HTTP/1.1\r\nHost: t\r\nX-Slow: ')
closed_check "half a head" "$out" 0.9 2.5 '408|none'

step "slowloris: one more byte every 200 ms does not extend the head deadline"
out=$(rawhttp slowloris --port "$P_WEB" --max-wait 8 --trickle 0.2 --data 'GET /p/slow HTTP/1.1\r\nHost: t\r\nX-Slow: ')
closed_check "trickled head" "$out" 0.9 2.5 '408|none'

step "a new connection that sends nothing gets head_timeout_ms (1 s), not idle_timeout_ms (3 s)"
out=$(rawhttp slowloris --port "$P_WEB" --max-wait 8 --data '')
closed_check "silent client" "$out" 0.9 2.5 'none'

step "idle keep-alive connection closed after idle_timeout_ms = 3000"
out=$(rawhttp slowloris --port "$P_WEB" --max-wait 8 --data 'GET /p/idle HTTP/1.1\r\nHost: t\r\n\r\n')
closed_check "idle after a response" "$out" 2.8 4.8 200

step "backend accepts and never answers -> 504 after response_timeout_ms = 1000"
for path in /p/never "/p/never2?x=1"; do
	out=$(curl -s --noproxy '*' --max-time 10 -o "$T/body" -w '%{http_code} %{time_total}' "http://127.0.0.1:$P_SILENT_L$path" || true)
	echo "   GET $path: $out"
	assert_eq "${out%% *}" 504 "status from a backend that never answers"
	assert_cmp "${out#* }" ">=" 0.9 "seconds to the 504"
	assert_cmp "${out#* }" "<=" 3.0 "seconds to the 504 (not retried into a second timeout)"
done
grep -aq "GET /p/never " "$T/silent.bin" || fail "the silent backend did not receive the request"
alog_wait 2 status=504
assert_eq "$(alog count status=504 termination=response_timeout backend=silent-1)" 2 \
	"access-log lines of the 504s naming the backend that did not answer"
echo "ok"
