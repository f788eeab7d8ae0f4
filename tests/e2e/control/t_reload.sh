#!/usr/bin/env bash
# t_reload.sh: SIGHUP reloads under traffic. While a client sends 300 requests over
# ~15 s: two bad files are refused (logged, nothing changes), a good file adding web-2
# brings web-2 into rotation, and a file removing web-1 takes it out; not one request
# fails, and no keep-alive client connection is closed under the client.
. "$(dirname "$0")/../lib/lib.sh"
need_fulcrum

ports P_WEB P_A P_B
start_flask web-1 "$P_A" 2
start_flask web-2 "$P_B" 2

cfg=$T/fulcrum.cfg
# write_cfg BACKENDS...: writes the config (atomically, by rename) with a pool of the
# named backends (web-1, web-2).
write_cfg() {
	local b blist=""
	for b in "$@"; do
		case $b in
		web-1) blist+="${blist:+, }{ name = \"web-1\"; address = \"127.0.0.1:$P_A\"; weight = 1; max_conns = 2; }" ;;
		web-2) blist+="${blist:+, }{ name = \"web-2\"; address = \"127.0.0.1:$P_B\"; weight = 1; max_conns = 2; }" ;;
		esac
	done
	{
		cfg_common
		cat <<EOF
listeners = ( { name = "web"; bind = "127.0.0.1:$P_WEB"; mode = "http"; pool = "flask";
                head_timeout_ms = 2000; idle_timeout_ms = 5000; } );
pools = ( { name = "flask"; balance = "wlc"; health = { type = "none"; };
            connect_timeout_ms = 1000; response_timeout_ms = 5000; queue_timeout_ms = 2000; retries = 1;
            drain_timeout_s = 5;
            backends = ( $blist ); } );
EOF
	} >"$cfg.new"
	mv -f "$cfg.new" "$cfg"
}

refusals() { grep -i 'reload' "$T/fulcrum.log" | grep -ciE 'refus|error|fail|invalid|reject' || true; }

# hup_refused WHAT: sends SIGHUP and waits up to 3 s for one more refusal line.
hup_refused() {
	local before i
	before=$(refusals)
	kill -HUP "$FULCRUM_PID"
	for ((i = 0; i < 30; i++)); do
		[ "$(refusals)" -gt "$before" ] && break
		sleep 0.1
	done
	[ "$(refusals)" -gt "$before" ] || fail "no 'reload ... refused' line on stderr after SIGHUP with $1"
	kill -0 "$FULCRUM_PID" 2>/dev/null || fail "fulcrum died after SIGHUP with $1"
	echo "   refused $1: $(grep -i reload "$T/fulcrum.log" | tail -n 1)"
}

write_cfg web-1
start_fulcrum "$cfg" "$P_WEB"
wait_http "http://127.0.0.1:$P_WEB/healthz" 10

step "client loop: 300 requests over ~15 s, new connection every 10"
bg loop TERM "$PY" "$E2E_DIR/rawhttp.py" loop --port "$P_WEB" --count 300 --interval 0.05 \
	--path / --reconnect-every 10 --log "$T/requests.txt" --timeout 10
LOOP_PID=$LAST_PID
good_cfg=$(cat "$cfg")

sleep 2
step "(a) syntax error -> refused"
printf '%s\n' "$good_cfg" | sed 's/workers = \(.*\);/workers = ;/' >"$cfg.new" && mv -f "$cfg.new" "$cfg"
hup_refused "a syntax error"
sleep 1
step "(a) listener naming a missing pool -> refused"
printf '%s\n' "$good_cfg" | sed 's/pool = "flask";/pool = "nope";/' >"$cfg.new" && mv -f "$cfg.new" "$cfg"
hup_refused "a missing pool"

sleep 1.5
step "(b) good file adding web-2"
write_cfg web-1 web-2
t_add=$(date +%s.%N)
kill -HUP "$FULCRUM_PID"

sleep 4
step "(c) good file removing web-1"
write_cfg web-2
t_del=$(date +%s.%N)
kill -HUP "$FULCRUM_PID"

rc=0
wait_exit "$LOOP_PID" 60 || rc=$?
[ $rc = 0 ] || fail "client loop exited $rc"
res=$(cat "$T/loop.log")
echo "   $res"
assert_eq "$(json_get "$res" 'd["fail"]')" 0 "failed requests (errors: $(json_get "$res" 'd["errors"]'))"
assert_eq "$(json_get "$res" 'd["ok"]')" 300 "successful requests"
# A reload keeps open client connections, so no request met a connection closed under it.
assert_eq "$(json_get "$res" 'd["retried"]')" 0 "requests the client had to retry on a new connection"
kill -0 "$FULCRUM_PID" 2>/dev/null || fail "fulcrum is not running any more"

# Shares per period, from the client's own log: "start-time index status instance".
shares=$("$PY" - "$T/requests.txt" "$t_add" "$t_del" <<'EOF'
import sys
t_add, t_del = float(sys.argv[2]), float(sys.argv[3])
per = {"before": {}, "both": {}, "after": {}}
for line in open(sys.argv[1]):
    f = line.split()
    t, inst = float(f[0]), f[3]
    k = "before" if t < t_add else "both" if t_add + 1 <= t < t_del else "after" if t >= t_del + 1 else None
    if k:
        per[k][inst] = per[k].get(inst, 0) + 1
print(" ".join("%s:%s=%d" % (k, i, n) for k in per for i, n in sorted(per[k].items())))
EOF
)
echo "   $shares"
count_of() { echo "$shares" | tr ' ' '\n' | awk -F= -v k="$1" '$1 == k {print $2}' | grep . || echo 0; }
assert_eq "$(count_of before:web-2)" 0 "requests served by web-2 before it was added (the bad files changed nothing)"
assert_cmp "$(count_of before:web-1)" ">" 50 "requests served by web-1 before the reload"
assert_cmp "$(count_of both:web-2)" ">=" 10 "requests served by web-2 once added"
assert_cmp "$(count_of both:web-1)" ">=" 10 "requests served by web-1 while both are in the pool"
assert_eq "$(count_of after:web-1)" 0 "requests served by web-1 after its removal"
assert_cmp "$(count_of after:web-2)" ">" 30 "requests served by web-2 after web-1's removal"
echo "ok"
