#!/usr/bin/env bash
# t_config_check.sh: `fulcrum -t -c FILE` accepts a good file (exit 0) and rejects each
# kind of bad file with exit 1 and an error naming file:line of the offending setting.
# e2e: pairs
. "$(dirname "$0")/../lib/lib.sh"
need_fulcrum

step "--version"
rc=0
ver=$("$FULCRUM" --version 2>&1) || rc=$?
assert_eq "$rc" 0 "fulcrum --version exit status"
assert_match "$ver" '[0-9]+\.[0-9]+' "fulcrum --version output"

# The good file; every bad one below changes one or two lines of it (line numbers matter).
good=$T/good.cfg
cat >"$good" <<EOF
workers = 1;
state_dir = "$T/state";
log = { level = "info"; access = "off"; format = "json"; };
listeners = (
  { name = "web"; bind = "127.0.0.1:28080"; mode = "http"; pool = "flask"; },
  { name = "l4"; bind = "[::1]:28081"; mode = "tcp"; pool = "flask"; }
);
pools = (
  { name = "flask"; balance = "wlc"; health = { type = "none"; };
    backends = (
      { name = "web-1"; address = "127.0.0.1:28001"; weight = 4; max_conns = 4; },
      { name = "web-2"; address = "127.0.0.1:28002"; weight = 2; max_conns = 2; }
    ); }
);
EOF

# check_good FILE: -t must exit 0 and print no error.
check_good() {
	local f=$1 rc=0
	"$FULCRUM" -t -c "$f" >"$T/out" 2>&1 || rc=$?
	[ "$rc" = 0 ] || fail "fulcrum -t -c $(basename "$f"): exit $rc, expected 0: $(cat "$T/out")"
	if grep -q "$f:[0-9]" "$T/out"; then
		fail "good file reported errors: $(cat "$T/out")"
	fi
}

# check_bad NAME LINE KEY SED-EXPR [LINE2 SED-EXPR2]: derives NAME.cfg from the good
# file, expects exit 1 and a line "NAME.cfg:LINE: ...KEY...: message" on stderr (KEY is
# the last part of the key path, "-" for a syntax error; and ":LINE2:" when given).
check_bad() {
	local name=$1 line=$2 key=$3 expr=$4 f=$T/$1.cfg rc=0 err
	sed "$expr" "$good" >"$f"
	if [ $# -ge 6 ]; then
		sed -i "$6" "$f"
	fi
	if cmp -s "$f" "$good"; then
		fail "$name: the sed expression changed nothing"
	fi
	"$FULCRUM" -t -c "$f" >"$T/out" 2>"$T/err" || rc=$?
	err=$(cat "$T/err")
	[ "$rc" = 1 ] || fail "$name: exit $rc, expected 1 (stderr: $err)"
	assert_contains "$err" "$f:$line:" "$name: stderr"
	if [ "$key" != - ]; then
		grep -F "$f:$line:" "$T/err" | grep -q -- "[ .]$key: " ||
			fail "$name: the error for line $line does not name the key '$key': $err"
	fi
	if [ $# -ge 6 ]; then
		assert_contains "$err" "$f:$5:" "$name: stderr"
	fi
	echo "   $name: $(head -n 2 "$T/err" | tr '\n' ' ')"
}

step "good file"
check_good "$good"
step "bad files"
check_bad syntax 11 - '11s/weight = 4;/weight = ;/'
check_bad syntax-brace 13 - '13s/); }/) }}/'
check_bad unknown-key 9 colour '9s/balance = "wlc";/balance = "wlc"; colour = "red";/'
check_bad unknown-key-top 1 wrokers '1s/workers = 1;/workers = 1; wrokers = 2;/'
check_bad bad-address-noport 12 address '12s/"127.0.0.1:28002"/"127.0.0.1"/'
check_bad bad-address-port 12 address '12s/"127.0.0.1:28002"/"127.0.0.1:99999"/'
check_bad bad-address-v6 6 bind '6s/"\[::1\]:28081"/"[::1:28081"/'
check_bad bad-listener-bind 5 bind '5s/"127.0.0.1:28080"/"127.0.0.1:http"/'
check_bad duplicate-backend 12 name '12s/name = "web-2"/name = "web-1"/'
check_bad missing-pool 5 pool '5s/pool = "flask"/pool = "nope"/'
check_bad weight-range 11 weight '11s/weight = 4;/weight = 5000;/'
check_bad max-conns-negative 12 max_conns '12s/max_conns = 2;/max_conns = -1;/'
check_bad bad-enum 9 balance '9s/balance = "wlc"/balance = "fastest"/'
check_bad bad-type 11 weight '11s/weight = 4;/weight = "4";/'
check_bad two-errors 11 weight '11s/weight = 4;/weight = 5000;/' 12 '12s/"127.0.0.1:28002"/"127.0.0.1"/'

step "missing file"
rc=0
"$FULCRUM" -t -c "$T/does-not-exist.cfg" >"$T/out" 2>&1 || rc=$?
assert_eq "$rc" 1 "-t on a missing file: exit status"
assert_contains "$(cat "$T/out")" "does-not-exist.cfg" "-t on a missing file: message"

step "starting on a bad file fails at once with the same errors"
rc=0
timeout 10 "$FULCRUM" -c "$T/missing-pool.cfg" >"$T/out" 2>&1 || rc=$?
if [ "$rc" = 0 ] || [ "$rc" = 124 ]; then
	fail "fulcrum -c on a bad file: exit $rc, expected a failure status"
fi
assert_contains "$(cat "$T/out")" "$T/missing-pool.cfg:5:" "fulcrum -c on a bad file: output"

step "the good file still passes"
check_good "$good"
echo "ok"
