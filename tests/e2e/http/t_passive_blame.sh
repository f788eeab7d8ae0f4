#!/usr/bin/env bash
# t_passive_blame.sh: passive detection counts only what is the backend's fault (issue
# 25, items 4, 5a, 5b). Every pool here may eject all of its backends
# (max_down_percent 100), so a wrong blame shows as an ejection line:
# - clients that stall their uploads past response_timeout_ms get a 408
#   (client_body_timeout) and eject nothing (with request buffering off: buffered, a
#   stalled upload never reaches a backend at all, t_buffer_slow_upload.sh);
# - an app answering 500 ejects nothing by default, and does with eject_on_5xx = true;
# - a backend that resets in the middle of its response bodies is ejected;
# - a backend answering garbage to a GET is retried on the other backend (the client
#   gets 200) and ejected.
# e2e: pairs
. "$(dirname "$0")/../lib/lib.sh"
. "$(dirname "$0")/../lib/health_lib.sh"
need_fulcrum

ports P_STALL P_E5 P_E5ON P_CUT P_JUNK P1 P2 P_RST P_GARB
start_flask web-1 "$P1" 3
start_flask web-2 "$P2" 3
bg reset TERM "$PY" "$E2E_DIR/recbackend.py" --port "$P_RST" --record "$T/reset.bin" --mode reset
wait_listen "$P_RST" "$LAST_PID"
bg garbage TERM "$PY" "$E2E_DIR/recbackend.py" --port "$P_GARB" --record "$T/garbage.bin" --mode garbage
wait_listen "$P_GARB" "$LAST_PID"

cfg=$T/fulcrum.cfg
webs="{ name = \"web-1\"; address = \"127.0.0.1:$P1\"; }, { name = \"web-2\"; address = \"127.0.0.1:$P2\"; }"
hnone='health = { type = "none"; max_down_percent = 100; }'
{
	cfg_common
	cat <<CFG
listeners = (
  { name = "stall"; bind = "127.0.0.1:$P_STALL"; mode = "http"; pool = "stall"; },
  { name = "e5"; bind = "127.0.0.1:$P_E5"; mode = "http"; pool = "e5"; },
  { name = "e5on"; bind = "127.0.0.1:$P_E5ON"; mode = "http"; pool = "e5on"; },
  { name = "cut"; bind = "127.0.0.1:$P_CUT"; mode = "http"; pool = "cut"; },
  { name = "junk"; bind = "127.0.0.1:$P_JUNK"; mode = "http"; pool = "junk"; } );
pools = (
  { name = "stall"; $hnone; response_timeout_ms = 1000; passive = { errors = 2; eject_ms = 60000; };
    buffering = { request = false; };
    backends = ( $webs ); },
  { name = "e5"; $hnone; balance = "rr"; passive = { errors = 3; eject_ms = 60000; }; backends = ( $webs ); },
  { name = "e5on"; $hnone; balance = "rr"; passive = { errors = 3; eject_on_5xx = true; eject_ms = 60000; };
    backends = ( $webs ); },
  { name = "cut"; $hnone; balance = "rr"; passive = { errors = 3; eject_ms = 60000; };
    backends = ( { name = "rst-1"; address = "127.0.0.1:$P_RST"; }, { name = "web-1"; address = "127.0.0.1:$P1"; } ); },
  { name = "junk"; $hnone; balance = "rr"; retries = 1; passive = { errors = 3; eject_ms = 60000; };
    backends = ( { name = "garbage"; address = "127.0.0.1:$P_GARB"; }, { name = "web-1"; address = "127.0.0.1:$P1"; } ); } );
CFG
} >"$cfg"
start_fulcrum "$cfg" "$P_STALL" "$P_E5" "$P_E5ON" "$P_CUT" "$P_JUNK"

# downs POOL: ejection lines of POOL's backends in the log so far.
downs() { grep -cE "backend $1/[^ ]+ .* down:" "$T/fulcrum.log" || true; }

step "4 clients stall their uploads (10 of 100 bytes) past response_timeout_ms: 408s, no ejection"
stall='POST /echo HTTP/1.1\r\nHost: t\r\nContent-Type: text/plain\r\nContent-Length: 100\r\n\r\n0123456789'
pids=()
for i in 1 2 3 4; do
	rawhttp slowloris --port "$P_STALL" --data "$stall" --max-wait 8 >"$T/stall.$i.out" &
	pids+=($!)
done
wait "${pids[@]}"
for i in 1 2 3 4; do
	out=$(cat "$T/stall.$i.out")
	echo "   client $i: $out"
	assert_contains "$out" "status=408" "what a stalled upload gets"
done
alog_wait 4 listener=stall
terms=$(alog group termination listener=stall)
echo "   access log: $terms"
assert_eq "$(json_get "$terms" 'd.get("client_body_timeout", 0)')" 4 "stalls logged as client_body_timeout"
assert_eq "$(downs stall)" 0 "backends ejected for stalled uploads"

step "an app answering 500: no ejection by default, ejected with eject_on_5xx = true"
rawhttp loop --port "$P_E5" --count 10 --interval 0.02 --path /status/500 --reconnect-every 1 >/dev/null
rawhttp loop --port "$P_E5ON" --count 10 --interval 0.02 --path /status/500 --reconnect-every 1 >/dev/null
assert_eq "$(downs e5)" 0 "backends ejected for 500s (eject_on_5xx off)"
assert_cmp "$(downs e5on)" ">=" 1 "backends ejected for 500s with eject_on_5xx = true"
grep -E 'backend e5on/[^ ]+ .* down:' "$T/fulcrum.log" | head -1 | sed 's/^.* down:/   down:/'

step "a backend that resets in the middle of its bodies: ejected after 3"
# (web-1 beside it: health never takes out the last backend in rotation)
for i in 1 2 3 4 5 6 7 8; do
	curl -sS --noproxy '*' --max-time 10 -o /dev/null "http://127.0.0.1:$P_CUT/cut/$i" 2>/dev/null || true
done
line=$(grep -E 'backend cut/rst-1 .* down:' "$T/fulcrum.log" | head -1 || true)
echo "   ${line#* down:}"
assert_contains "$line" "3 failed exchanges in a row (last: response cut short)" "the ejection line"

step "a backend answering garbage to GETs: retried on web-1 (all 200), then ejected"
out=$(rawhttp loop --port "$P_JUNK" --count 10 --interval 0.02 --path / --reconnect-every 1)
echo "   $(json_get "$out" '{k: d[k] for k in ("ok", "fail", "instances")}'); the garbage backend read $(grep -ac '^GET / ' "$T/garbage.bin") requests"
assert_eq "$(json_get "$out" 'd["ok"]')" 10 "GETs answered 200 (errors: $(json_get "$out" 'd["errors"]'))"
assert_cmp "$(grep -ac '^GET / ' "$T/garbage.bin")" ">=" 3 "GETs the garbage backend received (the retries are real)"
line=$(grep -E 'backend junk/garbage .* down:' "$T/fulcrum.log" | head -1 || true)
assert_contains "$line" "failed exchanges in a row (last: bad_response)" "the garbage backend's ejection line"
echo "ok"
