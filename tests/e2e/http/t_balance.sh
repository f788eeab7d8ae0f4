#!/usr/bin/env bash
# t_balance.sh: weighted least-connections with max_conns under 24 concurrent clients.
# Phase 1 is the users' scenario: Flask instances with 4/2/1 sync workers (~20 ms per
# /work), weights 4/2/1, max_conns 4/2/1: no request fails and the shares are about
# 4:2:1. Phase 2 gives every instance 8 threads, so only fulcrum's max_conns can keep
# the concurrency an instance sees at 4/2/1: the peak each one records must not exceed it.
# fulcrum runs two workers, so this holds across workers.
. "$(dirname "$0")/../lib/lib.sh"
need_fulcrum

ports P_WEB P_ROOMY P1 P2 P3 R1 R2 R3
start_flask web-1 "$P1" 4
start_flask web-2 "$P2" 2
start_flask web-3 "$P3" 1
start_flask roomy-1 "$R1" 1 -k gthread --threads 8
start_flask roomy-2 "$R2" 1 -k gthread --threads 8
start_flask roomy-3 "$R3" 1 -k gthread --threads 8

cfg=$T/fulcrum.cfg
{
	# Two workers (one per CPU on a 2-core machine): max_conns and the wait queue must hold
	# across workers.
	E2E_WORKERS=2 cfg_common
	cat <<EOF
listeners = (
  { name = "web"; bind = "127.0.0.1:$P_WEB"; mode = "http"; pool = "flask"; },
  { name = "roomy"; bind = "127.0.0.1:$P_ROOMY"; mode = "http"; pool = "roomy"; } );
pools = (
  { name = "flask"; balance = "wlc"; health = { type = "none"; }; connect_timeout_ms = 1000;
    response_timeout_ms = 10000; queue_timeout_ms = 10000; retries = 1;
    backends = ( { name = "web-1"; address = "127.0.0.1:$P1"; weight = 4; max_conns = 4; },
                 { name = "web-2"; address = "127.0.0.1:$P2"; weight = 2; max_conns = 2; },
                 { name = "web-3"; address = "127.0.0.1:$P3"; weight = 1; max_conns = 1; } ); },
  { name = "roomy"; balance = "wlc"; health = { type = "none"; }; connect_timeout_ms = 1000;
    response_timeout_ms = 10000; queue_timeout_ms = 10000; retries = 1;
    backends = ( { name = "roomy-1"; address = "127.0.0.1:$R1"; weight = 4; max_conns = 4; },
                 { name = "roomy-2"; address = "127.0.0.1:$R2"; weight = 2; max_conns = 2; },
                 { name = "roomy-3"; address = "127.0.0.1:$R3"; weight = 1; max_conns = 1; } ); } );
EOF
} >"$cfg"
start_fulcrum "$cfg" "$P_WEB" "$P_ROOMY"

# peak NAME: the highest number of /work requests the instance had in flight at once.
peak() { awk '{print $2}' "$T/conc.$1" 2>/dev/null || echo 0; }
total() { awk '{print $3}' "$T/conc.$1" 2>/dev/null || echo 0; }

# run_load PORT PREFIX REQUESTS: 24 clients; checks that none failed; sets C1 C2 C3 to
# the requests each instance answered.
run_load() {
	local port=$1 pre=$2 n=$3 out
	out=$(rawhttp load --port "$port" --clients 24 --requests "$n" --path /work --timeout 20 --deadline 120)
	echo "   $out"
	assert_eq "$(json_get "$out" 'd["fail"]')" 0 "failed requests (errors: $(json_get "$out" 'd["errors"]'))"
	assert_eq "$(json_get "$out" 'd["ok"]')" "$n" "successful requests"
	C1=$(json_get "$out" "d['instances'].get('$pre-1', 0)")
	C2=$(json_get "$out" "d['instances'].get('$pre-2', 0)")
	C3=$(json_get "$out" "d['instances'].get('$pre-3', 0)")
}

# check_shares PREFIX REQUESTS: about 4:2:1 (ideal 57/29/14 %), generous tolerance.
check_shares() {
	local pre=$1 n=$2 s1 s2 s3
	s1=$(awk -v c="$C1" -v n="$n" 'BEGIN {printf "%.1f", 100 * c / n}')
	s2=$(awk -v c="$C2" -v n="$n" 'BEGIN {printf "%.1f", 100 * c / n}')
	s3=$(awk -v c="$C3" -v n="$n" 'BEGIN {printf "%.1f", 100 * c / n}')
	echo "   shares: $pre-1 $s1%  $pre-2 $s2%  $pre-3 $s3%  (ideal 57/29/14)"
	assert_cmp "$s1" ">=" 45 "% of requests served by $pre-1 (weight 4)"
	assert_cmp "$s2" ">=" 15 "% of requests served by $pre-2 (weight 2)"
	assert_cmp "$s2" "<=" 42 "% of requests served by $pre-2 (weight 2)"
	assert_cmp "$s3" "<=" 25 "% of requests served by $pre-3 (weight 1)"
	assert_cmp "$C3" ">" 0 "requests served by $pre-3"
	assert_eq "$(total "$pre-1")" "$C1" "/work requests counted by $pre-1 itself"
}

step "phase 1: 700 requests, 24 clients, sync workers 4/2/1"
run_load "$P_WEB" web 700
check_shares web 700
echo "   peaks in flight: web-1 $(peak web-1), web-2 $(peak web-2), web-3 $(peak web-3)"
assert_cmp "$(peak web-1)" "<=" 4 "peak in flight at web-1"
assert_cmp "$(peak web-2)" "<=" 2 "peak in flight at web-2"
assert_cmp "$(peak web-3)" "<=" 1 "peak in flight at web-3"
alog_wait 700 path=/work
assert_eq "$(alog count path=/work status=200)" 700 "access-log entries for /work with 200"
by=$(alog group backend path=/work)
echo "   access log by backend: $by"
assert_eq "$(json_get "$by" 'd.get("web-1", 0) + d.get("web-2", 0) + d.get("web-3", 0)')" 700 \
	"access-log entries naming web-1..3"

step "phase 2: 420 requests, 24 clients, 8 threads per instance: max_conns alone bounds concurrency"
run_load "$P_ROOMY" roomy 420
echo "   peaks in flight: roomy-1 $(peak roomy-1), roomy-2 $(peak roomy-2), roomy-3 $(peak roomy-3)"
assert_cmp "$(peak roomy-1)" "<=" 4 "peak in flight at roomy-1 (max_conns 4, 8 threads)"
assert_cmp "$(peak roomy-2)" "<=" 2 "peak in flight at roomy-2 (max_conns 2, 8 threads)"
assert_cmp "$(peak roomy-3)" "<=" 1 "peak in flight at roomy-3 (max_conns 1, 8 threads)"
assert_cmp "$(peak roomy-1)" ">=" 3 "peak in flight at roomy-1 (the load did overlap)"
check_shares roomy 420
echo "ok"
