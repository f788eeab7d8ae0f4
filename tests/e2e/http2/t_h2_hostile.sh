#!/usr/bin/env bash
# t_h2_hostile.sh: hostile HTTP/2 clients (issue 21), with python3-h2
# (tests/e2e/lib/h2hostile.py). Malformed requests (uppercase names, a :path not in
# origin form, unknown pseudo-headers, connection-specific fields, te other than
# trailers, transfer-encoding, CR/LF in a value, :authority and host that disagree, a
# content-length that DATA does not match either way) are reset before any backend
# sees them; a header list over h2_max_header_list_bytes gets 431; rapid reset beyond
# h2_max_resets and a CONTINUATION flood close the connection with GOAWAY and count in
# /metrics; a stream whose window the client never opens holds neither its
# connection's other streams nor the backend; fulcrum serves on throughout.
# e2e: pairs
. "$(dirname "$0")/../lib/lib.sh"
. "$(dirname "$0")/../lib/tls_lib.sh"
need_fulcrum

ports P_WEB P_APP P_CTL
start_flask web-1 "$P_APP" 4
tls_ca ca
tls_cert srv ca rsa "/CN=a.test" "DNS:a.test"
cfg=$T/fulcrum.cfg
{
	cfg_common
	cat <<EOF2
control = { listen = "127.0.0.1:$P_CTL"; };
listeners = ( { name = "web"; bind = "127.0.0.1:$P_WEB"; mode = "http"; pool = "flask"; http2 = true;
                h2_max_resets = 50; h2_max_header_list_bytes = 16384;
                tls = { certificates = ( { cert = "srv.crt"; key = "srv.key"; } ); }; } );
pools = ( { name = "flask"; health = { type = "none"; };
            backends = ( { name = "web-1"; address = "127.0.0.1:$P_APP"; max_conns = 4; } ); } );
EOF2
} >"$cfg"
start_fulcrum "$cfg" "$P_WEB" "$P_CTL"
hostile() { "$PY" "$E2E_DIR/h2hostile.py" "$P_WEB" "$T/ca.crt" "$@"; }
alive() {
	assert_eq "$(curl -sS --noproxy '*' --max-time 10 --cacert "$T/ca.crt" --resolve "a.test:$P_WEB:127.0.0.1" --http2 \
		-o /dev/null -w '%{http_code} %{http_version}' "https://a.test:$P_WEB/")" "200 2" "fulcrum serves on ($1)"
}

step "malformed requests are reset before a backend sees them"
for case in uppercase no-slash-path unknown-pseudo connection-header te-gzip transfer-encoding cr-in-value \
	authority-host cl-short cl-long; do
	out=$(hostile "$case")
	assert_match "$out" '^(reset=1|status=400)$' "$case: refused ($out)"
done
grep -E '/p/(uppercase|no-slash-path|unknown-pseudo|connection-header|te-gzip|transfer-encoding|cr-in-value|authority-host|cl-short|cl-long)' \
	"$T/web-1.log" && fail "a malformed request reached gunicorn"
alive "after the malformed requests"

step "a header list over h2_max_header_list_bytes gets 431"
assert_eq "$(hostile big-headers)" "status=431" "431"

step "a stream the client gives no window holds neither its siblings nor the backend"
assert_eq "$(hostile stalled-window)" "status=200" "the sibling stream completes"
grep -q 'GET /blob?bytes=3000000 ' "$T/web-1.log" || fail "gunicorn did not answer the stalled stream's request"

step "rapid reset beyond h2_max_resets: GOAWAY ENHANCE_YOUR_CALM"
assert_eq "$(hostile rapid-reset 200)" "goaway=11" "GOAWAY 11"
alive "after rapid reset"

step "CONTINUATION flood: the connection is closed"
out=$(hostile continuation 500)
assert_match "$out" '^(goaway=[0-9]+|closed)$' "closed ($out)"
alive "after the CONTINUATION flood"

step "metrics count the abusive connections"
m=$(hcurl "http://127.0.0.1:$P_CTL/metrics")
assert_match "$(echo "$m" | grep '^fulcrum_listener_h2_goaway_abuse_total{listener="web"}')" ' [1-9][0-9]*$' "counted"
