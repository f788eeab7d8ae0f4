#!/usr/bin/env bash
# t_forwarding_safety.sh: what a client cannot make fulcrum forward or log (issue 25,
# items 1, 3 and 6), in front of a keep-alive backend (gunicorn gthread), where a
# smuggled request would stay in the pooled connection and answer the next client.
#  1. A Connection header naming Content-Length, Transfer-Encoding or Host is refused
#     with 400 and nothing reaches the backend; the next clients get their own answers.
#  3. An X-Request-ID that would forge access-log fields is replaced; the JSON line keeps
#     the real status and path.
#  6. X-Forwarded-For/-Proto/-Host/-Port/-Prefix, X-Real-IP and Forwarded from the client
#     do not fool Werkzeug's ProxyFix or Flask's access_route; a listener with
#     trust_forwarded = true extends the client's chain instead.
# e2e: pairs
. "$(dirname "$0")/../lib/lib.sh"
need_fulcrum

ports P_WEB P_TRUST P_APP
start_flask web-1 "$P_APP" 1 -k gthread --threads 4 --keep-alive 30
cfg=$T/fulcrum.cfg
{
	cfg_common
	cat <<EOF
listeners = (
  { name = "web"; bind = "127.0.0.1:$P_WEB"; mode = "http"; pool = "flask"; },
  { name = "behind-cdn"; bind = "127.0.0.1:$P_TRUST"; mode = "http"; pool = "flask"; trust_forwarded = true; } );
pools = ( { name = "flask"; health = { type = "none"; };
            backends = ( { name = "web-1"; address = "127.0.0.1:$P_APP"; max_conns = 4; } ); } );
EOF
} >"$cfg"
start_fulcrum "$cfg" "$P_WEB" "$P_TRUST"

# the second request hidden in the body (rawhttp.py --data takes \r\n escapes)
esc_smuggled='GET /headers HTTP/1.1\r\nHost: t\r\nX-Client-Cert-Subject: CN=admin\r\nX-Forwarded-For: 6.6.6.6\r\nX-Forwarded-Proto: https\r\n\r\n'
len=$(printf '%b' "$esc_smuggled" | wc -c)

step "1. Connection: Content-Length is refused, the body never becomes a request"
out=$(rawhttp send --port "$P_WEB" --summary --timeout 3 \
	--data "POST /echo HTTP/1.1\r\nHost: t\r\nConnection: Content-Length\r\nContent-Length: $len\r\n\r\n$esc_smuggled")
echo "   $out"
assert_contains "$out" "statuses=400" "status of the smuggling request"

step "1. Connection: Transfer-Encoding and Connection: Host are refused"
chunk=$(printf '%x' "$len")
out=$(rawhttp send --port "$P_WEB" --summary --timeout 3 \
	--data "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\nConnection: transfer-encoding\r\n\r\n$chunk\r\n$esc_smuggled\r\n0\r\n\r\n")
echo "   $out"
assert_contains "$out" "statuses=400" "status with Connection: transfer-encoding"
out=$(rawhttp send --port "$P_WEB" --summary --timeout 3 \
	--data "GET /headers HTTP/1.1\r\nHost: t\r\nConnection: keep-alive, Host\r\n\r\n")
echo "   $out"
assert_contains "$out" "statuses=400" "status with Connection: host"

step "1. the next clients get their own answers, with no forged header"
for i in 1 2 3 4 5 6; do
	body=$(hcurl -f "http://127.0.0.1:$P_WEB/headers") || fail "GET /headers $i failed"
	assert_not_contains "$body" "CN=admin" "answer $i"
	assert_not_contains "$body" "6.6.6.6" "answer $i"
done
# gunicorn's access log: not one request came from the refused bytes
if grep -q '"POST /echo' "$T/web-1.log"; then
	fail "a refused request reached the backend: $(grep '"POST /echo' "$T/web-1.log" | head -3)"
fi

step "3. an X-Request-ID that forges log fields is replaced"
rid='x","status":200,"path":"/forged'
code=$(hcurl -o /dev/null -w '%{http_code}' -H "X-Request-ID: $rid" "http://127.0.0.1:$P_WEB/status/404")
assert_eq "$code" "404" "status of the request"
alog_wait 1 path=/status/404
line=$(grep '/status/404' "$T/access.log" | tail -1)
echo "   $line"
got=$("$PY" -c 'import json,sys
pairs = json.loads(sys.argv[1], object_pairs_hook=lambda p: p)
keys = [k for k, _ in pairs]
d = dict(pairs)
print(len(keys) == len(set(keys)), d["status"], d["path"], d["request_id"])' "$line") || fail "access line is not JSON: $line"
read -r uniq st path logged_rid <<<"$got"
assert_eq "$uniq" "True" "every key once in the access line"
assert_eq "$st" "404" "status in the access line"
assert_eq "$path" "/status/404" "path in the access line"
assert_match "$logged_rid" '^[0-9a-f]{32}$' "request id made by fulcrum instead of the unsafe one"
body=$(hcurl -f -H 'X-Request-ID: trace-1234:abc/DEF=' "http://127.0.0.1:$P_WEB/headers")
assert_contains "$body" '"trace-1234:abc/DEF="' "a safe client request id still reaches the backend"
long=$(printf 'a%.0s' $(seq 1 65))
body=$(hcurl -f -H "X-Request-ID: $long" "http://127.0.0.1:$P_WEB/headers")
assert_not_contains "$body" "$long" "a 65-byte request id"

step "6. ProxyFix and access_route see fulcrum's word, not the client's"
out=$(hcurl -f -H 'Host: shop.example' -H 'X-Forwarded-For: 6.6.6.6' -H 'X-Forwarded-Proto: https' \
	-H 'X-Forwarded-Host: evil.example' -H 'X-Forwarded-Port: 443' -H 'X-Forwarded-Prefix: /admin' \
	-H 'X-Real-IP: 6.6.6.6' -H 'Forwarded: for=6.6.6.6;proto=https' "http://127.0.0.1:$P_WEB/proxyfix") ||
	fail "GET /proxyfix failed"
echo "   $out"
assert_eq "$(json_get "$out" 'd["remote_addr"]')" "127.0.0.1" "ProxyFix remote_addr"
assert_eq "$(json_get "$out" 'd["scheme"]')" "http" "ProxyFix scheme"
assert_eq "$(json_get "$out" 'd["host"]')" "shop.example:$P_WEB" "ProxyFix host (X-Forwarded-Port adds the port)"
assert_eq "$(json_get "$out" 'd["port"]')" "$P_WEB" "ProxyFix port"
assert_eq "$(json_get "$out" 'd["prefix"]')" "" "ProxyFix prefix"
assert_eq "$(json_get "$out" '",".join(d["access_route"])')" "127.0.0.1" "Flask access_route"
out=$(hcurl -f -H 'X-Real-IP: 6.6.6.6' -H 'Forwarded: for=6.6.6.6' "http://127.0.0.1:$P_WEB/headers")
assert_not_contains "$out" "6.6.6.6" "X-Real-IP / Forwarded from the client at the backend"

step "6. trust_forwarded = true appends to a trusted proxy's chain"
out=$(hcurl -f -H 'X-Forwarded-For: 203.0.113.9' -H 'Forwarded: for=203.0.113.9' \
	"http://127.0.0.1:$P_TRUST/proxyfix") || fail "GET /proxyfix (trusted) failed"
assert_eq "$(json_get "$out" '",".join(d["access_route"])')" "203.0.113.9,127.0.0.1" "access_route behind a trusted proxy"
echo "ok"
