#!/usr/bin/env bash
# t_health_slow.sh: an instance whose responses slow down 10x (still healthy: its checks
# pass) gets far fewer requests under wlc, because its requests stay in flight longer;
# nothing fails and nothing is marked down.
. "$(dirname "$0")/../lib/lib.sh"
. "$(dirname "$0")/../lib/health_lib.sh"
need_fulcrum

ports P_WEB P1 P2 P3
start_flask web-1 "$P1" 4
start_flask web-2 "$P2" 4
start_flask web-3 "$P3" 4

cfg=$T/fulcrum.cfg
{
	cfg_common
	cat <<CFG
listeners = ( { name = "web"; bind = "127.0.0.1:$P_WEB"; mode = "http"; pool = "flask"; } );
pools = ( { name = "flask"; balance = "wlc";
            health = { type = "http"; interval_ms = 500; timeout_ms = 1000; rise = 2; fall = 3; };
            connect_timeout_ms = 1000; response_timeout_ms = 10000; queue_timeout_ms = 10000;
            backends = ( { name = "web-1"; address = "127.0.0.1:$P1"; max_conns = 4; },
                         { name = "web-2"; address = "127.0.0.1:$P2"; max_conns = 4; },
                         { name = "web-3"; address = "127.0.0.1:$P3"; max_conns = 4; } ); } );
CFG
} >"$cfg"
t0=$(now_s)
start_fulcrum "$cfg" "$P_WEB"

# phase NAME: 9 clients for 8 s; prints each instance's share.
phase() {
	local out
	out=$(hload run --port "$P_WEB" --clients 9 --duration 8 --log "$T/$1.log")
	assert_eq "$(json_get "$out" 'd["fail"]')" 0 "failed GETs in phase $1 (errors: $(json_get "$out" 'd["errors"]'))"
	json_get "$out" '{k: round(v / d["ok"], 3) for k, v in sorted(d["instances"].items())}'
}

step "all equally fast"
even=$(phase even)
echo "   shares: $even"
for n in web-1 web-2 web-3; do
	assert_cmp "$(json_get "$even" "d['$n']")" ">" 0.22 "share of $n while all are equally fast"
done

step "web-3's /work becomes 10x slower (200 ms instead of 20)"
echo 10 >"$T/slow.web-3"
slow=$(phase slow)
echo "   shares: $slow"
s3=$(json_get "$slow" "d['web-3']")
assert_cmp "$s3" "<" 0.15 "share of the slow web-3 (an equal share would be 0.33)"
for n in web-1 web-2; do
	assert_cmp "$s3" "<" "$(json_get "$slow" "d['$n'] / 2")" "share of web-3 vs half the share of $n"
done
[ -z "$(log_time 'backend flask/web-[0-9] .* (down|draining):' "$t0")" ] || fail "a backend was marked down or draining"
echo "ok"
