#!/usr/bin/env bash
# t_fault_health_busy.sh: the control thread is kept busy with 200 health checks every
# 500 ms (a pool of 200 backends in one python process, a tenth of which never answer,
# so checks also time out) while continuous load runs through another pool: not one GET
# fails, the checks keep their pace (each healthy backend is checked at least 8 times in
# the 6 s of measurement) and the control loop never stalls for a second.
# (t_health_many.sh checks the check schedule in detail, without load.)
. "$(dirname "$0")/../lib/lib.sh"
. "$(dirname "$0")/../lib/health_lib.sh"
. "$(dirname "$0")/../lib/fault_lib.sh"
need_fulcrum

N=200
ports P_WEB P1 P2
start_flask web-1 "$P1" 3
start_flask web-2 "$P2" 3
start_check_listeners "$N"

cfg=$T/fulcrum.cfg
{
	cfg_common
	cat <<CFG
listeners = ( { name = "web"; bind = "127.0.0.1:$P_WEB"; mode = "http"; pool = "flask"; } );
pools = ( { name = "flask"; health = { type = "http"; path = "/healthz"; interval_ms = 500; timeout_ms = 1000; };
            connect_timeout_ms = 1000; response_timeout_ms = 10000; queue_timeout_ms = 10000; retries = 1;
            backends = ( { name = "web-1"; address = "127.0.0.1:$P1"; max_conns = 3; },
                         { name = "web-2"; address = "127.0.0.1:$P2"; max_conns = 3; } ); },
          { name = "many"; health = { type = "http"; path = "/healthz"; interval_ms = 500; timeout_ms = 300;
                                      rise = 2; fall = 2; max_down_percent = 100; };
            backends = (
CFG
	i=0
	while read -r p; do
		sep=","
		[ $i -eq $((N - 1)) ] && sep=""
		printf '    { name = "b-%03d"; address = "127.0.0.1:%s"; }%s\n' "$i" "$p" "$sep"
		i=$((i + 1))
	done <"$T/ports"
	echo "  ); } );"
} >"$cfg"
t_start=$(now_s)
start_fulcrum "$cfg" "$P_WEB"
wait_http "http://127.0.0.1:$P_WEB/healthz" 10

# the load ends with the 6 s of measurement (60 s only bounds it)
step "continuous load: 6 keep-alive clients on /work while 200 backends are checked"
load_start load 6 60
sleep 3
t_m0=$(now_s)
sleep 6
t_m1=$(now_s)
load_stop
load_check load 300

res=$("$PY" - "$T/ports" "$T/checks.rec" "$t_m0" "$t_m1" <<'PYEOF'
import json, sys
ports = [int(x) for x in open(sys.argv[1]).read().split()]
t0, t1 = float(sys.argv[3]), float(sys.argv[4])
n = {p: 0 for p in ports}
for line in open(sys.argv[2]):
    t, p = line.split()
    if t0 <= float(t) <= t1 and int(p) in n:
        n[int(p)] += 1
healthy = [n[p] for i, p in enumerate(ports) if i % 10 != 9]
print(json.dumps({"fewest_checks_of_a_healthy_backend": min(healthy), "checks": sum(n.values())}))
PYEOF
)
echo "   checks in 6 s of load: $res"
assert_cmp "$(json_get "$res" 'd["fewest_checks_of_a_healthy_backend"]')" ">=" 8 "checks of the least checked healthy backend in 6 s (interval 500 ms)"

kill -USR2 "$FULCRUM_PID"
report=$(wait_log 'health: control loop longest stall' 5 "$t_start" >/dev/null; grep -m1 'health: control loop longest stall' "$T/fulcrum.log")
stall=$(echo "$report" | sed -E 's/.*longest stall ([0-9.]+) ms since start.*/\1/')
echo "   longest control-loop stall: $stall ms"
assert_cmp "$stall" "<" 1000 "longest control-loop stall in ms"
echo "ok"
