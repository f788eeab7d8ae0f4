#!/usr/bin/env bash
# t_health_many.sh: a pool of 200 backends (one python process listening on 200 ports,
# a tenth of which read a request and never answer) checked every second: every healthy
# backend receives a check in every two-interval window, the hanging ones are marked
# down by timeout and no healthy one ever is, traffic avoids the hanging ones, and the
# longest stall of the control loop (SIGUSR2 report) is printed and bounded.
. "$(dirname "$0")/../lib/lib.sh"
. "$(dirname "$0")/../lib/health_lib.sh"
need_fulcrum

N=200
INTERVAL_MS=1000
RUN_S=12
ports P_WEB
start_check_listeners "$N"

cfg=$T/fulcrum.cfg
{
	cfg_common
	echo "listeners = ( { name = \"web\"; bind = \"127.0.0.1:$P_WEB\"; mode = \"http\"; pool = \"many\"; } );"
	echo "pools = ( { name = \"many\"; balance = \"wlc\"; connect_timeout_ms = 1000; response_timeout_ms = 3000;"
	echo "  health = { type = \"http\"; path = \"/healthz\"; interval_ms = $INTERVAL_MS; timeout_ms = 500; rise = 2; fall = 2; };"
	echo "  backends = ("
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

step "checks run for $RUN_S s"
sleep "$RUN_S"

step "traffic avoids the hanging backends once they are down"
out=$(rawhttp loop --port "$P_WEB" --count 100 --interval 0.005 --path / --reconnect-every 1)
echo "   $(json_get "$out" '{k: d[k] for k in ("ok", "fail", "errors")}')"
assert_eq "$(json_get "$out" 'd["ok"]')" 100 "GETs answered while 20 backends hang"

kill -USR2 "$FULCRUM_PID"
t_end=$(now_s)
report=$(wait_log 'health: control loop longest stall' 5 "$t_start" >/dev/null; grep -m1 'health: control loop longest stall' "$T/fulcrum.log")
echo "   ${report#* gen=1 }"
stall=$(echo "$report" | sed -E 's/.*longest stall ([0-9.]+) ms since start.*/\1/')
echo "   longest control-loop stall: $stall ms"
assert_cmp "$stall" "<" 1000 "longest control-loop stall in ms"

step "every healthy backend was checked in every $((2 * INTERVAL_MS)) ms window"
res=$("$PY" - "$T/ports" "$T/checks.rec" "$t_start" "$t_end" "$INTERVAL_MS" <<'PYEOF'
import json, sys
ports = [int(x) for x in open(sys.argv[1]).read().split()]
t0, t1, iv = float(sys.argv[3]), float(sys.argv[4]), int(sys.argv[5]) / 1000
seen = {p: [] for p in ports}
for line in open(sys.argv[2]):
    t, p = line.split()
    if t0 <= float(t) <= t1:
        seen[int(p)].append(float(t))
worst, worst_port, missing, hang_checks = 0.0, None, [], 0
for i, p in enumerate(ports):
    ts = sorted(seen[p])
    if i % 10 == 9:
        hang_checks += len(ts)
        continue
    if not ts:
        missing.append(p)
        continue
    # gaps from the start to the first check, between checks, and from the last to the end
    gaps = [ts[0] - t0] + [b - a for a, b in zip(ts, ts[1:])] + [t1 - ts[-1]]
    g = max(gaps)
    if g > worst:
        worst, worst_port = g, p
print(json.dumps({"worst_gap_s": round(worst, 3), "worst_port": worst_port, "never_checked": missing,
                  "checks_of_healthy": sum(len(seen[p]) for i, p in enumerate(ports) if i % 10 != 9),
                  "checks_of_hanging": hang_checks, "window_s": 2 * iv}))
PYEOF
)
echo "   $res"
assert_eq "$(json_get "$res" 'len(d["never_checked"])')" 0 "healthy backends never checked"
assert_cmp "$(json_get "$res" 'd["worst_gap_s"]')" "<=" "$(awk -v i=$INTERVAL_MS 'BEGIN {print 2 * i / 1000}')" \
	"longest time a healthy backend went unchecked (s)"
assert_cmp "$(json_get "$res" 'd["checks_of_healthy"]')" ">=" $((180 * (RUN_S - 1))) "checks received by the 180 healthy backends"

step "the 20 hanging backends are down, no healthy one ever was"
downs=$(grep -c 'backend many/b-[0-9]* .* down:' "$T/fulcrum.log" || true)
bad=$(grep 'backend many/b-[0-9]* .* down:' "$T/fulcrum.log" | sed -E 's/.*many\/b-([0-9]+) .*/\1/' |
	awk '$1 % 10 != 9' | wc -l)
echo "   $downs down lines, $bad for healthy backends"
assert_eq "$downs" 20 "backends marked down"
assert_eq "$bad" 0 "healthy backends marked down"
assert_contains "$(grep -m1 'backend many/b-009 .* down:' "$T/fulcrum.log")" "no answer within 500 ms" "the down line of b-009"
echo "ok"
