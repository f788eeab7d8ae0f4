# shellcheck shell=bash
# browser_lib.sh: headless Debian chromium for the status page scenarios, sourced after
# lib.sh: chromedriver started by pid, status_browser.py run against it, and the rule
# that a missing browser skips the test - except under CI=true, where it fails.

CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
CHROMEDRIVER=${CHROMEDRIVER:-/usr/bin/chromedriver}
DRIVER=
CHROMEDRIVER_PID=
PROFILE=$T/chromium-profile

# browser_unavailable REASON: skip, or fail under CI (where the browser must be there).
browser_unavailable() {
	if [ "${CI:-}" = true ]; then
		fail "CI=true and the browser cannot run: $*"
	fi
	skip "$* (install chromium and chromium-driver, as make test does)"
}

# start_browser: chromedriver on a free loopback port (stopped by pid with the rest);
# chromium itself is started per session by status_browser.py with a profile in $T.
start_browser() {
	local p
	[ -x "$CHROMIUM" ] || browser_unavailable "no chromium at $CHROMIUM"
	[ -x "$CHROMEDRIVER" ] || browser_unavailable "no chromedriver at $CHROMEDRIVER"
	ports p
	bg chromedriver TERM "$CHROMEDRIVER" --port="$p" --allowed-ips=127.0.0.1 --log-level=WARNING
	CHROMEDRIVER_PID=$LAST_PID
	wait_listen "$p" "$CHROMEDRIVER_PID" 30
	DRIVER=http://127.0.0.1:$p
	mkdir -p "$PROFILE"
}

# browser_run check|screenshot ARGS...: status_browser.py against our chromedriver;
# its exit 3 (chromium cannot start) is browser_unavailable, any other failure fails.
browser_run() {
	local cmd=$1 rc=0
	shift
	"$PY" "$E2E_DIR/status_browser.py" "$cmd" --driver "$DRIVER" --profile "$PROFILE" --chromium "$CHROMIUM" "$@" \
		>"$T/browser.log" 2>&1 || rc=$?
	cat "$T/browser.log"
	browser_stop
	case $rc in
	0) ;;
	3) browser_unavailable "$(grep -m1 '^BROWSER:' "$T/browser.log" | head -c 400)" ;;
	*) fail "status_browser.py $cmd: $(grep -m1 '^FAIL:' "$T/browser.log" | head -c 600)" ;;
	esac
}

# browser_stop: after the session: chromedriver stopped by its pid (it sometimes sits
# on SIGTERM; with no session left, SIGKILL loses nothing), and any chromium left over.
browser_stop() {
	browser_reap
	[ -n "$CHROMEDRIVER_PID" ] || return 0
	stop_pid "$CHROMEDRIVER_PID" TERM 3 >/dev/null 2>&1 || stop_pid "$CHROMEDRIVER_PID" KILL 5 >/dev/null 2>&1 || true
	CHROMEDRIVER_PID=
}

# browser_reap: a chromium left behind by a session that did not quit (the script was
# killed) is a child of our chromedriver with our profile: stopped by its pid.
browser_reap() {
	local drv=${CHROMEDRIVER_PID:-} pid
	[ -n "$drv" ] || return 0
	for pid in $(ps -o pid= --ppid "$drv" 2>/dev/null || true); do
		if tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "--user-data-dir=$PROFILE"; then
			kill -TERM "$pid" 2>/dev/null || true
		fi
	done
}
