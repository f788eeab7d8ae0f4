#!/usr/bin/env bash
# t_fault_reloads.sh: 10 config reloads in 20 s under continuous load. Every 2 s the
# file changes (backends added and removed, weights and timeouts changed) and fulcrum
# gets SIGHUP: ten new generations, not one failed GET, and no keep-alive client
# connection closed under its client (which would show as a client-side retry). After
# the last reload, traffic goes only to the backends of the last file.
. "$(dirname "$0")/../lib/lib.sh"
. "$(dirname "$0")/../lib/health_lib.sh"
. "$(dirname "$0")/../lib/fault_lib.sh"
need_fulcrum

ports P_WEB P1 P2 P3
start_flask web-1 "$P1" 3
start_flask web-2 "$P2" 3
start_flask web-3 "$P3" 3
declare -A PORT=([web-1]=$P1 [web-2]=$P2 [web-3]=$P3)

cfg=$T/fulcrum.cfg
# write_cfg N BACKEND:WEIGHT...: the config for reload N (atomically, by rename).
write_cfg() {
	local n=$1 b blist=""
	shift
	for b in "$@"; do
		blist+="${blist:+, }{ name = \"${b%%:*}\"; address = \"127.0.0.1:${PORT[${b%%:*}]}\"; weight = ${b#*:}; max_conns = 3; }"
	done
	{
		cfg_common
		cat <<CFG
listeners = ( { name = "web"; bind = "127.0.0.1:$P_WEB"; mode = "http"; pool = "flask";
                head_timeout_ms = $((5000 + n * 100)); idle_timeout_ms = 30000; } );
pools = ( { name = "flask"; health = { type = "none"; }; connect_timeout_ms = 1000;
            response_timeout_ms = $((10000 + n * 100)); queue_timeout_ms = 10000; retries = 1; drain_timeout_s = 10;
            backends = ( $blist ); } );
CFG
	} >"$cfg.new"
	mv -f "$cfg.new" "$cfg"
}

write_cfg 0 web-1:1 web-2:1
start_fulcrum "$cfg" "$P_WEB"
wait_http "http://127.0.0.1:$P_WEB/healthz" 10

# the load ends 4 s after the last reload (60 s only bounds it)
step "continuous load: 6 keep-alive clients on /work; a reload every 2 s"
load_start load 6 60
sleep 1.5
sets=("web-1:1 web-2:1 web-3:1" "web-2:1 web-3:1" "web-2:3 web-3:1" "web-1:1 web-3:2"
	"web-1:1" "web-1:1 web-2:1 web-3:1" "web-3:1" "web-2:1 web-3:1" "web-1:2 web-2:1" "web-2:1 web-3:1")
for i in "${!sets[@]}"; do
	# shellcheck disable=SC2086
	write_cfg $((i + 1)) ${sets[$i]}
	kill -HUP "$FULCRUM_PID"
	t_last=$(now_s)
	echo "   reload $((i + 1)): ${sets[$i]}"
	sleep 2
done
sleep_until "$(awk -v t="$t_last" 'BEGIN {printf "%.3f", t + 4}')"
load_stop
load_check load 200 # also: no client had to resend a request on a new connection
gens=$(grep -c 'reload: reading' "$T/fulcrum.log" || true)
assert_eq "$gens" 10 "reloads read"
grep -q 'reload refused' "$T/fulcrum.log" && fail "a reload was refused: $(grep 'reload refused' "$T/fulcrum.log")"
assert_match "$(tail -n 5 "$T/fulcrum.log")" 'gen=11 ' "generation after 10 reloads"

late=$(awk -v t="$t_last" '$1 > t + 1.5 && $4 == "web-1" { n++ } END { print n + 0 }' "$T/load.req")
after=$(awk -v t="$t_last" '$1 > t + 1.5 { n++ } END { print n + 0 }' "$T/load.req")
echo "   after the last reload: $after requests, $late to web-1 (not in the last file)"
assert_cmp "$after" ">" 20 "requests after the last reload"
assert_eq "$late" 0 "requests to web-1 more than 1.5 s after the reload that removed it"
echo "ok"
