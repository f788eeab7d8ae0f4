#!/bin/sh
# fulcrum-entrypoint: runs an app in a container that registers itself with fulcrum.
# It starts the app, registers it (fulcrumctl set --wait-healthy), forwards signals to
# it, and on SIGTERM (docker stop) or SIGINT first drains it (fulcrumctl drain --wait) and
# only then stops the app; when the app has exited, the backend is removed.
#
#   fulcrum-entrypoint APP [ARGS...]        e.g. fulcrum-entrypoint gunicorn -b 0.0.0.0:8000 app:app
#
# Environment:
#   FULCRUM_POOL               pool to join (required)
#   FULCRUM_ADDRESS            address fulcrum reaches the app at, e.g. 10.0.0.7:8000; default:
#                              the container's first address (hostname -i) and FULCRUM_PORT
#   FULCRUM_PORT               the app's port, when FULCRUM_ADDRESS is not given
#   FULCRUM_BACKEND            backend name (default: the host name, i.e. the container id)
#   FULCRUM_WEIGHT, FULCRUM_MAX_CONNS    optional backend settings
#   FULCRUM_DRAIN_TIMEOUT      longest drain in seconds (default 25; keep it under docker
#                              stop's --time, default 10, e.g. docker stop -t 40)
#   FULCRUM_REGISTER_TIMEOUT   how long registering may take, in seconds (default 60)
#   FULCRUM_ALL=1              register with and drain on every replica (fulcrumctl --all)
#   FULCRUM_CONTROL, FULCRUM_TOKEN_FILE, FULCRUM_TOKEN   as for fulcrumctl
#   FULCRUMCTL                 fulcrumctl binary (default: fulcrumctl on PATH)
# Exit status: the app's; 2 for a bad environment; 1 when registering failed (the app is
# stopped then, so that the container restarts instead of serving unregistered).
set -u

log() { echo "fulcrum-entrypoint: $*" >&2; }

FULCRUMCTL=${FULCRUMCTL:-fulcrumctl}
POOL=${FULCRUM_POOL:-}
NAME=${FULCRUM_BACKEND:-$(hostname)}
DRAIN=${FULCRUM_DRAIN_TIMEOUT:-25}
REGISTER=${FULCRUM_REGISTER_TIMEOUT:-60}
ALL=
[ "${FULCRUM_ALL:-0}" = 1 ] && ALL=--all

if [ $# -eq 0 ] || [ -z "$POOL" ]; then
	log "usage: FULCRUM_POOL=pool [FULCRUM_ADDRESS=ip:port | FULCRUM_PORT=port] fulcrum-entrypoint APP [ARGS...]"
	exit 2
fi
ADDRESS=${FULCRUM_ADDRESS:-}
if [ -z "$ADDRESS" ]; then
	if [ -z "${FULCRUM_PORT:-}" ]; then
		log "set FULCRUM_ADDRESS or FULCRUM_PORT"
		exit 2
	fi
	ip=$(hostname -i 2>/dev/null | awk '{print $1}')
	case $ip in
	"") log "cannot find the container's address (hostname -i); set FULCRUM_ADDRESS"; exit 2 ;;
	*:*) ADDRESS="[$ip]:$FULCRUM_PORT" ;;
	*) ADDRESS="$ip:$FULCRUM_PORT" ;;
	esac
fi
case $DRAIN$REGISTER in *[!0-9]*)
	log "FULCRUM_DRAIN_TIMEOUT and FULCRUM_REGISTER_TIMEOUT take whole seconds"
	exit 2 ;;
esac

ctl() {
	# shellcheck disable=SC2086 # $ALL is empty or one word
	"$FULCRUMCTL" $ALL "$@"
}

app_pid=
reg_pid=
stopping=0

# SIGTERM/SIGINT: no new requests, wait for those in flight, then stop the app.
on_stop() {
	[ "$stopping" = 1 ] && return
	stopping=1
	# a registration still waiting would only end after its timeout
	[ -n "$reg_pid" ] && kill "$reg_pid" 2>/dev/null
	log "stop requested: draining $POOL/$NAME (at most $DRAIN s)"
	if ctl drain "$POOL" "$NAME" --wait --wait-timeout "$DRAIN" >&2; then
		log "drained; stopping the app (pid $app_pid)"
	else
		log "drain did not complete (exit $?); stopping the app anyway"
	fi
	kill -TERM "$app_pid" 2>/dev/null
}
forward() {
	log "forwarding SIG$1 to the app"
	kill -"$1" "$app_pid" 2>/dev/null
}
trap on_stop TERM INT
trap 'forward HUP' HUP
trap 'forward USR1' USR1
trap 'forward USR2' USR2
trap 'forward QUIT' QUIT

"$@" &
app_pid=$!
log "started $1 (pid $app_pid); registering $POOL/$NAME at $ADDRESS"

# Register in the background and wait for it, so that a signal is handled at once.
set -- set "$POOL" "$NAME" --address "$ADDRESS" --wait-healthy --wait-timeout "$REGISTER"
[ -n "${FULCRUM_WEIGHT:-}" ] && set -- "$@" --weight "$FULCRUM_WEIGHT"
[ -n "${FULCRUM_MAX_CONNS:-}" ] && set -- "$@" --max-conns "$FULCRUM_MAX_CONNS"
registered=0
deadline=$(($(date +%s) + REGISTER))
while [ "$stopping" = 0 ] && kill -0 "$app_pid" 2>/dev/null; do
	ctl "$@" >&2 &
	reg_pid=$!
	rc=0
	wait "$reg_pid" || rc=$?
	# a signal interrupts wait (status > 128) while the call goes on: wait again
	while kill -0 "$reg_pid" 2>/dev/null; do
		rc=0
		wait "$reg_pid" || rc=$?
	done
	if [ "$rc" = 0 ]; then
		registered=1
		log "registered $POOL/$NAME"
		break
	fi
	if [ "$(date +%s)" -ge "$deadline" ]; then
		log "could not register $POOL/$NAME within $REGISTER s (last exit $rc); stopping the app"
		kill -TERM "$app_pid" 2>/dev/null
		break
	fi
	sleep 1
done

# Wait for the app; a handled signal interrupts wait, so wait again while it runs.
status=0
while :; do
	status=0
	wait "$app_pid" || status=$?
	kill -0 "$app_pid" 2>/dev/null || break
done
log "the app exited with status $status"
if [ "$registered" = 1 ] || [ "$stopping" = 1 ]; then
	# drained already when stopping; an app that died on its own has nothing to finish
	ctl --timeout 10 remove "$POOL" "$NAME" --force >&2 || log "remove failed (exit $?)"
fi
if [ "$registered" = 0 ] && [ "$stopping" = 0 ] && [ "$status" = 0 ]; then
	status=1
fi
exit "$status"
