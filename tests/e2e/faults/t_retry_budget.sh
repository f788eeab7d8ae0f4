#!/usr/bin/env bash
# t_retry_budget.sh: replays (a request a backend took and dropped, sent again to another
# backend) are limited by the pool's retry budget (issue 24). A backend that reads every
# request and closes without answering sits beside a good one, round-robin, passive
# ejection off. With retry_budget_percent = 100 every dropped GET is replayed and
# answered 200; with 0 none is: the client gets the 502, and each refusal is counted in
# fulcrum_pool_retry_budget_refused_total, each replay in fulcrum_pool_retries_total.
# e2e: pairs
. "$(dirname "$0")/../lib/lib.sh"
need_fulcrum

ports P_ALL P_NONE P_CTL P_DROP P_OK
bg drop TERM "$PY" "$E2E_DIR/recbackend.py" --port "$P_DROP" --record "$T/drop.bin" --mode drop
wait_listen "$P_DROP" "$LAST_PID"
bg ok TERM "$PY" "$E2E_DIR/recbackend.py" --port "$P_OK" --record "$T/ok.bin" --mode ok
wait_listen "$P_OK" "$LAST_PID"
echo "metrics-token-0123456789abcdef" >"$T/token"
chmod 600 "$T/token"
cfg=$T/fulcrum.cfg
pool() {
	cat <<EOF
  { name = "$1"; balance = "rr"; health = { type = "none"; }; passive = { errors = 0; };
    retries = 1; retry_budget_percent = $2;
    backends = ( { name = "drop"; address = "127.0.0.1:$P_DROP"; },
                 { name = "ok"; address = "127.0.0.1:$P_OK"; } ); }
EOF
}
{
	cfg_common
	echo "control = { listen = \"127.0.0.1:$P_CTL\"; token_file = \"$T/token\"; };"
	echo "listeners = ( { name = \"all\"; bind = \"127.0.0.1:$P_ALL\"; mode = \"http\"; pool = \"all\"; },"
	echo "              { name = \"none\"; bind = \"127.0.0.1:$P_NONE\"; mode = \"http\"; pool = \"none\"; } );"
	echo "pools = ("
	pool all 100
	echo ","
	pool none 0
	echo ");"
} >"$cfg"
start_fulcrum "$cfg" "$P_ALL" "$P_NONE" "$P_CTL"

# statuses PORT: the statuses of 10 GETs, one connection each
statuses() {
	local i out=()
	for i in 1 2 3 4 5 6 7 8 9 10; do
		out+=("$(curl -s -o /dev/null --max-time 10 -w '%{http_code}' "http://127.0.0.1:$1/r$i")")
	done
	echo "${out[*]}"
}
metric() {
	curl -s -H "Authorization: Bearer $(cat "$T/token")" "http://127.0.0.1:$P_CTL/metrics" |
		awk -v n="$1{pool=\"$2\"}" '$1 == n { print $2 }'
}

step "retry_budget_percent = 100: every dropped request is replayed on the good backend"
st=$(statuses "$P_ALL")
echo "   $st"
assert_eq "$st" "$(printf '200 %.0s' 1 2 3 4 5 6 7 8 9 10 | sed 's/ $//')" "statuses"
r=$(metric fulcrum_pool_retries_total all)
echo "   replays $r, refused $(metric fulcrum_pool_retry_budget_refused_total all)"
assert_cmp "$r" ">=" 5 "replays in the pool with the whole budget (round-robin: every other request)"
assert_eq "$(metric fulcrum_pool_retry_budget_refused_total all)" 0 "refused replays with the whole budget"

step "retry_budget_percent = 0: no replay; the dropped requests get 502"
st=$(statuses "$P_NONE")
echo "   $st"
bad=$(tr ' ' '\n' <<<"$st" | grep -c 502 || true)
assert_cmp "$bad" ">=" 5 "502s without a budget (round-robin: every other request)"
assert_eq "$(tr ' ' '\n' <<<"$st" | grep -vc '^200$\|^502$' || true)" 0 "statuses other than 200 and 502"
assert_eq "$(metric fulcrum_pool_retry_budget_refused_total none)" "$bad" "refused replays = 502s"
assert_eq "$(metric fulcrum_pool_retries_total none)" 0 "replays without a budget"
echo "ok"
