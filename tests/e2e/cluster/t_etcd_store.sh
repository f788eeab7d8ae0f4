#!/usr/bin/env bash
# t_etcd_store.sh: the cluster store's etcd client (control/store_etcd.c, issue 22's first
# slice) against a real 3-member etcd cluster on loopback, through the test driver
# tests/tools/etcd_store_tool: binary-safe put/list; a txn on a stale revision gets a
# conflict with the current value, on the right one commits; a lease-bound key vanishes
# after its TTL unless kept alive, and with its lease revoked; a watch from revision R
# delivers every later change in order; after a compaction past R it reports
# "compacted"; with the leader killed during 100 writes, calls fail over to the other
# members and every acknowledged write is there afterwards, and a watch on the leader
# reports the error after the changes it saw; with the members paused, a
# call ends at its deadline; with all of etcd stopped, calls fail at once and health says
# unreachable.
# e2e: pairs
. "$(dirname "$0")/../lib/lib.sh"

. "$(dirname "$0")/../lib/etcd.sh"
TOOL=${ETCD_STORE_TOOL:-$(dirname "$FULCRUM")/tests/tools/etcd_store_tool}
[ -x "$TOOL" ] || fail "no test driver at $TOOL (make e2e-tools builds it)"

etcd_cluster_start

# st ARGS...: the driver on every member, a 3 s bound per call.
st() { timeout 30 "$TOOL" -e "$EPS" -t 3000 "$@"; }
# rev_of KEY LIST: the mod revision of KEY in a list output.
rev_of() { awk -v k="$1" '$1 == "kv" && $2 == k { print $4 }' <<<"$2"; }

step "put and list: values are bytes"
st put /t/bin 00ff0a000d41 >/dev/null || fail "put /t/bin"
st put /t/empty - >/dev/null || fail "put /t/empty"
st put /u/other 01 >/dev/null || fail "put /u/other"
out=$(st list /t/) || fail "list /t/: $out"
assert_eq "$(grep -c '^kv ' <<<"$out")" 2 "keys under /t/ (/u/other is not one)"
assert_match "$out" $'kv /t/bin 00ff0a000d41 [0-9]+ 0\nkv /t/empty - [0-9]+ 0' "list /t/"
R=$(rev_of /t/bin "$out")

step "a txn on the revision it read commits; on a stale one it gets the current state"
out=$(st cas /t/bin "$R" 76310a) || fail "cas on the current revision: $out"
R2=$(awk '{print $2}' <<<"$out")
assert_cmp "$R2" ">" "$R" "revision after the commit"
rc=0
out=$(st cas /t/bin "$R" 76320a) || rc=$?
assert_eq "$rc" 1 "exit of a stale cas ($out)"
assert_match "$out" "^conflict [0-9]+ $R2 76310a\$" "stale cas"
rc=0
out=$(st cas /t/new 0 6e) || rc=$?
assert_eq "$rc" 0 "cas of an absent key ($out)"
rc=0
out=$(st cas /t/new 0 6f) || rc=$?
assert_eq "$rc" 1 "cas 'absent' of a key that exists ($out)"
assert_match "$out" "^conflict [0-9]+ [0-9]+ 6e\$" "cas 'absent' of a key that exists"
out=$(st list /t/new)
assert_match "$out" "kv /t/new 6e " "the losing write changed nothing"

step "leases: a key vanishes after its TTL unless kept alive"
L1=$(st grant 2 | awk '$1 == "lease" {print $2}')
L2=$(st grant 4 | awk '$1 == "lease" {print $2}')
[ -n "$L1" ] && [ -n "$L2" ] || fail "lease grant"
st put /l/short 73 "$L1" >/dev/null || fail "put bound to lease $L1"
st put /l/kept 6b "$L2" >/dev/null || fail "put bound to lease $L2"
bg keepalive TERM "$TOOL" -e "$EPS" -t 3000 keepalive "$L2" 7
KA=$LAST_PID
gone=
for ((i = 0; i < 40; i++)); do
	out=$(st list /l/)
	case $out in *"kv /l/short "*) sleep 0.25 ;; *) gone=1; break ;; esac
done
[ -n "$gone" ] || fail "/l/short is still there 10 s after its 2 s lease: $out"
sleep 4 # past the kept lease's own 4 s TTL
out=$(st list /l/)
assert_contains "$out" "kv /l/kept 6b " "/l/ while its lease is kept alive"
wait_exit "$KA" 30 || fail "keepalive: $(cat "$T/keepalive.log")"
assert_eq "$(cat "$T/keepalive.log")" ok "keepalive"
assert_eq "$(st revoke "$L2")" ok "revoke"
out=$(st list /l/)
assert_not_contains "$out" "kv /l/" "/l/ after the revoke"
rc=0
out=$(st keepalive "$L1" 1) || rc=$?
assert_eq "$out" notfound "keepalive of an expired lease"

step "a watch from revision R gets every later change, in order"
R0=$(st list /w/ | awk '$1 == "rev" {print $2}')
bg watch TERM "$TOOL" -e "$EPS" -t 3000 watch /w/ $((R0 + 1)) 4 20
W=$LAST_PID
st put /w/1 61 >/dev/null
st put /w/2 62 >/dev/null
st del /w/1 >/dev/null
st put /w/3 63 >/dev/null
wait_exit "$W" 25 || fail "watch: $(cat "$T/watch.log")"
got=$(awk '{print $1, $2, ($1 == "put" ? $3 : "")}' "$T/watch.log")
assert_eq "$got" $'put /w/1 61\nput /w/2 62\ndelete /w/1 \nput /w/3 63' "watched events"
awk '{ r = $NF; if (r <= last) exit 1; last = r }' "$T/watch.log" ||
	fail "watch events not in revision order: $(cat "$T/watch.log")"
# the same history again from R, now that it is all in the past
out=$(st watch /w/ $((R0 + 1)) 4 10) || fail "watch of the past: $out"
assert_eq "$out" "$(cat "$T/watch.log")" "the past watched again"

step "after a compaction past R the watch says compacted"
RC=$(st list /w/ | awk '$1 == "rev" {print $2}')
etcdctl --endpoints="$EPS" --command-timeout=5s compact "$RC" >"$T/compact.out" 2>&1 ||
	fail "etcdctl compact: $(cat "$T/compact.out")"
out=$(st watch /w/ $((R0 + 1)) 1 10) || fail "watch from before the compaction: $out"
assert_eq "$out" "compacted $RC" "watch from a compacted revision"

step "the leader killed during 100 writes: none acknowledged is lost"
etcdctl --endpoints="$EPS" --command-timeout=5s endpoint status -w json >"$T/status.json" 2>&1 ||
	fail "endpoint status: $(cat "$T/status.json")"
LEADER=$("$PY" -c 'import json,sys
for s in json.load(open(sys.argv[1])):
    if s["Status"]["header"]["member_id"] == s["Status"]["leader"]:
        print(s["Endpoint"].rsplit(":", 1)[1])' "$T/status.json")
LI=
for i in 0 1 2; do [ "${CLIENT[$i]}" = "$LEADER" ] && LI=$i; done
[ -n "$LI" ] || fail "no leader among the members: $(cat "$T/status.json")"
# the leader's member first, so that calls start there and must fail over
ORDER="http://127.0.0.1:$LEADER"
for i in 0 1 2; do [ "$i" = "$LI" ] || ORDER="$ORDER,http://127.0.0.1:${CLIENT[$i]}"; done
RK=$(st list /k/ | awk '$1 == "rev" {print $2}')
# a watch on the leader sees the writes until the kill, then reports the error
bg kwatch TERM "$TOOL" -e "$ORDER" -t 3000 watch /k/ $((RK + 1)) 1000 60
KW=$LAST_PID
bg writes TERM "$TOOL" -e "$ORDER" -t 3000 writes /k/ 100 20
WR=$LAST_PID
for ((i = 0; i < 100; i++)); do # until a quarter of them is done, then the kill
	[ "$(grep -c '' "$T/writes.log")" -ge 25 ] && break
	sleep 0.1
done
stop_pid "${ETCD_PID[$LI]}" KILL 10 || true
wait_exit "$WR" 120 || fail "the writes did not end: $(tail -5 "$T/writes.log")"
assert_eq "$(grep -c '' "$T/writes.log")" 100 "writes reported"
acks=$(grep -c '^ack ' "$T/writes.log" || true)
late=$(awk '$1 == "ack" && $2 >= 50' "$T/writes.log" | wc -l)
assert_cmp "$late" ">=" 25 "writes acknowledged well after the kill (failover)"
out=$(timeout 30 "$TOOL" -e "$ORDER" -t 3000 list /k/) || fail "list /k/ after the kill: $out"
while read -r word n rev; do
	[ "$word" = ack ] || continue
	key=$(printf '/k/%03d' "$n")
	val=$(printf 'v%d' "$n" | od -An -tx1 | tr -d ' \n')
	grep -q "^kv $key $val " <<<"$out" || fail "write $n was acknowledged (revision $rev) but is not there"
done <"$T/writes.log"
echo "   $acks of 100 acknowledged, all present; $((100 - acks)) reported failed"
rc=0
wait_exit "$KW" 10 || rc=$?
assert_eq "$rc" 2 "exit of the watch on the killed leader ($(tail -2 "$T/kwatch.log"))"
assert_match "$(tail -1 "$T/kwatch.log")" "^error " "the watch's last report"
# what it saw before the kill: acknowledged writes at their revisions, in order
"$PY" - "$T/kwatch.log" "$T/writes.log" <<'EOF2' || fail "the watch on the leader disagrees with the writes"
import sys
acked = {}
for l in open(sys.argv[2]):
    f = l.split()
    if f[0] == "ack":
        acked["/k/%03d" % int(f[1])] = int(f[2])
seen = [l.split() for l in open(sys.argv[1]) if l.startswith("put ")]
assert len(seen) >= 10, "the watch saw %d writes before the kill" % len(seen)
revs = [int(f[3]) for f in seen]
assert revs == sorted(revs) and len(set(revs)) == len(revs), revs
for f in seen:
    assert f[1] not in acked or acked[f[1]] == int(f[3]), f
EOF2

step "the members left paused (connections accepted, nothing answered): calls end at their deadline"
for i in 0 1 2; do [ "$i" = "$LI" ] || kill -STOP "${ETCD_PID[$i]}"; done
t0=$(now_ms)
out=$(timeout 30 "$TOOL" -e "$ORDER" -t 2000 list /k/) || true
t1=$(now_ms)
assert_match "$out" "^unavailable .*elapsed_ms [0-9]+" "a list with the members paused"
assert_cmp $((t1 - t0)) ">=" 1900 "ms for a 2000 ms call to paused members"
assert_cmp $((t1 - t0)) "<" 6000 "ms for a 2000 ms call to paused members"

step "all of etcd stopped: calls fail within their timeout, health says unreachable"
# killed: a graceful stop without quorum spends seconds on what this test does not look at
for i in 0 1 2; do
	[ "$i" = "$LI" ] && continue
	rc=0
	stop_pid "${ETCD_PID[$i]}" KILL 10 || rc=$?
	[ "$rc" != 124 ] || fail "etcd m$i did not end within 10 s of SIGKILL"
done
t0=$(now_ms)
out=$(timeout 30 "$TOOL" -e "$ORDER" -t 2000 health) || fail "health: $out"
t1=$(now_ms)
assert_match "$out" "^list unavailable elapsed_ms [0-9]+" "a list with etcd down"
assert_contains "$out" "reachable 0" "health with etcd down"
assert_cmp $((t1 - t0)) "<" 6000 "ms for a 2000 ms call with etcd down"
rc=0
out=$(timeout 30 "$TOOL" -e "$ORDER" -t 2000 put /x 01) || rc=$?
assert_eq "$rc" 2 "exit of a put with etcd down ($out)"
assert_match "$out" "^unavailable " "a put with etcd down"
rc=0
out=$(timeout 30 "$TOOL" -e "$ORDER" -t 2000 watch /x 0 1 10) || rc=$?
assert_match "$out" "^error " "a watch with etcd down (exit $rc)"
echo PASS
