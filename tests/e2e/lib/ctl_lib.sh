# shellcheck shell=bash
# ctl_lib.sh: helpers of the control API scenarios (t_ctl_*.sh), sourced after lib.sh:
# the fulcrumctl binary, a token, the control config group, calls with curl and with
# fulcrumctl, and a summary of a pool's backends for comparisons.

FULCRUMCTL=${FULCRUMCTL:-$(dirname "$FULCRUM")/fulcrumctl}
[ -x "$FULCRUMCTL" ] || fail "no fulcrumctl binary at $FULCRUMCTL (run make, or set FULCRUMCTL)"
TOKEN=e2e-$(od -An -N8 -tx8 /dev/urandom | tr -d ' ')
printf '%s\n' "$TOKEN" >"$T/token"
chmod 600 "$T/token"

# cfg_control PORT: the control group of a test config (loopback, token required).
cfg_control() {
	echo "control = { listen = \"127.0.0.1:$1\"; token_file = \"$T/token\"; };"
}

# ctl ARGS...: fulcrumctl against the test's control port ($P_CTL) with the token.
ctl() { "$FULCRUMCTL" -s "http://127.0.0.1:$P_CTL" --token-file "$T/token" "$@"; }

# ctl_rc ARGS...: prints fulcrumctl's exit status (its output goes to $T/ctl.out).
ctl_rc() {
	local rc=0
	ctl "$@" >"$T/ctl.out" 2>&1 || rc=$?
	echo "$rc"
}

# rc_of CMD...: prints CMD's exit status (output in $T/rc.out).
rc_of() {
	local rc=0
	"$@" >"$T/rc.out" 2>&1 || rc=$?
	echo "$rc"
}

# api METHOD PATH [CURL ARGS...]: the control API with the token (changes labelled
# Content-Type: application/json, as fulcrum requires); body in $T/api.body, prints the
# status.
api() {
	local m=$1 p=$2
	shift 2
	if [ "$m" = GET ]; then set -- "$@"; else set -- -H "Content-Type: application/json" "$@"; fi
	http_status_body "$T/api.body" "http://127.0.0.1:$P_CTL$p" -X "$m" \
		-H "Authorization: Bearer $TOKEN" "$@"
}

# pool_summary POOL: "name address weight max_conns admin" per backend, sorted: what
# the API reports, without the live counters.
pool_summary() {
	hcurl -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$P_CTL/v1/pools/$1/backends" |
		"$PY" -c 'import json,sys
d = json.load(sys.stdin)
for b in sorted(d["backends"], key=lambda b: b["name"]):
    print(b["name"], b["address"], b["weight"], b["max_conns"], b["admin"])'
}

# current_generation: the id of the running generation.
current_generation() {
	json_get "$(hcurl -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$P_CTL/v1/status")" \
		'd["generation"]["id"]'
}

# assert_error_json FILE: the body is JSON with non-empty "error" and "detail".
assert_error_json() {
	"$PY" -c 'import json,sys
d = json.load(open(sys.argv[1]))
assert isinstance(d.get("error"), str) and d["error"], d
assert isinstance(d.get("detail"), str) and d["detail"], d' "$1" ||
		fail "${2:-error body} is not {\"error\", \"detail\"}: $(head -c 300 "$1")"
}
