#!/usr/bin/env bash
# t_ctl_state_dir.sh: fulcrum trusts only a state_dir and token files that the user it
# runs as (or root) owns and nobody else can write (issue 17, item 12): a state_dir
# owned by another user (with a planted journal) or writable by others, a group-writable
# token_dir and a token file owned by another user are refused at start with a clear
# error, and the planted journal is never replayed. The embedded config's state_dir is
# per user ($XDG_RUNTIME_DIR/fulcrum, created 0700), refused when someone else made it.
# e2e: pairs
. "$(dirname "$0")/../lib/lib.sh"
. "$E2E_DIR/ctl_lib.sh"
need_fulcrum
[ "$(id -u)" = 0 ] || skip "needs root to give files to another user"
OTHER=65534 # nobody

ports P_WEB P_A P_CTL
cfg=$T/fulcrum.cfg
write_cfg() { # write_cfg STATE_DIR [CONTROL EXTRA]
	cat >"$cfg" <<EOF
workers = 1;
state_dir = "$1";
log = { level = "info"; access = "off"; };
control = { listen = "127.0.0.1:$P_CTL"; token_file = "$T/token"; ${2:-} };
listeners = ( { name = "web"; bind = "127.0.0.1:$P_WEB"; mode = "http"; pool = "flask"; } );
pools = ( { name = "flask"; health = { type = "none"; };
            backends = ( { name = "web-1"; address = "127.0.0.1:$P_A"; } ); } );
EOF
}

# refused WHAT WANT: fulcrum -c $cfg exits non-zero within 10 s, its log says WANT, and
# nothing listens on the control port.
refused() {
	local rc=0
	timeout 10 "$FULCRUM" -c "$cfg" >"$T/refused.log" 2>&1 || rc=$?
	[ "$rc" -ne 0 ] || fail "$1: fulcrum exited 0"
	[ "$rc" -ne 124 ] || fail "$1: fulcrum started (still running after 10 s): $(head -c 600 "$T/refused.log")"
	assert_contains "$(cat "$T/refused.log")" "$2" "$1: the error"
	echo "   $1: $(grep -m1 -E 'error|refus' "$T/refused.log" | cut -c1-220)"
}

step "a state_dir owned by another user, with a journal in it, is refused"
# a journal another user planted: the API added a backend pointing elsewhere
mkdir -p "$T/good"
write_cfg "$T/good"
start_fulcrum "$cfg" "$P_CTL"
api PUT /v1/pools/flask/backends/evil -d '{"address":"127.0.0.9:9"}' >/dev/null
stop_pid "$FULCRUM_PID" TERM 10
cp -a "$T/good" "$T/planted"
chown -R "$OTHER" "$T/planted"
chmod 0700 "$T/planted"
write_cfg "$T/planted"
refused "state_dir owned by uid $OTHER" "owned by uid $OTHER"

step "a state_dir writable by others is refused"
mkdir "$T/open"
chmod 0777 "$T/open"
write_cfg "$T/open"
refused "state_dir mode 0777" "writable by others"
chmod 0775 "$T/open"
refused "state_dir mode 0775" "writable by its group"

step "token_dir writable by its group, a token file of another user: refused"
mkdir -p "$T/tokens" "$T/ok"
printf 'x-%s\n' "$RANDOM" >"$T/tokens/grafana"
chmod 600 "$T/tokens/grafana"
chmod 0770 "$T/tokens"
write_cfg "$T/ok" "token_dir = \"$T/tokens\";"
refused "token_dir mode 0770" "writable by its group"
chmod 0700 "$T/tokens"
chown "$OTHER" "$T/tokens/grafana"
refused "token file owned by uid $OTHER" "owned by uid $OTHER"
chown 0 "$T/tokens/grafana"
chmod 0662 "$T/tokens/grafana"
refused "token file mode 0662" "writable by others"

step "a private state_dir and token_dir are accepted (mode 0755 too: not writable by others)"
chmod 0600 "$T/tokens/grafana"
chmod 0755 "$T/ok"
write_cfg "$T/ok" "token_dir = \"$T/tokens\";"
start_fulcrum "$cfg" "$P_CTL"
assert_eq "$(http_status "http://127.0.0.1:$P_CTL/v1/status" -H "Authorization: Bearer $(cat "$T/tokens/grafana")")" 200 "the token_dir token"
stop_pid "$FULCRUM_PID" TERM 10

step "the embedded config's state_dir: \$XDG_RUNTIME_DIR/fulcrum, created 0700"
mkdir -m 0700 "$T/xdg"
out=$(XDG_RUNTIME_DIR=$T/xdg "$FULCRUM" -t 2>&1) || fail "fulcrum -t on the embedded config: $out"
[ -d "$T/xdg/fulcrum" ] || fail "no $T/xdg/fulcrum after fulcrum -t: $out"
assert_eq "$(stat -c %a "$T/xdg/fulcrum")" 700 "mode of the embedded state_dir"
mkdir -m 0700 "$T/xdg2"
mkdir -m 0777 "$T/xdg2/fulcrum"
chown "$OTHER" "$T/xdg2/fulcrum"
rc=0
out=$(XDG_RUNTIME_DIR=$T/xdg2 timeout 10 "$FULCRUM" -t 2>&1) || rc=$?
[ "$rc" -ne 0 ] || fail "fulcrum on the embedded config took a state_dir of uid $OTHER (rc $rc): $out"
assert_contains "$out" "owned by uid $OTHER" "the embedded state_dir's error"
mkdir -m 0700 "$T/xdg3" "$T/rootdir"
ln -s "$T/rootdir" "$T/xdg3/fulcrum"
rc=0
out=$(XDG_RUNTIME_DIR=$T/xdg3 timeout 10 "$FULCRUM" -t 2>&1) || rc=$?
[ "$rc" -ne 0 ] || fail "fulcrum on the embedded config followed a planted link: $out"
assert_contains "$out" "symbolic link" "the embedded state_dir's error for a link"
echo ok
