#!/usr/bin/env bash
# t_reload_listeners.sh: SIGHUP adds and removes listeners. A listener that stays keeps
# its socket (no refused connection while reloading), a new one starts serving, a
# removed one stops accepting at once while a request already in flight on it
# completes. Two workers, so every worker must switch generations.
. "$(dirname "$0")/../lib/lib.sh"
need_fulcrum

ports P_A P_B P_APP
start_flask web-1 "$P_APP" 3

cfg=$T/fulcrum.cfg
# write_cfg LISTENER...: a config with the named listeners (a, b) in front of web-1.
write_cfg() {
	local l list=""
	for l in "$@"; do
		case $l in
		a) list+="${list:+, }{ name = \"a\"; bind = \"127.0.0.1:$P_A\"; mode = \"http\"; pool = \"flask\"; }" ;;
		b) list+="${list:+, }{ name = \"b\"; bind = \"127.0.0.1:$P_B\"; mode = \"http\"; pool = \"flask\"; }" ;;
		esac
	done
	{
		E2E_WORKERS=2 cfg_common
		cat <<EOF
listeners = ( $list );
pools = ( { name = "flask"; health = { type = "none"; };
            backends = ( { name = "web-1"; address = "127.0.0.1:$P_APP"; } ); } );
EOF
	} >"$cfg.new"
	mv -f "$cfg.new" "$cfg"
}

# hup_applied N: sends SIGHUP and waits up to 5 s for generation N to be applied.
hup_applied() {
	kill -HUP "$FULCRUM_PID"
	local i
	for i in $(seq 50); do
		grep -q "generation $1 applied" "$T/fulcrum.log" && return 0
		sleep 0.1
	done
	fail "generation $1 was not applied: $(tail -5 "$T/fulcrum.log")"
}

write_cfg a
start_fulcrum "$cfg" "$P_A"

step "a listener that stays keeps serving across a reload that adds another"
# 60 requests, one every 50 ms, while the reload happens: none may be refused
(for i in $(seq 60); do echo "$(http_status "http://127.0.0.1:$P_A/")"; sleep 0.05; done) >"$T/during" &
loop=$!
sleep 0.5
write_cfg a b
hup_applied 2
wait "$loop"
assert_eq "$(grep -c '^200$' "$T/during")" 60 "requests on listener a answered 200 during the reload"
wait_listen "$P_B" "$FULCRUM_PID" 5
assert_eq "$(http_status "http://127.0.0.1:$P_B/")" 200 "the new listener b serves"

step "a removed listener stops accepting; a request in flight on it completes"
hcurl -o "$T/slow.body" -w '%{http_code}\n' "http://127.0.0.1:$P_A/sleep?ms=1500" >"$T/slow.code" 2>&1 &
slow=$!
sleep 0.4
write_cfg b
hup_applied 3
wait_unlisten "$P_A" 5
code=$(curl -s --max-time 2 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$P_A/" || true)
assert_eq "$code" 000 "a new connection to the removed listener a is refused"
wait "$slow" || true
assert_eq "$(cat "$T/slow.code")" 200 "the request in flight on listener a when it was removed"
assert_eq "$(http_status "http://127.0.0.1:$P_B/")" 200 "listener b still serves"

step "the same address can come back in a later generation"
write_cfg a b
hup_applied 4
wait_listen "$P_A" "$FULCRUM_PID" 5
assert_eq "$(http_status "http://127.0.0.1:$P_A/")" 200 "listener a serves again"
echo "ok"
