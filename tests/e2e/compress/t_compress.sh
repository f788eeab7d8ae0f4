#!/usr/bin/env bash
# t_compress.sh: compression on the way out (issue 19). A pool with compress sends large
# HTML and JSON bodies gzip, br or zstd encoded as the client's Accept-Encoding asks
# (q-values, the pool's order on ties), and each decompresses to exactly the app's body,
# for a Content-Length body and a chunked stream, to HTTP/1.1 (chunked) and HTTP/1.0
# (until close) clients; `curl --compressed` works. Vary: Accept-Encoding is added (merged
# with the app's), a strong ETag becomes weak. Left alone: a body the app compressed, one
# below min_bytes, a type not listed, Cache-Control: no-transform, HEAD, and a client
# without Accept-Encoding. A pool with a cache and compress keeps the compressed variant:
# the second request is a hit with the same compressed bytes (no backend fetch), and a
# client asking for no coding gets the identity variant. Two compressed answers share
# one kept-alive connection. The access log's compress field and the metrics count.
# e2e: pairs
. "$(dirname "$0")/../lib/lib.sh"
. "$E2E_DIR/ctl_lib.sh"
need_fulcrum
command -v zstd >/dev/null || fail "the zstd command is missing (Debian package zstd; make deps)"
command -v brotli >/dev/null || fail "the brotli command is missing (Debian package brotli; make deps)"

ports P_LB P_CACHE P_APP P_CTL
bg app INT "$GUNICORN" -w 1 -k gthread --threads 8 -b "127.0.0.1:$P_APP" --chdir "$(dirname "$0")" \
	--graceful-timeout 2 --timeout 60 --access-logfile - --error-logfile - compress_app:app
wait_listen "$P_APP" "$LAST_PID" 20
wait_http "http://127.0.0.1:$P_APP/healthz" 20
cfg=$T/fulcrum.cfg
{
	cfg_common
	cfg_control "$P_CTL"
	cat <<EOF2
listeners = ( { name = "web"; bind = "127.0.0.1:$P_LB"; pool = "app"; },
              { name = "cached"; bind = "127.0.0.1:$P_CACHE"; pool = "appc"; } );
pools = ( { name = "app"; health = { type = "none"; };
            compress = { types = ( "text/*", "application/json", "application/javascript" );
                         min_bytes = 1024; encodings = ( "br", "zstd", "gzip" ); };
            backends = ( { name = "a"; address = "127.0.0.1:$P_APP"; } ); },
          { name = "appc"; health = { type = "none"; };
            cache = { memory_bytes = 8388608; x_cache_header = "X-Cache"; };
            compress = { encodings = ( "gzip", "br", "zstd" ); };
            backends = ( { name = "a"; address = "127.0.0.1:$P_APP"; } ); } );
EOF2
} >"$cfg"
start_fulcrum "$cfg" "$P_LB" "$P_CACHE"
u=http://127.0.0.1:$P_LB
app=http://127.0.0.1:$P_APP
hcurl -o "$T/page.html" "$app/raw/page.html"
hcurl -o "$T/data.json" "$app/raw/data.json"
assert_cmp "$(wc -c <"$T/page.html")" ">" 100000 "the app's page is large"

# decode ENCODING IN OUT
decode() {
	case $1 in
	gzip) gzip -dc <"$2" >"$3" ;;
	br) brotli -dc <"$2" >"$3" ;;
	zstd) zstd -qdc <"$2" >"$3" ;;
	esac
}
# hdr FILE NAME: the value of a response header (last one), CR removed
hdr() { tr -d '\r' <"$1" | sed -n "s/^$2: //Ip" | tail -n 1; }

step "each coding decompresses to the app's body (Content-Length and chunked, HTTP/1.1 and 1.0)"
for enc in gzip br zstd; do
	for name in page.html data.json; do
		hcurl -H "Accept-Encoding: $enc" -D "$T/h" -o "$T/c" "$u/body/$name"
		assert_eq "$(hdr "$T/h" content-encoding)" "$enc" "$name: Content-Encoding $enc"
		assert_eq "$(hdr "$T/h" transfer-encoding)" "chunked" "$name: chunked to an HTTP/1.1 client"
		assert_eq "$(hdr "$T/h" content-length)" "" "$name: no Content-Length"
		assert_eq "$(hdr "$T/h" vary)" "Accept-Encoding" "$name: Vary"
		assert_eq "$(hdr "$T/h" etag)" 'W/"v1"' "$name: the ETag is weak"
		assert_eq "$(hdr "$T/h" accept-ranges)" "" "$name: no ranges of compressed bytes offered"
		decode "$enc" "$T/c" "$T/d" || fail "$enc: $name does not decompress"
		cmp -s "$T/d" "$T/$name" || fail "$enc: $name decompresses to other bytes"
		echo "$enc $name $(wc -c <"$T/$name") -> $(wc -c <"$T/c")"
	done
	hcurl -H "Accept-Encoding: $enc" -D "$T/h" -o "$T/c" "$u/stream"
	assert_eq "$(hdr "$T/h" content-encoding)" "$enc" "stream: Content-Encoding $enc"
	decode "$enc" "$T/c" "$T/d" || fail "$enc: the stream does not decompress"
	cmp -s "$T/d" "$T/page.html" || fail "$enc: the stream decompresses to other bytes"
	hcurl --http1.0 -H "Accept-Encoding: $enc" -D "$T/h" -o "$T/c" "$u/body/page.html"
	assert_eq "$(hdr "$T/h" content-encoding)" "$enc" "HTTP/1.0: Content-Encoding $enc"
	assert_eq "$(hdr "$T/h" transfer-encoding)" "" "HTTP/1.0: no chunks"
	decode "$enc" "$T/c" "$T/d" || fail "$enc: HTTP/1.0 body does not decompress"
	cmp -s "$T/d" "$T/page.html" || fail "$enc: HTTP/1.0 body decompresses to other bytes"
done

step "curl --compressed; q-values and the pool's order"
hcurl --compressed -D "$T/h" -o "$T/d" "$u/body/page.html"
cmp -s "$T/d" "$T/page.html" || fail "curl --compressed: other bytes"
assert_match "$(hdr "$T/h" content-encoding)" '^(br|zstd|gzip)$' "curl --compressed got a coding"
hcurl -H "Accept-Encoding: gzip, br, zstd" -D "$T/h" -o /dev/null "$u/body/page.html"
assert_eq "$(hdr "$T/h" content-encoding)" "br" "ties: the pool's first (br)"
hcurl -H "Accept-Encoding: br;q=0.5, gzip;q=0.9" -D "$T/h" -o /dev/null "$u/body/page.html"
assert_eq "$(hdr "$T/h" content-encoding)" "gzip" "the client's q decides"
hcurl -H "Accept-Encoding: *;q=0.5, br;q=0" -D "$T/h" -o /dev/null "$u/body/page.html"
assert_eq "$(hdr "$T/h" content-encoding)" "zstd" "q=0 excludes br"

step "a slow client of a 2 MiB body: the backend waits, nothing is lost"
hcurl -o "$T/big.txt" "$app/raw/big.txt"
hcurl --limit-rate 1M -H "Accept-Encoding: gzip" -D "$T/h" -o "$T/c" "$u/body/big.txt"
assert_eq "$(hdr "$T/h" content-encoding)" "gzip" "big: gzip"
gzip -dc <"$T/c" | cmp -s - "$T/big.txt" || fail "big: decompresses to other bytes"

step "two compressed answers on one kept-alive connection"
hcurl -v -H "Accept-Encoding: zstd" -o "$T/k1" "$u/body/data.json" -o "$T/k2" "$u/stream" 2>"$T/kv"
assert_contains "$(cat "$T/kv")" "Re-using existing connection" "the connection was kept"
zstd -qdc <"$T/k1" | cmp -s - "$T/data.json" || fail "keep-alive: first answer differs"
zstd -qdc <"$T/k2" | cmp -s - "$T/page.html" || fail "keep-alive: second answer differs"

step "left alone: compressed by the app, small, other types, no-transform, HEAD, no Accept-Encoding"
hcurl -H "Accept-Encoding: br, gzip" -D "$T/h" -o "$T/c" "$u/pregz"
assert_eq "$(hdr "$T/h" content-encoding)" "gzip" "the app's own gzip"
gzip -dc <"$T/c" >"$T/d" && cmp -s "$T/d" "$T/page.html" || fail "the app's gzip was compressed again"
hcurl -H "Accept-Encoding: br" -D "$T/h" -o "$T/c" "$u/small"
assert_eq "$(hdr "$T/h" content-encoding)" "" "below min_bytes"
assert_eq "$(wc -c <"$T/c")" 100 "small body as sent"
assert_eq "$(hdr "$T/h" vary)" "" "below min_bytes: no Vary"
hcurl -H "Accept-Encoding: br" -D "$T/h" -o /dev/null "$u/png"
assert_eq "$(hdr "$T/h" content-encoding)" "" "image/png is not listed"
hcurl -H "Accept-Encoding: br" -D "$T/h" -o "$T/c" "$u/raw/page.html"
assert_eq "$(hdr "$T/h" content-encoding)" "" "no-transform"
hcurl -I -H "Accept-Encoding: br" -D "$T/h" -o /dev/null "$u/body/page.html"
assert_eq "$(hdr "$T/h" content-encoding)" "" "HEAD"
hcurl -D "$T/h" -o "$T/c" "$u/body/page.html"
assert_eq "$(hdr "$T/h" content-encoding)" "" "no Accept-Encoding"
assert_eq "$(hdr "$T/h" vary)" "Accept-Encoding" "no Accept-Encoding: Vary all the same"
cmp -s "$T/c" "$T/page.html" || fail "identity body differs"

step "the cache keeps the compressed variant; another Accept-Encoding gets another"
uc=http://127.0.0.1:$P_CACHE
hcurl -H "Accept-Encoding: br" -D "$T/h1" -o "$T/c1" "$uc/cached"
assert_eq "$(hdr "$T/h1" x-cache)" "miss" "first: miss"
assert_eq "$(hdr "$T/h1" vary)" "Cookie, Accept-Encoding" "Vary merged with the app's"
hcurl -H "Accept-Encoding: br" -D "$T/h2" -o "$T/c2" "$uc/cached"
assert_eq "$(hdr "$T/h2" x-cache)" "hit" "second: hit"
assert_eq "$(hdr "$T/h2" content-encoding)" "br" "the hit is br"
cmp -s "$T/c1" "$T/c2" || fail "the hit's bytes differ from the miss's"
decode br "$T/c2" "$T/d" && cmp -s "$T/d" "$T/page.html" || fail "the hit does not decompress to the page"
hcurl -D "$T/h3" -o "$T/c3" "$uc/cached"
assert_eq "$(hdr "$T/h3" content-encoding)" "" "no Accept-Encoding: identity"
cmp -s "$T/c3" "$T/page.html" || fail "the identity variant differs"
hcurl -D "$T/h4" -o "$T/c4" "$uc/cached"
assert_eq "$(hdr "$T/h4" x-cache)" "hit" "the identity variant is stored too"
hcurl -H "Accept-Encoding: gzip" -D "$T/h5" -o "$T/c5" "$uc/cached"
assert_eq "$(hdr "$T/h5" content-encoding)" "gzip" "gzip variant"
decode gzip "$T/c5" "$T/d" && cmp -s "$T/d" "$T/page.html" || fail "the gzip variant does not decompress"
hcurl --http1.0 -H "Accept-Encoding: zstd" -D "$T/h6" -o "$T/c6" "$uc/cached"
assert_eq "$(hdr "$T/h6" x-cache)" "miss" "zstd for an HTTP/1.0 client: a miss"
assert_eq "$(hdr "$T/h6" transfer-encoding)" "" "HTTP/1.0: no chunks"
hcurl -H "Accept-Encoding: zstd" -D "$T/h7" -o "$T/c7" "$uc/cached"
assert_eq "$(hdr "$T/h7" x-cache)" "hit" "what the HTTP/1.0 client got is stored (in chunks) for HTTP/1.1 ones"
decode zstd "$T/c7" "$T/d" && cmp -s "$T/d" "$T/page.html" || fail "the zstd hit does not decompress"
assert_eq "$(hcurl "$app/count")" 4 "four variants, four fetches"

step "access log and metrics"
alog_wait 1 path=/count
assert_eq "$(alog count path=/body/page.html compress=br)" 4 "access log: br 4 times for the page"
assert_eq "$(alog count path=/pregz compress=)" 1 "access log: the app's gzip was not compressed"
assert_eq "$(alog count path=/cached cache=hit compress=)" 3 "access log: hits cost no compression"
m=$(hcurl -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$P_CTL/metrics")
for enc in gzip br zstd; do
	assert_match "$(echo "$m" | grep "^fulcrum_compress_bytes_in_total{pool=\"app\",encoding=\"$enc\"}")" ' [1-9][0-9]{5,}$' "bytes in ($enc)"
	assert_match "$(echo "$m" | grep "^fulcrum_compress_bytes_out_total{pool=\"app\",encoding=\"$enc\"}")" ' [1-9][0-9]*$' "bytes out ($enc)"
	assert_match "$(echo "$m" | grep "^fulcrum_compress_cpu_seconds_total{pool=\"app\",encoding=\"$enc\"}")" ' 0\.[0-9]*[1-9]' "CPU seconds ($enc)"
done
echo "$m" | grep '^fulcrum_compress_' | grep 'pool="app"'
if command -v promtool >/dev/null; then
	printf '%s\n' "$m" | promtool check metrics >"$T/promtool.out" 2>&1 || fail "promtool: $(cat "$T/promtool.out")"
fi
