#!/usr/bin/env bash
# t_health_reload.sh: checks follow config generations. A reload keeps the health state
# of backends it keeps (a down one stays down, nothing is re-announced), checks a new
# backend before giving it traffic (then warms it up), stops checking a removed one, and
# switching a pool to type "none" stops all its checks and lets a down backend back in
# through a trial request.
. "$(dirname "$0")/../lib/lib.sh"
. "$(dirname "$0")/../lib/health_lib.sh"
need_fulcrum

ports P_WEB P1 P2 P3
start_flask web-1 "$P1" 2
start_flask web-2 "$P2" 2
start_flask web-3 "$P3" 2

cfg=$T/fulcrum.cfg
# write_cfg TYPE BACKENDS...: the config with a pool of the named instances.
write_cfg() {
	local type=$1 n entries="" sep=""
	shift
	for n in "$@"; do
		case $n in web-1) p=$P1 ;; web-2) p=$P2 ;; web-3) p=$P3 ;; esac
		entries="$entries$sep { name = \"$n\"; address = \"127.0.0.1:$p\"; }"
		sep=","
	done
	{
		cfg_common
		cat <<CFG
listeners = ( { name = "web"; bind = "127.0.0.1:$P_WEB"; mode = "http"; pool = "flask"; } );
pools = ( { name = "flask"; slow_start_s = 3; connect_timeout_ms = 1000; response_timeout_ms = 5000;
            health = { type = "$type"; interval_ms = 300; timeout_ms = 300; rise = 2; fall = 2; max_down_percent = 100; };
            backends = ( $entries ); } );
CFG
	} >"$cfg"
}
GEN=1
# reload: SIGHUP, and wait until the next generation is applied.
reload() {
	GEN=$((GEN + 1))
	kill -HUP "$FULCRUM_PID"
	wait_log "reload: generation $GEN applied" 10 >/dev/null
}
# healthz_count NAME: checks fulcrum sent to the instance so far (its access log).
healthz_count() { grep -c 'GET /healthz .*fulcrum-health' "$T/$1.log" || true; }

write_cfg http web-1 web-2
t0=$(now_s)
start_fulcrum "$cfg" "$P_WEB"
sleep 1

step "web-2 fails its checks and goes down"
echo fail >"$T/health.web-2"
wait_log 'backend flask/web-2 .* down:' 5 "$t0" >/dev/null

step "reload adding web-3: web-2 stays down, web-3 is checked first, then warms up"
write_cfg http web-1 web-2 web-3
t_r1=$(now_s)
reload
wait_log 'backend flask/web-3 .* added: waiting for its first check' 5 "$t_r1" >/dev/null
t_up3=$(wait_log 'backend flask/web-3 .* up: first check passed' 5 "$t_r1")
up3=$(grep 'backend flask/web-3 .* up:' "$T/fulcrum.log" | tail -1)
echo "   ${up3#* gen=2 }"
assert_contains "$up3" "warming up over 3.0 s" "web-3's up line"
assert_cmp "$(awk -v a="$t_up3" -v b="$t_r1" 'BEGIN {print a - b}')" "<" 2 "seconds from the reload to web-3 up"
sleep 1
[ -z "$(log_time 'backend flask/web-(1|2) .* (up|added)' "$t_r1")" ] || fail "a kept backend was re-announced: $(grep -E 'flask/web-(1|2) .* (up|added)' "$T/fulcrum.log")"
out=$(rawhttp loop --port "$P_WEB" --count 40 --interval 0.01 --path / --reconnect-every 1)
echo "   $(json_get "$out" '{k: d[k] for k in ("ok", "fail", "instances")}')"
assert_eq "$(json_get "$out" 'd["ok"]')" 40 "GETs after the reload"
assert_eq "$(json_get "$out" 'd["instances"].get("web-2", 0)')" 0 "GETs answered by the still-down web-2"
assert_cmp "$(json_get "$out" 'd["instances"].get("web-3", 0)')" ">" 0 "GETs answered by the new web-3"

step "reload removing web-1: its checks stop"
write_cfg http web-2 web-3
reload
sleep 0.5
n1=$(healthz_count web-1)
sleep 2
assert_eq "$(healthz_count web-1)" "$n1" "checks web-1 received in the 2 s after its removal"
n3=$(healthz_count web-3)
assert_cmp "$n3" ">" 3 "checks web-3 received so far (still checked)"

step "reload with health.type = none: no more checks; web-2 gets back in by a trial"
echo "" >"$T/health.web-2"
write_cfg none web-2 web-3
t_r3=$(now_s)
reload
sleep 0.5
n2=$(healthz_count web-2)
n3=$(healthz_count web-3)
out=$(rawhttp loop --port "$P_WEB" --count 20 --interval 0.02 --path / --reconnect-every 1)
assert_eq "$(json_get "$out" 'd["ok"]')" 20 "GETs after switching checks off"
wait_log 'backend flask/web-2 .* up: a connect after the ejection.s hold succeeded' 5 "$t_r3" >/dev/null
sleep 1
assert_eq "$(healthz_count web-2)" "$n2" "checks web-2 received with type none"
assert_eq "$(healthz_count web-3)" "$n3" "checks web-3 received with type none"
echo "ok"
