#!/usr/bin/env bash
# t_ctl_restart.sh: the journal loses nothing. After API changes (add, re-weight, drain,
# delete) fulcrum is killed with SIGKILL and started again: the pools are what the API
# last acknowledged. A reload of a changed file keeps them too, except for a backend the
# file itself edits afterwards (per backend the newer word wins). A journal record cut
# short mid-write, as kill -9 can leave it, is detected at start and not applied.
# e2e: pairs
. "$(dirname "$0")/../lib/lib.sh"
. "$E2E_DIR/ctl_lib.sh"
need_fulcrum

ports P_WEB P_CTL P_1 P_2 P_3 P_4 P_WEB2 P_CTL2
for i in 1 2 3 4; do
	port_var=P_$i
	start_flask "web-$i" "${!port_var}" 2
done

cfg=$T/fulcrum.cfg
# write_cfg WEIGHT1 [EXTRA BACKEND]: the file's pool has web-1 (with that weight) and web-2.
write_cfg() {
	{
		cfg_common
		cfg_control "$P_CTL"
		cat <<EOF
listeners = ( { name = "web"; bind = "127.0.0.1:$P_WEB"; mode = "http"; pool = "flask"; } );
pools = ( { name = "flask"; balance = "rr"; health = { type = "none"; };
            backends = (
              { name = "web-1"; address = "127.0.0.1:$P_1"; weight = $1; },
              { name = "web-2"; address = "127.0.0.1:$P_2"; weight = 1; }${2:+,
              $2} ); } );
EOF
	} >"$cfg.new"
	mv -f "$cfg.new" "$cfg"
}
write_cfg 1

# restart: SIGKILL, then start again on the same file and state_dir.
restarts=0
restart() {
	local rc=0
	stop_pid "$FULCRUM_PID" KILL 10 || rc=$?
	assert_eq "$rc" 137 "fulcrum's status after SIGKILL"
	restarts=$((restarts + 1))
	mv "$T/fulcrum.log" "$T/fulcrum-$restarts.log"
	start_fulcrum "$cfg" "$P_WEB" "$P_CTL"
}

# served N: the set of instances that answer N sequential requests.
served() {
	local i
	for ((i = 0; i < $1; i++)); do
		hcurl "http://127.0.0.1:$P_WEB/" | awk '{print $2}'
	done | sort -u | tr '\n' ' '
}

start_fulcrum "$cfg" "$P_WEB" "$P_CTL"
wait_http "http://127.0.0.1:$P_WEB/healthz" 10

step "API changes, each acknowledged"
assert_eq "$(ctl_rc set flask web-3 --address "127.0.0.1:$P_3" --weight 5 --max-conns 7)" 0 "add web-3"
assert_eq "$(ctl_rc set flask web-1 --weight 4)" 0 "re-weight web-1"
assert_eq "$(ctl_rc remove flask web-2 --force)" 0 "remove web-2"
assert_eq "$(ctl_rc set flask web-4 --address "127.0.0.1:$P_4")" 0 "add web-4"
assert_eq "$(ctl_rc drain flask web-4)" 0 "drain web-4"
acked=$(pool_summary flask)
printf '   %s\n' "${acked//$'\n'/$'\n'   }"
gen=$(current_generation)

step "kill -9 and start again: the pools are what the API acknowledged"
restart
assert_eq "$(pool_summary flask)" "$acked" "backends after kill -9 and restart"
assert_cmp "$(current_generation)" ">" "$gen" "generation id after the restart"
assert_eq "$(served 30)" "web-1 web-3 " "instances serving after the restart (web-4 drains, web-2 is gone)"

step "a reload keeps what the API set, except where the file was edited since"
write_cfg 1 "{ name = \"web-5\"; address = \"127.0.0.1:$P_4\"; weight = 1; }"
assert_eq "$(ctl_rc reload)" 0 "fulcrumctl reload"
want=$(printf '%s\nweb-5 127.0.0.1:%s 1 0 active' "$acked" "$P_4" | sort)
assert_eq "$(pool_summary flask)" "$want" "backends after the reload: the journal's, plus the file's new web-5"
# web-1 is edited in the file after the API re-weighted it: the newer word wins
write_cfg 9 "{ name = \"web-5\"; address = \"127.0.0.1:$P_4\"; weight = 1; }"
assert_eq "$(ctl_rc reload)" 0 "fulcrumctl reload after editing web-1 in the file"
want=$(printf '%s\n' "$want" | sed "s/^web-1 127.0.0.1:$P_1 4 /web-1 127.0.0.1:$P_1 9 /")
assert_eq "$(pool_summary flask)" "$want" "backends after the file's edit of web-1"
assert_contains "$(cat "$T/fulcrum.log")" "flask/web-1 was changed in the file since the API set it" "fulcrum's log"
acked=$(pool_summary flask)

step "a record cut short by kill -9 mid-write is detected and not applied"
good_size=$(stat -c %s "$T/state/journal")
assert_eq "$(ctl_rc set flask web-1 --weight 6)" 0 "re-weight web-1 again"
last=$(tail -n 1 "$T/state/journal")
# what kill -9 during the write of that record would leave: part of it
head -c "$good_size" "$T/state/journal" >"$T/journal.cut"
printf '%s' "${last:0:40}" >>"$T/journal.cut"
stop_pid "$FULCRUM_PID" KILL 10 || true
cp "$T/journal.cut" "$T/state/journal"
restarts=$((restarts + 1))
mv "$T/fulcrum.log" "$T/fulcrum-$restarts.log"
start_fulcrum "$cfg" "$P_WEB" "$P_CTL"
assert_contains "$(cat "$T/fulcrum.log")" "cut short" "fulcrum's log at start"
# the cut record (weight 6) was never acknowledged in this story: the state before it
assert_eq "$(pool_summary flask)" "$acked" "backends after a torn last record"
# rewritten from the good records: it ends with a whole record again
assert_eq "$(tail -c 1 "$T/state/journal" | od -An -c | tr -d ' ')" '\n' "last byte of the repaired journal"
assert_not_contains "$(cat "$T/state/journal")" '"weight":6' "repaired journal"
assert_eq "$(ctl_rc set flask web-1 --weight 8)" 0 "a change after the repair"
restart
assert_contains "$(pool_summary flask)" "web-1 127.0.0.1:$P_1 8 0 active" "web-1 after another kill -9"
assert_not_contains "$(cat "$T/fulcrum.log")" "cut short" "fulcrum's log at the last start"

step "kill -9 in the middle of a stream of changes"
: >"$T/acked"
(
	for n in $(seq 1 400); do
		ctl set flask web-3 --weight "$n" >/dev/null 2>&1 || break
		echo "$n" >>"$T/acked"
	done
) &
writer=$!
sleep 2
stop_pid "$FULCRUM_PID" KILL 10 || true
wait "$writer" || true
last=$(tail -n 1 "$T/acked")
assert_cmp "${last:-0}" ">" 5 "changes acknowledged before the kill"
restarts=$((restarts + 1))
mv "$T/fulcrum.log" "$T/fulcrum-$restarts.log"
start_fulcrum "$cfg" "$P_WEB" "$P_CTL"
w=$(pool_summary flask | awk '$1 == "web-3" {print $3}')
echo "   last acknowledged weight $last, weight after the restart $w"
# the last acknowledged change is there; the one in flight at the kill may be too (it
# was on disk before its answer could be sent), nothing older and nothing made up
[ "$w" = "$last" ] || [ "$w" = $((last + 1)) ] ||
	fail "web-3's weight after kill -9 is $w; the last acknowledged was $last"

step "a second process on the same state_dir (an overlapping restart) takes over when the first exits"
sed -e "s/127.0.0.1:$P_WEB\"/127.0.0.1:$P_WEB2\"/" -e "s/127.0.0.1:$P_CTL\"/127.0.0.1:$P_CTL2\"/" \
	"$cfg" >"$T/second.cfg"
bg fulcrum-second TERM "$FULCRUM" -c "$T/second.cfg"
SECOND=$LAST_PID
wait_listen "$P_CTL2" "$SECOND" 15
second() { "$FULCRUMCTL" -s "http://127.0.0.1:$P_CTL2" --token-file "$T/token" "$@"; }
assert_eq "$(rc_of second set flask web-3 --weight 11)" 8 "a change through the second process while the first runs"
assert_contains "$(cat "$T/rc.out")" "in use by another fulcrum process" "its refusal"
assert_contains "$(second backends flask)" " $w " "the second process runs on the first one's journal"
assert_eq "$(ctl_rc set flask web-3 --weight 12)" 0 "a change through the first process"
rc=0
stop_pid "$FULCRUM_PID" TERM 15 || rc=$?
assert_eq "$rc" 0 "the first process's exit status"
for _ in $(seq 50); do
	rc=$(rc_of second set flask web-3 --weight 13)
	[ "$rc" = 0 ] && break
	sleep 0.2
done
assert_eq "$rc" 0 "a change through the second process once the first is gone"
assert_contains "$(cat "$T/fulcrum-second.log")" "is ours now" "the second process's log"
rc=0
stop_pid "$SECOND" TERM 15 || rc=$?
assert_eq "$rc" 0 "the second process's exit status"
mv "$T/fulcrum.log" "$T/fulcrum-last.log"
start_fulcrum "$cfg" "$P_WEB" "$P_CTL"
assert_contains "$(pool_summary flask)" "web-3 127.0.0.1:$P_3 13 7 active" "web-3 after both processes"
echo "ok"
