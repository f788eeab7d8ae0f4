#!/usr/bin/env bash
# t_demo_script.sh: scripts/demo.sh (`make demo`) on free ports (DEMO_PORT,
# DEMO_CONTROL_PORT, DEMO_BACKEND_PORTS): it refuses to start, starting nothing, when the
# control API's port is taken; otherwise it serves through fulcrum, prints the status page
# URL (which answers) and fulcrumctl drain and undo lines that work as printed, and on
# SIGTERM stops everything it started. It installs nothing.
# e2e: pairs
. "$(dirname "$0")/../lib/lib.sh"
. "$E2E_DIR/ctl_lib.sh"
need_fulcrum
[ -x "$FULCRUMCTL" ] || fail "no fulcrumctl at $FULCRUMCTL (run make)"

DEMO=$REPO_DIR/scripts/demo.sh
ports P_WEB P_CTL P_B1 P_B2 P_B3
# demo.sh prints fulcrumctl's path relative to the current directory: run it from the
# repository, as `make demo` does.
cd "$REPO_DIR" || fail "cannot cd to $REPO_DIR"
demo_env=(env DEMO_PORT="$P_WEB" DEMO_CONTROL_PORT="$P_CTL" DEMO_BACKEND_PORTS="$P_B1 $P_B2 $P_B3")

step "control port taken: refused, nothing started"
bg busy TERM "$PY" -c '
import socket, sys, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen(8)
time.sleep(120)' "$P_CTL"
BUSY_PID=$LAST_PID
wait_listen "$P_CTL" "$BUSY_PID" 10
rc=0
"${demo_env[@]}" DEMO_SECONDS=0 "$DEMO" "$FULCRUM" </dev/null >"$T/refused.out" 2>&1 || rc=$?
assert_eq "$rc" 1 "demo.sh exit status with port $P_CTL taken ($(cat "$T/refused.out"))"
assert_contains "$(cat "$T/refused.out")" "port $P_CTL is already in use" "demo.sh output"
for p in "$P_WEB" "$P_B1" "$P_B2" "$P_B3"; do
	wait_unlisten "$p" 1 || fail "demo.sh refused but something listens on port $p"
done
stop_pid "$BUSY_PID" TERM 5 || true
wait_unlisten "$P_CTL" 5 || fail "the port-taking listener did not stop"

step "demo runs, prints the status page and fulcrumctl lines"
# shellcheck disable=SC2217 # bg is lib.sh's launcher; demo.sh must not read the terminal
bg demo TERM "${demo_env[@]}" DEMO_SECONDS=60 "$DEMO" "$FULCRUM" </dev/null
DEMO_PID=$LAST_PID
for _ in $(seq 1 300); do
	grep -q '^demo: first requests:' "$T/demo.log" && grep -q '^  ok web-' "$T/demo.log" && break
	kill -0 "$DEMO_PID" 2>/dev/null || break
	sleep 0.1
done
out=$(cat "$T/demo.log")
assert_contains "$out" "Status page (live per-backend traffic): http://127.0.0.1:$P_CTL/" "demo.sh output"
assert_match "$out" "  ok web-[123]" "demo.sh first requests"
assert_not_contains "$out" "4:2:1 under load" "demo.sh output"
ctl_rel=${FULCRUMCTL#"$REPO_DIR"/}
drain_line=$(grep -F -- "$ctl_rel -s http://127.0.0.1:$P_CTL drain flask web-3" "$T/demo.log" | head -n 1)
undo_line=$(grep -F -- "$ctl_rel -s http://127.0.0.1:$P_CTL set flask web-3 --state active" "$T/demo.log" | head -n 1)
[ -n "$drain_line" ] || fail "no fulcrumctl drain line naming $ctl_rel and the control URL: $out"
[ -n "$undo_line" ] || fail "no fulcrumctl undo line: $out"

step "the status page answers"
code=$(http_status "http://127.0.0.1:$P_CTL/")
assert_eq "$code" 200 "GET / on the control API"
assert_contains "$(hcurl "http://127.0.0.1:$P_CTL/")" "<html" "status page body"

step "the printed fulcrumctl lines work as printed"
# admin_state BACKEND: its admin state from `fulcrumctl --json get flask BACKEND`.
admin_state() {
	json_get "$("$FULCRUMCTL" -s "http://127.0.0.1:$P_CTL" --json get flask "$1")" 'd["admin"]'
}
bash -c "${drain_line%%#*}" >"$T/drain.out" 2>&1 || fail "printed drain line failed: $drain_line: $(cat "$T/drain.out")"
assert_eq "$(admin_state web-3)" draining "web-3 after the printed drain line"
bash -c "${undo_line%%#*}" >"$T/undo.out" 2>&1 || fail "printed undo line failed: $undo_line: $(cat "$T/undo.out")"
assert_eq "$(admin_state web-3)" active "web-3 after the printed undo line"

step "SIGTERM stops everything the demo started"
rc=0
stop_pid "$DEMO_PID" TERM 20 || rc=$?
[ "$rc" != 124 ] || fail "demo.sh still running 20 s after SIGTERM"
for p in "$P_WEB" "$P_CTL" "$P_B1" "$P_B2" "$P_B3"; do
	wait_unlisten "$p" 10 || fail "port $p still listens after demo.sh stopped"
done
echo "PASS"
