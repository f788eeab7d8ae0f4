#!/usr/bin/env bash
# t_sd_notify.sh: systemd's Type=notify protocol, observed on a NOTIFY_SOCKET this test
# holds (tests/e2e/lib/notify_listen.py): READY=1 only once the listener accepts; SIGHUP
# and POST /v1/config/reload -> RELOADING=1 (MONOTONIC_USEC) then READY=1; a refused
# config -> RELOADING=1, READY=1 with a STATUS saying so, the old config still serving,
# and `fulcrumctl reload` (the unit's ExecReload) failing; a rollback is a reload too;
# WATCHDOG=1 keepalives under WATCHDOG_USEC/WATCHDOG_PID; SIGTERM -> STOPPING=1. Every
# datagram comes from fulcrum's pid.
# e2e: pairs
. "$(dirname "$0")/../lib/lib.sh"
need_fulcrum
FULCRUMCTL=$(dirname "$FULCRUM")/fulcrumctl
[ -x "$FULCRUMCTL" ] || fail "no fulcrumctl beside $FULCRUM"

ports P_WEB P_CTL P_A
start_flask web-1 "$P_A" 1

cfg=$T/fulcrum.cfg
# write_cfg WEIGHT: the config, web-1 with that weight (a change a reload applies).
write_cfg() {
	{
		cfg_common
		cat <<EOF2
control = { listen = "127.0.0.1:$P_CTL"; };
listeners = ( { name = "web"; bind = "127.0.0.1:$P_WEB"; mode = "http"; pool = "flask"; } );
pools = ( { name = "flask"; health = { type = "none"; };
            backends = ( { name = "web-1"; address = "127.0.0.1:$P_A"; weight = $1; max_conns = 4; } ); } );
EOF2
	} >"$cfg.new"
	mv -f "$cfg.new" "$cfg"
}

N=$T/notify.txt
: >"$N"
bg notify TERM "$PY" "$E2E_DIR/notify_listen.py" "$T/notify.sock" "$N" "$P_WEB"
for ((i = 0; i < 100; i++)); do [ -S "$T/notify.sock" ] && break; sleep 0.05; done
[ -S "$T/notify.sock" ] || fail "notify_listen.py did not bind $T/notify.sock"

# events: the datagrams other than WATCHDOG=1, one per line, without time and pid.
events() { grep -v '^[0-9]* pid=[0-9]* WATCHDOG=1$' "$N" | cut -d' ' -f3- || true; }
# wait_events N WHAT: waits up to 10 s for at least N events.
wait_events() {
	local i
	for ((i = 0; i < 100; i++)); do
		[ "$(events | wc -l)" -ge "$1" ] && return 0
		sleep 0.1
	done
	fail "$2: only $(events | wc -l) of $1 notifications arrived: $(events | tr '\n' ' ')"
}
# event K: the K-th event (1-based).
event() { events | sed -n "${1}p"; }

step "start with NOTIFY_SOCKET, WATCHDOG_USEC=500000 and WATCHDOG_PID = fulcrum's pid"
write_cfg 1
# sh execs fulcrum: the pid that sets WATCHDOG_PID is fulcrum's, as systemd sets it
bg fulcrum TERM env NOTIFY_SOCKET="$T/notify.sock" WATCHDOG_USEC=500000 \
	sh -c 'WATCHDOG_PID=$$; export WATCHDOG_PID; exec "$0" -c "$1"' "$FULCRUM" "$cfg"
FULCRUM_PID=$LAST_PID
wait_listen "$P_WEB" "$FULCRUM_PID" 15
wait_events 1 "start"
e=$(event 1)
echo "   $e"
assert_match "$e" '^READY=1\|STATUS=generation 1, 1 of 1 backends in rotation probe=ok$' "first notification"
assert_eq "$(http_status "http://127.0.0.1:$P_WEB/")" 200 "request after READY"

step "WATCHDOG=1 every ~250 ms"
for ((i = 0; i < 60; i++)); do
	[ "$(grep -c ' WATCHDOG=1$' "$N" || true)" -ge 4 ] && break
	sleep 0.1
done
assert_cmp "$(grep -c ' WATCHDOG=1$' "$N" || true)" '>=' 4 "WATCHDOG=1 keepalives within 6 s"

step "SIGHUP with a good file -> RELOADING=1 (MONOTONIC_USEC) then READY=1, generation 2"
write_cfg 2
kill -HUP "$FULCRUM_PID"
wait_events 3 "good SIGHUP"
line=$(grep -v ' WATCHDOG=1$' "$N" | sed -n 2p)
e=$(event 2)
echo "   $e"
assert_match "$e" '^RELOADING=1\|MONOTONIC_USEC=[0-9]+$' "reload notification"
# MONOTONIC_USEC is CLOCK_MONOTONIC in microseconds: just before the listener got it
usec=${e#*MONOTONIC_USEC=} got=${line%% *}
assert_cmp "$usec" '<=' "$got" "MONOTONIC_USEC vs the time it was received"
assert_cmp "$((got - usec))" '<' 5000000 "MONOTONIC_USEC age when received (us)"
e=$(event 3)
echo "   $e"
assert_match "$e" '^READY=1\|STATUS=generation 2, 1 of 1 backends in rotation' "after the reload"

step "SIGHUP with a bad file -> RELOADING=1, READY=1 with the refusal; generation 2 serves"
good=$(cat "$cfg")
printf '%s\n' "$good" | sed 's/weight = 2;/weight = 0 0;/' >"$cfg.new" && mv -f "$cfg.new" "$cfg"
kill -HUP "$FULCRUM_PID"
wait_events 5 "bad SIGHUP"
assert_match "$(event 4)" '^RELOADING=1\|MONOTONIC_USEC=[0-9]+$' "refused reload, first"
e=$(event 5)
echo "   $e"
assert_match "$e" '^READY=1\|STATUS=reload refused, running config kept: .*fulcrum\.cfg:[0-9]+: .*; generation 2, ' "refused reload, then"
assert_eq "$(http_status "http://127.0.0.1:$P_WEB/")" 200 "request after the refused reload"

step "fulcrumctl reload (ExecReload) on the bad file: fails, RELOADING=1 then READY=1"
rc=0
"$FULCRUMCTL" -s "http://127.0.0.1:$P_CTL" reload >"$T/ctl.out" 2>&1 || rc=$?
[ "$rc" -ne 0 ] || fail "fulcrumctl reload exited 0 on a refused config: $(cat "$T/ctl.out")"
wait_events 7 "refused API reload"
assert_match "$(event 6)" '^RELOADING=1\|MONOTONIC_USEC=[0-9]+$' "refused API reload, first"
assert_match "$(event 7)" '^READY=1\|STATUS=reload refused' "refused API reload, then"

step "fulcrumctl reload on a good file: exit 0, generation 3"
write_cfg 3
"$FULCRUMCTL" -s "http://127.0.0.1:$P_CTL" reload >"$T/ctl.out" 2>&1 || fail "fulcrumctl reload: $(cat "$T/ctl.out")"
wait_events 9 "API reload"
assert_match "$(event 8)" '^RELOADING=1\|MONOTONIC_USEC=[0-9]+$' "API reload, first"
assert_match "$(event 9)" '^READY=1\|STATUS=generation 3, ' "API reload, then"

step "fulcrumctl rollback 1: RELOADING=1 then READY=1, generation 4"
"$FULCRUMCTL" -s "http://127.0.0.1:$P_CTL" rollback 1 >"$T/ctl.out" 2>&1 || fail "fulcrumctl rollback: $(cat "$T/ctl.out")"
wait_events 11 "rollback"
assert_match "$(event 10)" '^RELOADING=1\|MONOTONIC_USEC=[0-9]+$' "rollback, first"
assert_match "$(event 11)" '^READY=1\|STATUS=generation 4, ' "rollback, then"

step "SIGTERM -> STOPPING=1, exit 0"
stop_pid "$FULCRUM_PID" TERM 15 || fail "fulcrum exited $? on SIGTERM"
wait_events 12 "stop"
assert_match "$(event 12)" '^STOPPING=1' "on SIGTERM"
bad=$(grep -v " pid=$FULCRUM_PID " "$N" || true)
[ -z "$bad" ] || fail "datagrams not from fulcrum's pid $FULCRUM_PID: $bad"
echo "   $(events | wc -l) notifications and $(grep -c ' WATCHDOG=1$' "$N") keepalives, all from pid $FULCRUM_PID"
