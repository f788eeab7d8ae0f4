#!/usr/bin/env bash
# t_ctl_lease.sh: hook registrations are leases and health answers carry an identity
# (issue 17). A backend the API adds lives for the pool's lease_ttl_s (or its ttl_s)
# unless a PUT renews it (no new generation); an expired one is removed (logged,
# journaled: a restart does not bring it back), also when it ran out while fulcrum was
# down; the expiry survives a restart as an absolute time. With identity_header set, a
# stranger on the backend's address that answers /healthz never passes its checks.
. "$(dirname "$0")/../lib/lib.sh"
. "$E2E_DIR/ctl_lib.sh"
need_fulcrum

ports P_WEB P_CTL P_A P_S
start_flask pod-a "$P_A" 1
start_flask stranger "$P_S" 1

cfg=$T/fulcrum.cfg
{
	cfg_common
	cfg_control "$P_CTL"
	cat <<EOF
listeners = ( { name = "web"; bind = "127.0.0.1:$P_WEB"; mode = "http"; pool = "flask"; } );
pools = ( { name = "flask"; lease_ttl_s = 4;
            health = { type = "http"; path = "/healthz"; interval_ms = 300; timeout_ms = 1000;
                       rise = 1; fall = 1; identity_header = "X-Pod-Name"; };
            backends = (); } );
EOF
} >"$cfg"
start_fulcrum "$cfg" "$P_WEB" "$P_CTL"

# field NAME EXPR: EXPR of backend NAME's API view (d), or "gone" on 404.
field() {
	local st
	st=$(api GET "/v1/pools/flask/backends/$1")
	if [ "$st" = 404 ]; then echo gone; return; fi
	json_get "$(cat "$T/api.body")" "$2"
}

step "identity: the pod that says who it is passes; a stranger on the address never does"
st=$(api PUT "/v1/pools/flask/backends/pod-a?wait=healthy&timeout=15" -d '{"address":"127.0.0.1:'"$P_A"'","ttl_s":0}')
assert_eq "$st" 201 "pod-a registered and healthy (identity = its name)"
assert_eq "$(field pod-a 'd["lease_ttl_s"]')" None "pod-a's lease (ttl_s 0: none)"
# pod-b's address is now served by another app, which answers /healthz with 200
st=$(api PUT "/v1/pools/flask/backends/pod-b?wait=healthy&timeout=3" -d '{"address":"127.0.0.1:'"$P_S"'","ttl_s":0}')
assert_eq "$st" 504 "pod-b on a stranger's address: never in rotation"
assert_contains "$(field pod-b 'd["last_check"]["result"]')" "error" "pod-b's last check"
assert_eq "$(field pod-b 'd["health"]')" down "pod-b's health"
s=$(for _ in 1 2 3 4 5 6; do hcurl "http://127.0.0.1:$P_WEB/" | awk '{print $2}'; done | sort -u | tr '\n' ' ')
assert_eq "$s" "pod-a " "traffic never reaches the stranger"
# the identity the backend must show is settable (fulcrumctl set --identity)
assert_eq "$(ctl_rc set flask pod-b --identity stranger --wait-healthy --wait-timeout 15)" 0 "pod-b with identity 'stranger'"
assert_eq "$(field pod-b 'd["identity"]')" stranger "pod-b's identity"
assert_eq "$(ctl_rc remove flask pod-b --force)" 0 "pod-b removed"
assert_eq "$(ctl_rc remove flask pod-a --force)" 0 "pod-a removed"

step "a lease (pool's lease_ttl_s = 4) renewed by PUTs that make no generation"
assert_eq "$(ctl_rc set flask pod-a --address "127.0.0.1:$P_A")" 0 "pod-a registered again"
assert_eq "$(field pod-a 'd["lease_ttl_s"]')" 4 "pod-a's lease"
left=$(field pod-a 'd["lease_expires_in_s"]')
assert_cmp "$left" ">" 0 "pod-a's lease_expires_in_s"
assert_cmp "$left" "<=" 4 "pod-a's lease_expires_in_s"
gen=$(current_generation)
for i in 1 2 3 4 5 6; do
	assert_eq "$(ctl_rc set flask pod-a)" 0 "renewal $i"
	sleep 1
done
assert_eq "$(field pod-a 'd["name"]')" pod-a "pod-a after 6 s of renewals"
assert_eq "$(current_generation)" "$gen" "generation after the renewals"

step "not renewed: removed once the lease runs out, and it stays removed after a restart"
for _ in $(seq 100); do
	[ "$(field pod-a 'd["name"]')" = gone ] && break
	sleep 0.1
done
assert_eq "$(field pod-a 'd["name"]')" gone "pod-a once its lease ran out"
assert_contains "$(cat "$T/fulcrum.log")" "lease: backend flask/pod-a" "log"
assert_contains "$(ctl status)" "lease expired: flask/pod-a" "status: the source of the running generation"
assert_eq "$(http_status "http://127.0.0.1:$P_WEB/")" 503 "traffic with no backend left"

step "a lease running out while fulcrum is down; another's time left survives a restart"
assert_eq "$(ctl_rc set flask pod-c --address "127.0.0.1:$P_A" --identity pod-a --ttl 3)" 0 "pod-c, lease 3 s"
assert_eq "$(ctl_rc set flask pod-d --address "127.0.0.1:$P_A" --identity pod-a --ttl 600)" 0 "pod-d, lease 600 s"
rc=0
stop_pid "$FULCRUM_PID" TERM 15 || rc=$?
assert_eq "$rc" 0 "fulcrum's exit status"
mv "$T/fulcrum.log" "$T/fulcrum-1.log"
sleep 4
start_fulcrum "$cfg" "$P_WEB" "$P_CTL"
assert_eq "$(field pod-c 'd["name"]')" gone "pod-c after a restart past its lease"
assert_eq "$(field pod-a 'd["name"]')" gone "pod-a after a restart"
left=$(field pod-d 'd["lease_expires_in_s"]')
assert_cmp "$left" "<" 597 "pod-d's lease after the restart (not a fresh one)"
assert_cmp "$left" ">" 500 "pod-d's lease after the restart"
assert_contains "$(cat "$T/fulcrum.log")" "lease: backend flask/pod-c" "log at start"
echo "ok"
