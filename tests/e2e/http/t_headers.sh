#!/usr/bin/env bash
# t_headers.sh: what the backend receives. fulcrum adds X-Forwarded-For (replacing a
# client's), X-Real-IP, X-Forwarded-Proto, -Host, -Port, RFC 7239 Forwarded and
# X-Request-ID (kept when the client sent a safe one; the client gets that one back, the
# app's own replaced), passes Host unchanged, and removes hop-by-hop headers
# (Keep-Alive, Proxy-Connection, and the fields named in Connection). IPv4 and IPv6.
# e2e: pairs
. "$(dirname "$0")/../lib/lib.sh"
need_fulcrum

ports P_WEB P_WEB6 P_APP
start_flask web-1 "$P_APP" 2

L6=""
v6_ports=()
if have_ipv6; then
	L6=", { name = \"web6\"; bind = \"[::1]:$P_WEB6\"; mode = \"http\"; pool = \"flask\"; }"
	v6_ports=("$P_WEB6")
fi
cfg=$T/fulcrum.cfg
{
	cfg_common
	cat <<EOF
listeners = (
  { name = "web"; bind = "127.0.0.1:$P_WEB"; mode = "http"; pool = "flask"; } $L6 );
pools = ( { name = "flask"; health = { type = "none"; };
            backends = ( { name = "web-1"; address = "127.0.0.1:$P_APP"; weight = 1; max_conns = 4; } ); } );
EOF
} >"$cfg"
start_fulcrum "$cfg" "$P_WEB" "${v6_ports[@]}"

# hdr JSON NAME: the value of header NAME (case-insensitive) in a /headers answer, or
# "None"; several fields of one name are joined with " | ".
hdr() {
	json_get "$1" '" | ".join(v for k, v in d["headers"] if k.lower() == sys.argv[3].lower()) or None' "$2"
}

step "headers added for a plain request"
out=$(hcurl -f -H 'Host: shop.example:8080' "http://127.0.0.1:$P_WEB/headers") || fail "GET /headers failed"
assert_eq "$(hdr "$out" Host)" "shop.example:8080" "Host at the backend"
assert_eq "$(hdr "$out" X-Forwarded-For)" "127.0.0.1" "X-Forwarded-For"
assert_eq "$(hdr "$out" X-Forwarded-Proto)" "http" "X-Forwarded-Proto"
assert_eq "$(hdr "$out" X-Forwarded-Host)" "shop.example:8080" "X-Forwarded-Host"
fwd=$(hdr "$out" Forwarded)
echo "   Forwarded: $fwd"
assert_match "$fwd" '(^|[;, ])for="?127\.0\.0\.1' "Forwarded for="
assert_match "$fwd" '(^|[;, ])proto=http($|[;, ])' "Forwarded proto="
assert_match "$fwd" 'host="?shop\.example:8080' "Forwarded host="
rid1=$(hdr "$out" X-Request-ID)
assert_match "$rid1" '^[!-~]{8,}$' "X-Request-ID added by fulcrum"
out=$(hcurl -f -D "$T/resp.h" "http://127.0.0.1:$P_WEB/headers") || fail "GET /headers failed"
rid2=$(hdr "$out" X-Request-ID)
[ "$rid1" != "$rid2" ] || fail "two requests got the same X-Request-ID $rid1"
# resp_rids FILE: the X-Request-ID values of a response head curl dumped, one a line.
resp_rids() { tr -d '\r' <"$1" | sed -n 's/^[Xx]-[Rr]equest-[Ii][Dd]: *//p'; }
assert_eq "$(resp_rids "$T/resp.h")" "$rid2" "X-Request-ID returned to the client (the backend's)"

step "one X-Request-ID back when the app answers with its own"
out=$(hcurl -f -D "$T/resp.h" "http://127.0.0.1:$P_WEB/headers?rid=app-own-id") || fail "GET /headers failed"
assert_eq "$(resp_rids "$T/resp.h")" "$(hdr "$out" X-Request-ID)" "X-Request-ID returned over the app's own"

step "client-sent X-Forwarded-For is replaced, X-Request-ID kept"
out=$(hcurl -f -H 'X-Forwarded-For: 203.0.113.9' -H 'X-Request-ID: abc-123-client' \
	"http://127.0.0.1:$P_WEB/headers") || fail "GET /headers failed"
assert_eq "$(hdr "$out" X-Forwarded-For | tr -d ' ')" "127.0.0.1" "X-Forwarded-For after a client's"
assert_eq "$(hdr "$out" X-Real-IP)" "127.0.0.1" "X-Real-IP"
assert_eq "$(hdr "$out" X-Forwarded-Port)" "$P_WEB" "X-Forwarded-Port"
assert_eq "$(hdr "$out" X-Request-ID)" "abc-123-client" "X-Request-ID sent by the client"
out=$(hcurl -f -D "$T/resp.h" -H 'X-Request-ID: abc-123-client' "http://127.0.0.1:$P_WEB/headers?rid=app-own-id") ||
	fail "GET /headers failed"
assert_eq "$(resp_rids "$T/resp.h")" "abc-123-client" "X-Request-ID returned to a client that sent it"

step "hop-by-hop headers are not forwarded"
out=$(hcurl -f -H 'Connection: keep-alive, X-Secret-Hop' -H 'X-Secret-Hop: 1' -H 'Keep-Alive: timeout=5' \
	-H 'Proxy-Connection: keep-alive' -H 'X-End-To-End: yes' "http://127.0.0.1:$P_WEB/headers") ||
	fail "GET /headers failed"
assert_eq "$(hdr "$out" X-Secret-Hop)" "None" "X-Secret-Hop (named in Connection) at the backend"
assert_eq "$(hdr "$out" Keep-Alive)" "None" "Keep-Alive at the backend"
assert_eq "$(hdr "$out" Proxy-Connection)" "None" "Proxy-Connection at the backend"
assert_eq "$(hdr "$out" X-End-To-End)" "yes" "an end-to-end header at the backend"

if [ -z "$L6" ]; then
	echo "   no IPv6 loopback here: the IPv6 step is left out"
	echo "ok"
	exit 0
fi
step "IPv6 client"
out=$(hcurl -f -g "http://[::1]:$P_WEB6/headers") || fail "GET /headers over IPv6 failed"
assert_eq "$(hdr "$out" X-Forwarded-For)" "::1" "X-Forwarded-For of an IPv6 client"
assert_contains "$(hdr "$out" Forwarded)" 'for="[::1]' "Forwarded for= of an IPv6 client (quoted, bracketed)"
echo "ok"
