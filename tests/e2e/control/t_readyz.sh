#!/usr/bin/env bash
# t_readyz.sh: /readyz says ready only when the replica can serve: 503 with the pool
# and the reason while a listener's pool is empty (200 once the pool says allow_empty),
# while every backend is down (200 once one is up, 503 again when it fails). The body
# is JSON naming the pool and the reason. (503 while stopping: t_ctl_api.sh.)
# e2e: pairs
. "$(dirname "$0")/../lib/lib.sh"
. "$E2E_DIR/ctl_lib.sh"
need_fulcrum

ports P_WEB P_CTL P_A
cfg=$T/fulcrum.cfg
# write_cfg POOL_BODY: the config with pool "flask" made of POOL_BODY.
write_cfg() {
	{
		cfg_common
		cfg_control "$P_CTL"
		cat <<EOF2
listeners = ( { name = "web"; bind = "127.0.0.1:$P_WEB"; mode = "http"; pool = "flask"; } );
pools = ( { name = "flask"; $1 } );
EOF2
	} >"$cfg.new"
	mv -f "$cfg.new" "$cfg"
}
# ready_is STATUS [SECONDS] [WHAT]: waits until /readyz answers STATUS (body in $T/ready.json).
ready_is() {
	local want=$1 secs=${2:-10} i st=
	for ((i = 0; i < secs * 5; i++)); do
		st=$(http_status_body "$T/ready.json" "http://127.0.0.1:$P_CTL/readyz")
		[ "$st" = "$want" ] && return 0
		sleep 0.2
	done
	fail "${3:-/readyz}: expected $want within ${secs}s, got $st: $(cat "$T/ready.json")"
}
reason() { json_get "$(cat "$T/ready.json")" "$1"; }
reload() {
	local st
	st=$(api POST /v1/config/reload)
	assert_eq "$st" 200 "reload ($(cat "$T/api.body"))"
}

step "an empty pool: not ready, and the body says which pool and why"
write_cfg 'health = { type = "none"; }; backends = ();'
start_fulcrum "$cfg" "$P_WEB" "$P_CTL"
ready_is 503 10 "/readyz with an empty pool"
assert_eq "$(reason 'd["status"]')" not_ready "status"
assert_eq "$(reason 'd["reasons"][0]["pool"]')" flask "pool named"
assert_eq "$(reason 'd["reasons"][0]["listener"]')" web "listener named"
assert_eq "$(reason 'd["reasons"][0]["reason"]')" empty_pool "reason"

step "allow_empty = true: ready with the pool empty"
write_cfg 'allow_empty = true; health = { type = "none"; }; backends = ();'
reload
ready_is 200 10 "/readyz with allow_empty"
assert_eq "$(reason 'd["status"]')" ready "status"

step "every backend down: not ready; one up: ready; it fails: not ready again"
write_cfg 'health = { type = "http"; path = "/healthz"; interval_ms = 200; timeout_ms = 1000;
            rise = 1; fall = 1; max_down_percent = 100; };
            backends = ( { name = "web-1"; address = "127.0.0.1:'"$P_A"'"; } );'
reload
ready_is 503 10 "/readyz with web-1 not listening"
assert_eq "$(reason 'd["reasons"][0]["reason"]')" no_backend_in_rotation "reason"
assert_eq "$(reason 'd["reasons"][0]["pool"]')" flask "pool named"
start_flask web-1 "$P_A" 1
FLASK_PID=$LAST_PID
ready_is 200 15 "/readyz once web-1 passed its check"
stop_pid "$FLASK_PID" KILL 10 || true
ready_is 503 15 "/readyz after web-1 died"
assert_eq "$(reason 'd["reasons"][0]["reason"]')" no_backend_in_rotation "reason"

echo "ok"
