#!/usr/bin/env bash
# t_queue_fairness.sh: requests waiting in a pool's queue are served in the order they
# came. A new request must not take a slot that frees in the same batch of events as
# its arrival while older requests wait (queue_order.py makes exactly that happen by
# pausing fulcrum with SIGSTOP); overtaking is what the Flask benchmark's p99 saw. And
# a freed slot goes to the oldest waiter before the worker's loop sleeps again.
. "$(dirname "$0")/../lib/lib.sh"
need_fulcrum

ports P_LB P_BE
cfg=$T/fulcrum.cfg
{
	cfg_common
	cat <<EOF
listeners = ( { name = "web"; bind = "127.0.0.1:$P_LB"; mode = "http"; pool = "one"; } );
pools = ( { name = "one"; health = { type = "none"; }; queue_timeout_ms = 10000;
            backends = ( { name = "only"; address = "127.0.0.1:$P_BE"; max_conns = 1; } ); } );
EOF
} >"$cfg"
start_fulcrum "$cfg" "$P_LB"

step "A holds the only slot, B waits, C arrives with the slot's release: B goes first;"
step "a freed slot reaches the waiter at once (three hand-overs under 300 ms)"
out=$(timeout 60 "$PY" "$E2E_DIR/queue_order.py" --port "$P_LB" --backend-port "$P_BE" \
	--pid "$FULCRUM_PID") || fail "the backend saw $out (want /a, /b, /c, hand-overs under 300 ms)"
echo "   $out"
assert_eq "$(json_get "$out" '" ".join(d["statuses"])')" \
	"$(printf 'HTTP/1.1 200 OK %.0s' 1 2 3 4 5 6 7 8 9 | sed 's/ $//')" "statuses of every request"
echo "ok"
