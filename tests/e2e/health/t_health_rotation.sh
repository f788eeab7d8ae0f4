#!/usr/bin/env bash
# t_health_rotation.sh: health never empties a pool. max_down_percent counts the backends
# in rotation (admin active), not the draining or maint ones: with one active and one
# draining backend, the active one stays in rotation while its checks fail, and passive
# detection does not eject it either (regression: it was marked down and every request
# got 503 no_backend). Even max_down_percent = 100 never takes out the last backend in
# rotation, while a backend out of rotation (draining) may still be marked down.
. "$(dirname "$0")/../lib/lib.sh"
. "$(dirname "$0")/../lib/health_lib.sh"
need_fulcrum

ports P_A P_B P1 P2
start_flask web-1 "$P1" 2
start_flask web-2 "$P2" 2

cfg=$T/fulcrum.cfg
{
	cfg_common
	cat <<CFG
listeners = ( { name = "a"; bind = "127.0.0.1:$P_A"; mode = "http"; pool = "a"; },
              { name = "b"; bind = "127.0.0.1:$P_B"; mode = "http"; pool = "b"; } );
pools = ( { name = "a"; connect_timeout_ms = 1000; response_timeout_ms = 5000;
            health = { type = "http"; path = "/healthz"; interval_ms = 200; timeout_ms = 500; rise = 2; fall = 2; };
            passive = { errors = 3; error_status = "500-599"; eject_ms = 30000; };
            backends = ( { name = "web-1"; address = "127.0.0.1:$P1"; },
                         { name = "web-2"; address = "127.0.0.1:$P2"; state = "draining"; } ); },
          { name = "b"; connect_timeout_ms = 1000; response_timeout_ms = 5000;
            health = { type = "http"; path = "/healthz"; interval_ms = 200; timeout_ms = 500; rise = 2; fall = 2;
                       max_down_percent = 100; };
            backends = ( { name = "web-1"; address = "127.0.0.1:$P1"; },
                         { name = "web-2"; address = "127.0.0.1:$P2"; } ); } );
CFG
} >"$cfg"
t0=$(now_s)
start_fulcrum "$cfg" "$P_A" "$P_B"
wait_http "http://127.0.0.1:$P_A/" 10

step "pool a: web-1's checks fail while web-2 is draining: web-1 stays in rotation"
echo fail >"$T/health.web-1"
kept=$(wait_log 'backend a/web-1 .* stays in rotation' 5 "$t0")
line=$(grep -m1 'backend a/web-1 .* stays in rotation' "$T/fulcrum.log")
echo "   ${line#* gen=1 }"
assert_contains "$line" "max_down_percent 50 allows 0 of 1 down and 0 already are (backends in rotation" "the kept line"
# a few more failing checks (fall 2 at 200 ms): it still answers, no 503
sleep 1.5
[ -z "$(log_time 'backend a/web-1 .* down:' "$t0")" ] || fail "web-1 was taken out: $(grep 'a/web-1 .* down:' "$T/fulcrum.log")"
out=$(rawhttp loop --port "$P_A" --count 10 --interval 0.02 --path / --reconnect-every 1)
echo "   $(json_get "$out" '{k: d[k] for k in ("ok", "fail", "instances", "errors")}')"
assert_eq "$(json_get "$out" 'd["ok"]')" 10 "GETs on pool a while web-1's checks fail"
assert_eq "$(grep -c 'backend a/web-1 .* stays in rotation' "$T/fulcrum.log")" 1 "kept lines of a/web-1 (logged once)"

step "pool a: passive detection does not eject web-1 either (3 x 500 in a row)"
echo 500 >"$T/status.web-1"
out=$(rawhttp loop --port "$P_A" --count 6 --interval 0.02 --path /work --reconnect-every 1)
rm -f "$T/status.web-1"
assert_eq "$(json_get "$out" 'd["fail"]')" 6 "500s from web-1 (answered, not 503 no_backend)"
[ -z "$(log_time 'backend a/web-1 .* down:' "$t0")" ] || fail "web-1 was ejected: $(grep 'a/web-1 .* down:' "$T/fulcrum.log")"
out=$(rawhttp loop --port "$P_A" --count 5 --interval 0.02 --path / --reconnect-every 1)
assert_eq "$(json_get "$out" 'd["ok"]')" 5 "GETs on pool a after the 500s (errors: $(json_get "$out" 'd["errors"]'))"

step "pool b (max_down_percent 100): both fail; one goes down, the last one in rotation stays"
echo fail >"$T/health.web-2"
wait_log 'backend b/web-[12] .* down:' 5 "$t0" >/dev/null
wait_log 'backend b/web-[12] .* stays in rotation' 5 "$t0" >/dev/null
line=$(grep -m1 -E 'backend b/web-[12] .* stays in rotation' "$T/fulcrum.log")
echo "   ${line#* gen=1 }"
assert_contains "$line" "the last backend of the pool in rotation" "the kept line"
assert_eq "$(grep -cE 'backend b/web-[12] .* down:' "$T/fulcrum.log")" 1 "backends of pool b taken out"
out=$(rawhttp loop --port "$P_B" --count 10 --interval 0.02 --path / --reconnect-every 1)
assert_eq "$(json_get "$out" 'd["ok"]')" 10 "GETs on pool b while both fail (errors: $(json_get "$out" 'd["errors"]'))"

step "pool a: web-2 (draining, out of rotation) may go down"
wait_log 'backend a/web-2 .* down:' 5 "$t0" >/dev/null

step "checks pass again: everything is back"
rm -f "$T/health.web-1" "$T/health.web-2"
wait_log 'backend b/web-[12] .* up:' 5 "$t0" >/dev/null
out=$(rawhttp loop --port "$P_B" --count 20 --interval 0.01 --path / --reconnect-every 1)
assert_eq "$(json_get "$out" 'd["ok"]')" 20 "GETs on pool b at the end"
echo "ok"
