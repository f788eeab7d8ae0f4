#!/usr/bin/env bash
# t_ctl_rolling.sh: a rolling replacement through the control API under continuous load.
# Three Flask instances (old-1..3) are replaced one by one, as Kubernetes hooks would do
# it with fulcrumctl: start new-i, add it with --wait-healthy (active http checks: it
# answers once new-i passed them and is in rotation), drain old-i (and wait until
# it has no request left), remove it, stop it. Three clients send requests the whole time
# (one of them slow ones, so drains have something to wait for): not one fails, and no
# request that started after a drain was acknowledged reaches the drained instance.
. "$(dirname "$0")/../lib/lib.sh"
. "$E2E_DIR/ctl_lib.sh"
need_fulcrum

ports P_WEB P_CTL P_O1 P_O2 P_O3 P_N1 P_N2 P_N3 P_GHOST
declare -A PORT=([old-1]=$P_O1 [old-2]=$P_O2 [old-3]=$P_O3 [new-1]=$P_N1 [new-2]=$P_N2 [new-3]=$P_N3)
declare -A PID
for i in 1 2 3; do
	start_flask "old-$i" "${PORT[old-$i]}" 2
	PID[old-$i]=$LAST_PID
done

cfg=$T/fulcrum.cfg
{
	E2E_WORKERS=2 cfg_common
	cfg_control "$P_CTL"
	cat <<EOF
listeners = ( { name = "web"; bind = "127.0.0.1:$P_WEB"; mode = "http"; pool = "flask"; } );
pools = ( { name = "flask"; balance = "wlc";
            health = { type = "http"; path = "/healthz"; interval_ms = 300; timeout_ms = 1000;
                       rise = 2; fall = 3; };
            connect_timeout_ms = 1000; response_timeout_ms = 10000; queue_timeout_ms = 10000;
            drain_timeout_s = 20;
            backends = (
              { name = "old-1"; address = "127.0.0.1:$P_O1"; weight = 1; max_conns = 2; },
              { name = "old-2"; address = "127.0.0.1:$P_O2"; weight = 1; max_conns = 2; },
              { name = "old-3"; address = "127.0.0.1:$P_O3"; weight = 1; max_conns = 2; } ); } );
EOF
} >"$cfg"
start_fulcrum "$cfg" "$P_WEB" "$P_CTL"
wait_http "http://127.0.0.1:$P_WEB/healthz" 10

step "load: three clients until the rollout ends (at most ~100 s each, bounded counts)"
bg loop-fast TERM "$PY" "$E2E_DIR/rawhttp.py" loop --port "$P_WEB" --count 3200 --interval 0.03 \
	--path / --stop-file "$T/stop-load" --log "$T/req-fast.txt" --timeout 15
L1=$LAST_PID
bg loop-slow TERM "$PY" "$E2E_DIR/rawhttp.py" loop --port "$P_WEB" --count 440 --interval 0.05 \
	--path "/sleep?ms=200" --stop-file "$T/stop-load" --log "$T/req-slow.txt" --timeout 15
L2=$LAST_PID
bg loop-reconnect TERM "$PY" "$E2E_DIR/rawhttp.py" loop --port "$P_WEB" --count 1600 --interval 0.06 \
	--path / --reconnect-every 5 --stop-file "$T/stop-load" --log "$T/req-reconnect.txt" --timeout 15
L3=$LAST_PID
sleep 2

: >"$T/drains"
SLOW=()
for i in 1 2 3; do
	step "replace old-$i by new-$i"
	start_flask "new-$i" "${PORT[new-$i]}" 2
	PID[new-$i]=$LAST_PID
	rc=$(ctl_rc set flask "new-$i" --address "127.0.0.1:${PORT[new-$i]}" --weight 1 --max-conns 2 \
		--wait-healthy --wait-timeout 20)
	assert_eq "$rc" 0 "fulcrumctl set new-$i --wait-healthy ($(cat "$T/ctl.out"))"
	echo "   $(cat "$T/ctl.out")"
	b=$(ctl --json get flask "new-$i")
	assert_eq "$(json_get "$b" 'd["health"]')" up "new-$i's health when set --wait-healthy returned"
	assert_eq "$(json_get "$b" 'd["in_rotation"]')" true "new-$i in rotation when set --wait-healthy returned"
	sleep 1
	# slow requests in every slot of the pool (4 backends, max_conns 2), so that old-$i
	# has some in flight when its drain begins and the drain has something to wait for
	for _ in 1 2 3 4 5 6 7 8; do
		hcurl -o /dev/null -w '%{http_code}\n' "http://127.0.0.1:$P_WEB/sleep?ms=1500" \
			>>"$T/inflight-$i.codes" 2>&1 &
		SLOW+=($!)
	done
	sleep 0.4
	active=$(json_get "$(ctl --json get flask "old-$i")" 'd["active"]')
	assert_cmp "$active" ">" 0 "requests in flight on old-$i before its drain"
	rc=$(ctl_rc drain flask "old-$i")
	assert_eq "$rc" 0 "fulcrumctl drain old-$i ($(cat "$T/ctl.out"))"
	# the drain is acknowledged: from now on no request may start towards old-$i
	echo "old-$i $(date +%s.%N)" >>"$T/drains"
	rc=$(ctl_rc drain flask "old-$i" --wait --wait-timeout 20)
	assert_eq "$rc" 0 "fulcrumctl drain old-$i --wait ($(cat "$T/ctl.out"))"
	assert_contains "$(cat "$T/ctl.out")" "drained" "fulcrumctl drain --wait output"
	echo "   $(cat "$T/ctl.out") ($active in flight when the drain began)"
	waited=$(sed -n 's/.*drained in \([0-9.]*\) s.*/\1/p' "$T/ctl.out")
	assert_cmp "$waited" ">=" 0.5 "seconds drain --wait waited for the requests in flight"
	rc=$(ctl_rc remove flask "old-$i")
	assert_eq "$rc" 0 "fulcrumctl remove old-$i ($(cat "$T/ctl.out"))"
	echo "   $(cat "$T/ctl.out")"
	rc=0
	stop_pid "${PID[old-$i]}" INT 15 || rc=$?
	sleep 0.5
done
assert_eq "$(pool_summary flask | awk '{print $1}' | tr '\n' ' ')" "new-1 new-2 new-3 " "backends after the rollout"

step "every request succeeded"
# the clients ran the whole rollout (on a loaded machine it takes longer than usual)
sleep 1
: >"$T/stop-load"
for pid in $L1 $L2 $L3; do
	rc=0
	wait_exit "$pid" 90 || rc=$?
	assert_eq "$rc" 0 "client loop $pid"
done
for n in fast slow reconnect; do
	res=$(cat "$T/loop-$n.log")
	echo "   $n: $res"
	assert_eq "$(json_get "$res" 'd["fail"]')" 0 "failed requests of the $n client (errors: $(json_get "$res" 'd["errors"]'))"
	assert_eq "$(json_get "$res" 'd["retried"]')" 0 "requests the $n client had to retry on a new connection"
done

for pid in "${SLOW[@]}"; do
	wait "$pid" || true
done
for i in 1 2 3; do
	assert_eq "$(sort -u "$T/inflight-$i.codes")" 200 "slow requests in flight while old-$i drained"
done

step "no request reached a backend after its drain was acknowledged"
report=$("$PY" - "$T/drains" "$T"/req-*.txt <<'EOF'
import sys
drained = {}
for line in open(sys.argv[1]):
    name, t = line.split()
    drained[name] = float(t)
late, served = [], {}
for path in sys.argv[2:]:
    for line in open(path):
        t, idx, st, inst = line.split()[:4]
        served[inst] = served.get(inst, 0) + 1
        if inst in drained and float(t) > drained[inst]:
            late.append("%s: request #%s started %.3f s after the drain of %s"
                        % (path.rsplit("/", 1)[1], idx, float(t) - drained[inst], inst))
print(" ".join("%s=%d" % kv for kv in sorted(served.items())))
for l in late[:10]:
    print("LATE", l)
EOF
)
echo "   served: $(echo "$report" | head -1)"
assert_not_contains "$report" "LATE" "requests after a drain"
for i in 1 2 3; do
	assert_match "$(echo "$report" | head -1)" "new-$i=[1-9]" "requests served by new-$i"
	assert_match "$(echo "$report" | head -1)" "old-$i=[1-9]" "requests served by old-$i before its drain"
done

step "a backend that never passes its checks: set --wait-healthy times out (504, exit 7)"
t0=$(now_ms)
rc=$(ctl_rc set flask ghost --address "127.0.0.1:$P_GHOST" --wait-healthy --wait-timeout 2)
assert_eq "$rc" 7 "fulcrumctl set ghost --wait-healthy ($(cat "$T/ctl.out"))"
assert_cmp "$(($(now_ms) - t0))" ">=" 1900 "milliseconds set --wait-healthy waited"
assert_contains "$(cat "$T/ctl.out")" "not_in_rotation" "fulcrumctl's message"
assert_eq "$(http_status "http://127.0.0.1:$P_WEB/")" 200 "traffic while ghost is in the pool, down"
assert_eq "$(ctl_rc remove flask ghost)" 0 "remove ghost"
echo "ok"
