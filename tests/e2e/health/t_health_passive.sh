#!/usr/bin/env bash
# t_health_passive.sh: passive detection on live traffic (pools without active checks).
# Error statuses in a row eject a backend at once; the trial after the hold lets it back;
# a repeated ejection holds twice as long; a healthy trial ends it. max_down_percent
# keeps part of a pool in rotation even when more of it refuses. And a backend that
# closes the connection after reading a request is retried elsewhere at once
# (regression: the retry used to wait for the response timeout without sending).
. "$(dirname "$0")/../lib/lib.sh"
. "$(dirname "$0")/../lib/health_lib.sh"
need_fulcrum

ports P_ERR P_RC P_LIM P1 P2 P_CLOSE P_DEAD1 P_DEAD2
start_flask web-1 "$P1" 2
start_flask web-2 "$P2" 2
echo "$P_CLOSE" >"$T/close.ports"
bg closer TERM "$PY" "$E2E_DIR/listeners.py" --ports-file "$T/close.ports" --record "$T/close.rec" \
	--ready "$T/close.ready" --close --max-seconds 200
wait_listen "$P_CLOSE" "$LAST_PID" 10

cfg=$T/fulcrum.cfg
{
	cfg_common
	cat <<CFG
listeners = (
  { name = "err"; bind = "127.0.0.1:$P_ERR"; mode = "http"; pool = "err"; },
  { name = "rc"; bind = "127.0.0.1:$P_RC"; mode = "http"; pool = "rc"; },
  { name = "lim"; bind = "127.0.0.1:$P_LIM"; mode = "http"; pool = "lim"; } );
pools = (
  { name = "err"; balance = "wlc"; health = { type = "none"; }; connect_timeout_ms = 1000;
    passive = { errors = 3; eject_on_5xx = true; error_status = "500-599"; eject_ms = 2000; eject_max_ms = 60000; };
    backends = ( { name = "web-1"; address = "127.0.0.1:$P1"; }, { name = "web-2"; address = "127.0.0.1:$P2"; } ); },
  { name = "rc"; balance = "rr"; health = { type = "none"; }; connect_timeout_ms = 1000;
    response_timeout_ms = 3000; retries = 1; passive = { errors = 0; };
    backends = ( { name = "closer"; address = "127.0.0.1:$P_CLOSE"; }, { name = "web-1"; address = "127.0.0.1:$P1"; } ); },
  { name = "lim"; health = { type = "none"; }; connect_timeout_ms = 1000;
    backends = ( { name = "web-1"; address = "127.0.0.1:$P1"; }, { name = "dead-1"; address = "127.0.0.1:$P_DEAD1"; },
                 { name = "dead-2"; address = "127.0.0.1:$P_DEAD2"; } ); } );
CFG
} >"$cfg"
start_fulcrum "$cfg" "$P_ERR" "$P_RC" "$P_LIM"

# batch NAME: 12 sequential GETs of /work on the err listener; prints how many got 500.
batch() {
	rawhttp loop --port "$P_ERR" --count 12 --interval 0.02 --path /work --reconnect-every 1 --log "$T/$1.log" >/dev/null
	awk '$3 == 500' "$T/$1.log" | wc -l
}

step "web-2 answers 500: ejected after 3 in a row"
echo 500 >"$T/status.web-2"
n=$(batch b1)
assert_eq "$n" 3 "500s seen before web-2 was ejected"
line=$(grep 'backend err/web-2 .* down:' "$T/fulcrum.log" | tail -1)
echo "   ${line#* gen=1 }"
assert_contains "$line" "3 failed exchanges in a row (last: HTTP 500); ejected for 2.0 s (ejection 1 in a row)" "the ejection line"

step "after the hold a trial lets it back; 3 more 500s eject it for twice as long"
sleep 2.3
t_b2=$(now_s)
n=$(batch b2)
assert_eq "$n" 3 "500s seen in the second batch"
wait_log 'backend err/web-2 .* up: a connect after the ejection.s hold succeeded' 2 "$t_b2" >/dev/null
line=$(grep 'backend err/web-2 .* down:' "$T/fulcrum.log" | tail -1)
echo "   ${line#* gen=1 }"
assert_contains "$line" "ejected for 4.0 s (ejection 2 in a row)" "the second ejection line"

step "healthy again: the next trial ends it"
rm -f "$T/status.web-2"
sleep 4.3
t_b3=$(now_s)
n=$(batch b3)
assert_eq "$n" 0 "500s once web-2 is healthy"
wait_log 'backend err/web-2 .* up:' 2 "$t_b3" >/dev/null
assert_cmp "$(awk '$4 == "web-2"' "$T/b3.log" | wc -l)" ">" 2 "requests web-2 answered after coming back"

step "max_down_percent: of two refusing backends out of three, only one is ejected"
out=$(rawhttp loop --port "$P_LIM" --count 20 --interval 0.01 --path / --reconnect-every 1)
assert_eq "$(json_get "$out" 'd["ok"]')" 20 "GETs on a pool with two of three backends refusing"
downs=$(grep -cE 'backend lim/dead-[12] .* down:' "$T/fulcrum.log" || true)
assert_eq "$downs" 1 "dead backends ejected (max_down_percent 50 of 3)"
kept=$(grep -E 'backend lim/dead-[12] .* stays in rotation' "$T/fulcrum.log" | head -1)
echo "   ${kept#* gen=1 }"
assert_contains "$kept" "max_down_percent 50 allows 1 of 3 down and 1 already are" "the kept line"
assert_eq "$(grep -cE 'backend lim/dead-[12] .* stays in rotation' "$T/fulcrum.log")" 1 "kept lines (logged once)"

step "a backend that closes after reading the request: retried at once on web-1"
t_rc=$(now_s)
out=$(rawhttp loop --port "$P_RC" --count 20 --interval 0 --path / --reconnect-every 1 --timeout 10)
secs=$(awk -v a="$t_rc" -v b="$(now_s)" 'BEGIN {printf "%.2f", b - a}')
echo "   $(json_get "$out" '{k: d[k] for k in ("ok", "fail", "instances")}') in $secs s; the closer read $(wc -l <"$T/close.rec") requests"
assert_eq "$(json_get "$out" 'd["ok"]')" 20 "GETs (errors: $(json_get "$out" 'd["errors"]'))"
assert_cmp "$(wc -l <"$T/close.rec")" ">=" 5 "requests the closer read (the retries are real)"
assert_cmp "$secs" "<" 2.5 "seconds for 20 GETs (no response timeout of 3 s was waited for)"
echo "ok"
