# shellcheck shell=bash
# fault_lib.sh: helpers shared by the t_fault_*.sh scenarios (sourced after lib.sh and
# health_lib.sh): continuous bounded load from hload.py and the zero-failure assertion.

# load_start NAME CLIENTS SECONDS [HLOAD ARGS...]: hload.py run against $P_WEB in the
# background, its JSON result in $T/NAME.log, one line per request in $T/NAME.req.
# Sets LOAD_PID.
load_start() {
	local name=$1 clients=$2 secs=$3
	shift 3
	bg "$name" INT "$PY" "$E2E_DIR/hload.py" run --port "$P_WEB" --clients "$clients" \
		--duration "$secs" --log "$T/$name.req" "$@"
	LOAD_PID=$LAST_PID
}

# load_check NAME MIN_OK: waits for the load NAME to end, prints its result and fails
# unless every request succeeded (status 200, whole body) at the first attempt (the
# client never had to resend one on a fresh connection) and at least MIN_OK did. The
# result JSON is left in LOAD_RESULT.
load_check() {
	local name=$1 min=$2 out
	wait_exit "$LOAD_PID" 90 || fail "load generator $name did not finish"
	out=$(cat "$T/$name.log")
	echo "   $name: $(json_get "$out" '{k: d[k] for k in ("ok", "fail", "truncated", "retried", "instances", "elapsed")}')"
	assert_eq "$(json_get "$out" 'd["fail"]')" 0 "failed GETs under load $name (errors: $(json_get "$out" 'd["errors"]'))"
	assert_eq "$(json_get "$out" 'd["retried"]')" 0 "GETs the clients had to resend on a new connection under load $name"
	assert_cmp "$(json_get "$out" 'd["ok"]')" ">=" "$min" "successful GETs under load $name"
	LOAD_RESULT=$out
}

# load_stop [PID]: ends the load in the background now rather than at its duration
# (SIGTERM: each client finishes the request it is on, then the result is written as at
# the end of the duration); load_check collects it as usual.
load_stop() {
	kill -TERM "${1:-$LOAD_PID}" 2>/dev/null || true
}

# sleep_until T: sleeps until the wall-clock time T (seconds, from now_s), if still ahead.
sleep_until() {
	local d
	d=$(awk -v t="$1" -v n="$(now_s)" 'BEGIN { d = t - n; printf "%.3f", (d > 0 ? d : 0) }')
	sleep "$d"
}
