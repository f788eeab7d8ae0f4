#!/usr/bin/env bash
# t_tcp_mode.sh: L4 (mode = "tcp") listeners: bytes relayed intact both ways, client
# half-close propagated, PROXY v1/v2 sent to backends with the real client address (IPv4
# and IPv6), and accept_proxy on an http listener: honoured from trusted sources
# (X-Forwarded-For shows the address from the header), refused from untrusted ones.
# e2e: pairs
. "$(dirname "$0")/../lib/lib.sh"
need_fulcrum

ports P_L4 P_L4V1 P_L4V2 P_L6V2 P_PX P_PXU P_ECHO P_PECHO P_APP
bg echo TERM "$PY" "$E2E_DIR/tcpecho.py" server --port "$P_ECHO"
wait_listen "$P_ECHO" "$LAST_PID"
bg proxy-echo TERM "$PY" "$E2E_DIR/tcpecho.py" server --port "$P_PECHO" --proxy
wait_listen "$P_PECHO" "$LAST_PID"
start_flask web-1 "$P_APP" 2

L6=""
v6_ports=()
if have_ipv6; then
	L6="{ name = \"l6v2\"; bind = \"[::1]:$P_L6V2\"; mode = \"tcp\"; pool = \"pv2\"; },"
	v6_ports=("$P_L6V2")
else
	echo "   no IPv6 loopback here: the IPv6 step is left out"
fi
cfg=$T/fulcrum.cfg
{
	cfg_common
	cat <<EOF
listeners = (
  { name = "l4"; bind = "127.0.0.1:$P_L4"; mode = "tcp"; pool = "echo"; idle_timeout_ms = 10000; },
  { name = "l4v1"; bind = "127.0.0.1:$P_L4V1"; mode = "tcp"; pool = "pv1"; },
  { name = "l4v2"; bind = "127.0.0.1:$P_L4V2"; mode = "tcp"; pool = "pv2"; },
  $L6
  { name = "px"; bind = "127.0.0.1:$P_PX"; mode = "http"; pool = "flask";
    accept_proxy = true; proxy_trusted = ( "127.0.0.0/8" ); },
  { name = "pxu"; bind = "127.0.0.1:$P_PXU"; mode = "http"; pool = "flask";
    accept_proxy = true; proxy_trusted = ( "10.0.0.0/8" ); } );
pools = (
  { name = "echo"; health = { type = "none"; }; connect_timeout_ms = 1000;
    backends = ( { name = "echo-1"; address = "127.0.0.1:$P_ECHO"; weight = 1; max_conns = 0; } ); },
  { name = "pv1"; health = { type = "none"; }; send_proxy = "v1";
    backends = ( { name = "pecho-1"; address = "127.0.0.1:$P_PECHO"; weight = 1; max_conns = 0; } ); },
  { name = "pv2"; health = { type = "none"; }; send_proxy = "v2";
    backends = ( { name = "pecho-2"; address = "127.0.0.1:$P_PECHO"; weight = 1; max_conns = 0; } ); },
  { name = "flask"; health = { type = "none"; };
    backends = ( { name = "web-1"; address = "127.0.0.1:$P_APP"; weight = 1; max_conns = 4; } ); } );
EOF
} >"$cfg"
start_fulcrum "$cfg" "$P_L4" "$P_L4V1" "$P_L4V2" "${v6_ports[@]}" "$P_PX" "$P_PXU"

# echo_check LABEL ARGS...: runs the echo client and expects identical bytes back.
echo_check() {
	local label=$1 out
	shift
	out=$("$PY" "$E2E_DIR/tcpecho.py" client "$@")
	echo "   $label: $out" | cut -c1-160
	assert_match "$out" "^sent=([0-9]+) recv=\\1 .* match=1$" "$label"
}

step "relay: random bytes both ways, sha256 compared"
echo_check "direct to the echo server (proves the client)" --port "$P_ECHO" --bytes 1048576
echo_check "1 MiB through fulcrum" --port "$P_L4" --bytes 1048576
echo_check "1 B through fulcrum" --port "$P_L4" --bytes 1
step "half-close: client shuts down its write side, still gets the whole echo"
echo_check "1 MiB then SHUT_WR" --port "$P_L4" --bytes 1048576 --shut-wr
echo_check "16 MiB then SHUT_WR" --port "$P_L4" --bytes 16777216 --shut-wr --timeout 30
echo_check "0 B then SHUT_WR" --port "$P_L4" --bytes 0 --shut-wr

step "send_proxy: the backend sees the real client address"
specs=("v1 127.0.0.1 $P_L4V1" "v2 127.0.0.1 $P_L4V2")
[ -n "$L6" ] && specs+=("v2(IPv6) ::1 $P_L6V2")
for spec in "${specs[@]}"; do
	read -r label host port <<<"$spec"
	out=$("$PY" "$E2E_DIR/tcpecho.py" proxyclient --host "$host" --port "$port")
	echo "   $label: $out"
	assert_match "$out" '^local=([^ ]+) seen=([^ ]+) echo=1$' "PROXY $label client"
	local_addr=$(echo "$out" | sed 's/^local=\([^ ]*\) .*/\1/')
	seen=$(echo "$out" | sed 's/.* seen=\([^ ]*\) .*/\1/')
	assert_eq "$seen" "$local_addr" "PROXY $label: address the backend saw"
done

xff_of() { json_get "$1" 'dict((k.lower(), v) for k, v in d["headers"]).get("x-forwarded-for")'; }
fwd_of() { json_get "$1" 'dict((k.lower(), v) for k, v in d["headers"]).get("forwarded")'; }

step "accept_proxy from a trusted source"
out=$(hcurl -f --haproxy-protocol "http://127.0.0.1:$P_PX/headers") || fail "curl --haproxy-protocol to a trusted listener failed"
assert_eq "$(xff_of "$out")" "127.0.0.1" "X-Forwarded-For with curl's PROXY v1 header"
for v in v1 v2; do
	src=192.0.2.10:40000
	[ $v = v2 ] && src=198.51.100.7:40001
	res=$(rawhttp send --port "$P_PX" --timeout 5 "--proxy-$v" "$src" \
		--data 'GET /headers?case=trusted HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n')
	assert_eq "$(json_get "$res" 'd["statuses"]')" "[200]" "PROXY $v request to a trusted listener: $res"
	body=$(json_get "$res" 'd["bodies"][0]')
	assert_eq "$(xff_of "$body")" "${src%:*}" "X-Forwarded-For after a PROXY $v header"
	assert_contains "$(fwd_of "$body")" "for=" "Forwarded header after a PROXY $v header"
	assert_contains "$(fwd_of "$body")" "${src%:*}" "Forwarded header after a PROXY $v header"
	echo "   $v: X-Forwarded-For $(xff_of "$body"), Forwarded $(fwd_of "$body")"
done

step "accept_proxy from an untrusted source is refused"
code=$(http_status "http://127.0.0.1:$P_PXU/headers?case=untrusted-curl" --haproxy-protocol)
[ "$code" != 200 ] || fail "a PROXY header from an untrusted source was accepted (curl got 200)"
res=$(rawhttp send --port "$P_PXU" --timeout 3 --summary --proxy-v1 192.0.2.66:40000 \
	--data 'GET /headers?case=untrusted-raw HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n')
echo "   curl: $code; raw: $res"
assert_not_contains "$res" "statuses=200" "answer to a PROXY header from an untrusted source"
sleep 0.3
if grep -q 'case=untrusted' "$T/web-1.log"; then
	fail "a request behind an untrusted PROXY header reached the backend"
fi

step "access log: one line per L4 connection with its byte counts"
alog_wait 1
big=$("$PY" - "$T/access.log" <<'EOF'
import json, sys
n = 0
for l in open(sys.argv[1]):
    try:
        e = json.loads(l)
    except ValueError:
        continue
    if int(e.get("bytes_in") or 0) >= 16777216 and int(e.get("bytes_out") or 0) >= 16777216:
        n += 1
print(n)
EOF
)
assert_eq "$big" 1 "access-log entries with >= 16 MiB in and out"
echo "ok"
