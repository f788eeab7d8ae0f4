#!/usr/bin/env bash
# t_cache.sh: a pool's edge cache (issue 19). 200 clients asking at the same moment for
# one cold URL whose response says max-age=30 reach gunicorn exactly once and all get
# its body (the others wait for that fetch: "coalesced", or come after it: "hit"). A
# hit says its Age and answers HEAD without a body; a HEAD miss stores nothing; a chunked
# response is stored and replayed (but not to an HTTP/1.0 client). When the client of a
# fetch leaves, the fetch goes on for its waiters. A herd for a URL whose answer is not
# storable is woken at once and reaches the backend. Responses marked no-store or private, or setting a
# cookie, are never answered from the cache. Vary: Accept-Language keeps the variants
# apart; Vary: Accept-Encoding keeps one variant per set of codings, however a browser
# words it. Authorization bypasses, a client's no-cache fetches anew (and stores), and
# If-None-Match of the stored ETag gets 304 from the cache. The access log's cache
# field says what happened, and a reload that keeps the pool's cache keeps what it holds.
# e2e: pairs
. "$(dirname "$0")/../lib/lib.sh"
need_fulcrum

ports P_LB P_APP
bg app INT "$GUNICORN" -w 1 -k gthread --threads 64 -b "127.0.0.1:$P_APP" --chdir "$(dirname "$0")" \
	--graceful-timeout 2 --timeout 60 --access-logfile - --error-logfile - cache_app:app
wait_listen "$P_APP" "$LAST_PID" 20
wait_http "http://127.0.0.1:$P_APP/healthz" 20
cfg=$T/fulcrum.cfg
# write_cfg MEMORY_BYTES [MORE CACHE KEYS]
write_cfg() {
	{
		E2E_WORKERS=2 cfg_common
		cat <<EOF2
listeners = ( { name = "web"; bind = "127.0.0.1:$P_LB"; pool = "app"; } );
pools = ( { name = "app"; health = { type = "none"; }; retries = 0; queue_timeout_ms = 20000;
            cache = { memory_bytes = $1; max_object_bytes = 1048576; x_cache_header = "X-Cache"; ${2:-} };
            backends = ( { name = "a"; address = "127.0.0.1:$P_APP"; max_conns = 300; } ); } );
EOF2
	} >"$cfg.new"
	mv -f "$cfg.new" "$cfg"
}
write_cfg 8388608
start_fulcrum "$cfg" "$P_LB"
u=http://127.0.0.1:$P_LB
# count PATH: requests gunicorn answered for PATH (asked of gunicorn directly)
count() { hcurl "http://127.0.0.1:$P_APP/count$1"; }

step "200 concurrent requests for a cold URL reach the backend once"
out=$("$PY" "$(dirname "$0")/herd.py" "$u/slow/herd?s=1.5" 200)
assert_eq "$out" "200 200 slow herd 1" "every client got the one fetched body"
assert_eq "$(count /slow/herd)" 1 "gunicorn saw one request"
alog_wait 200 path=/slow/herd?s=1.5
assert_eq "$(alog count path=/slow/herd?s=1.5 cache=miss)" 1 "access log: one miss"
assert_cmp "$(alog count path=/slow/herd?s=1.5 cache=coalesced)" ">" 0 "access log: waiters coalesced"
assert_eq "$(( $(alog count path=/slow/herd?s=1.5 cache=coalesced) + $(alog count path=/slow/herd?s=1.5 cache=hit) ))" 199 \
	"access log: the others were coalesced or hits"

step "a hit: Age, X-Cache, the same body; HEAD without a body"
hcurl -o /dev/null "$u/cc/age?cc=max-age=30"
sleep 1.2
body=$(hcurl -D "$T/h1" "$u/cc/age?cc=max-age=30")
assert_eq "$body" "age 1" "the stored body"
assert_match "$(tr -d '\r' <"$T/h1" | grep -i '^age:')" '^Age: [1-9]' "Age of a hit"
assert_contains "$(tr -d '\r' <"$T/h1")" "X-Cache: hit" "X-Cache header"
hcurl -I -o /dev/null -D "$T/h2" "$u/cc/age?cc=max-age=30"
assert_contains "$(tr -d '\r' <"$T/h2")" "X-Cache: hit" "HEAD is a hit"
assert_contains "$(tr -d '\r' <"$T/h2")" "Content-Length: 6" "HEAD says the length"
out=$(rawhttp send --port "$P_LB" --timeout 5 --summary \
	--data 'HEAD /cc/age?cc=max-age=30 HTTP/1.1\r\nHost: 127.0.0.1:'"$P_LB"'\r\n\r\nGET /cc/age?cc=max-age=30 HTTP/1.1\r\nHost: 127.0.0.1:'"$P_LB"'\r\nConnection: close\r\n\r\n')
assert_contains "$out" "statuses=200,200" "HEAD then GET on one kept-alive connection"
assert_eq "$(count /cc/age)" 1 "gunicorn saw one request"
hcurl -I -o /dev/null "$u/cc/headfirst?cc=max-age=30"
assert_eq "$(hcurl "$u/cc/headfirst?cc=max-age=30")" "headfirst 2" "a HEAD miss stores nothing"
hcurl -o "$T/bc" "$u/chunked/c"
assert_eq "$(head -n 1 "$T/bc")" "chunked c 1" "chunked response"
assert_eq "$(hcurl "$u/chunked/c" | wc -c)" "$(hcurl "http://127.0.0.1:$P_APP/chunked/c" | wc -c)" "a chunked hit is whole"
assert_eq "$(count /chunked/c)" 2 "the chunked response was stored (one fetch, one direct)"

hcurl --http1.0 -D "$T/h10" -o "$T/b10" "$u/chunked/c"
out=$(head -n 1 "$T/b10")
assert_not_contains "$(tr -d '\r' <"$T/h10")" "chunked" "an HTTP/1.0 client gets no chunks"
assert_eq "$out" "chunked c 3" "an HTTP/1.0 client's request passes to the backend"

step "the fetcher's client leaves: the fetch goes on and its waiters get the answer"
hcurl --max-time 1 -o /dev/null "$u/slow/abort?s=2.5" &
quitter=$!
sleep 0.4
out=$("$PY" "$(dirname "$0")/herd.py" "$u/slow/abort?s=2.5" 5)
wait "$quitter" || true
assert_eq "$out" "5 200 slow abort 1" "the waiters got the fetched answer"
assert_eq "$(count /slow/abort)" 1 "gunicorn saw one request"

step "a large body is stored whole; one above max_object_bytes is not stored"
hcurl -o "$T/big1" "$u/big/900"
hcurl -o "$T/big2" "$u/big/900"
assert_eq "$(sha256_file "$T/big2")" "$(sha256_file "$T/big1")" "a 900 KiB hit is the fetched body"
assert_eq "$(stat -c %s "$T/big2")" 921600 "its length"
assert_eq "$(count /big/900)" 1 "stored"
hcurl -o /dev/null "$u/big/1100"
hcurl -o /dev/null "$u/big/1100"
assert_eq "$(count /big/1100)" 2 "1100 KiB is over max_object_bytes (1 MiB): not stored"

step "no-store, private and Set-Cookie are never served from the cache"
for i in 1 2 3; do
	hcurl -o /dev/null "$u/cc/ns?cc=no-store,max-age=30"
	hcurl -o /dev/null "$u/cc/pv?cc=private,max-age=30"
	hcurl -o /dev/null "$u/cc/ck?cc=max-age=30&cookie=1"
done
assert_eq "$(count /cc/ns)" 3 "no-store"
assert_eq "$(count /cc/pv)" 3 "private"
assert_eq "$(count /cc/ck)" 3 "Set-Cookie"
alog_wait 1 path=/cc/ns?cc=no-store,max-age=30 cache=pass
assert_cmp "$(alog count path=/cc/ns?cc=no-store,max-age=30 cache=pass)" ">=" 1 "access log: hit-for-pass"
out=$("$PY" "$(dirname "$0")/herd.py" "$u/cc/nsh?cc=no-store" 20)
assert_eq "$(count /cc/nsh)" 20 "a herd for an uncacheable URL all reach the backend"

step "Vary: Accept-Language keeps the variants apart"
for l in en de en de fr; do
	printf '%s|' "$(hcurl -H "Accept-Language: $l" "$u/vary/v")"
done >"$T/vary"
assert_eq "$(cat "$T/vary")" "v en 1|v de 2|v en 1|v de 2|v fr 3|" "each language its own variant"

step "Vary: Accept-Encoding: the same codings worded apart share one variant"
for ae in "gzip, deflate, br, zstd" "br, zstd, gzip, deflate" "GZIP,Deflate;q=0.5,br;q=0.9,zstd" \
	"gzip, deflate, br" "gzip;q=0, br, deflate" "gzip, deflate, br"; do
	printf '%s|' "$(hcurl -H "Accept-Encoding: $ae" "$u/vary-ae/e")"
done >"$T/vary-ae"
assert_eq "$(cat "$T/vary-ae")" \
	"e gzip, deflate, br, zstd 1|e gzip, deflate, br, zstd 1|e gzip, deflate, br, zstd 1|e gzip, deflate, br 2|e gzip;q=0, br, deflate 3|e gzip, deflate, br 2|" \
	"one render per set of codings"
assert_eq "$(count /vary-ae/e)" 3 "renders of /vary-ae/e"

step "Authorization bypasses the cache; a client's no-cache fetches anew and refreshes it"
hcurl -o /dev/null "$u/cc/b?cc=max-age=30"
assert_eq "$(hcurl -H 'Cache-Control: no-cache' "$u/cc/b?cc=max-age=30")" "b 2" "no-cache went to the backend"
assert_eq "$(hcurl -H 'Authorization: Basic eDp5' "$u/cc/b?cc=max-age=30")" "b 3" "Authorization went to the backend"
assert_eq "$(hcurl "$u/cc/b?cc=max-age=30")" "b 2" "the no-cache answer replaced the stored one"
alog_wait 1 path=/cc/b?cc=max-age=30 cache=bypass
assert_eq "$(alog count path=/cc/b?cc=max-age=30 cache=bypass)" 1 "access log: bypass"
assert_eq "$(alog count path=/cc/b?cc=max-age=30 cache=miss)" 2 "access log: the no-cache request was a miss"

step "a conditional request gets 304 from a fresh entry"
hcurl -o /dev/null "$u/cc/cond?cc=max-age=30&etag=v1"
code=$(hcurl -o "$T/cond.body" -w '%{http_code}' -D "$T/h3" -H 'If-None-Match: "v1"' "$u/cc/cond?cc=max-age=30&etag=v1")
assert_eq "$code" 304 "If-None-Match of the stored ETag"
assert_contains "$(tr -d '\r' <"$T/h3")" 'ETag: "v1"' "the 304 carries the ETag"
assert_contains "$(tr -d '\r' <"$T/h3")" "X-Cache: hit" "answered from the cache"
assert_eq "$(hcurl -H 'If-None-Match: "v0"' "$u/cc/cond?cc=max-age=30&etag=v1")" "cond 1" "another ETag gets the body"
assert_eq "$(count /cc/cond)" 1 "gunicorn saw one request"
c304="$u/cc/c304?cc=max-age=30&etag=v1&cond=1"
code=$(hcurl -o /dev/null -w '%{http_code}' -H 'If-None-Match: "v1"' "$c304")
assert_eq "$code" 304 "a cold conditional request: the backend's 304"
assert_eq "$(hcurl "$c304")" "c304 2" "then a plain request fetches"
assert_eq "$(hcurl "$c304")" "c304 2" "and stores (a 304 marks no pass)"

step "a reload that keeps the cache keeps what it holds"
write_cfg 8388608 "default_ttl_s = 0;"
kill -HUP "$FULCRUM_PID"
for ((i = 0; i < 50; i++)); do grep -q 'gen=2' "$T/fulcrum.log" && break; sleep 0.1; done
sleep 0.3
assert_eq "$(hcurl "$u/cc/age?cc=max-age=30")" "age 1" "still a hit after the reload"
assert_eq "$(count /cc/age)" 1 "gunicorn saw still one request"

step "a reload that changes the cache's size starts an empty one"
write_cfg 16777216
kill -HUP "$FULCRUM_PID"
for ((i = 0; i < 50; i++)); do grep -q 'gen=3' "$T/fulcrum.log" && break; sleep 0.1; done
sleep 0.3
assert_eq "$(hcurl "$u/cc/age?cc=max-age=30")" "age 2" "fetched again into the new store"

step "a max-age=1 answer whose fetch crosses a second boundary is stored"
# the fetch starts at .85 of a second and takes 0.3 s: both clocks' whole seconds
# differ by one, which is no age (and no reason to mark the URL uncacheable)
"$PY" -c 'import time; time.sleep((0.85 - time.time() % 1) % 1)'
assert_eq "$(hcurl "$u/cc/edge?cc=max-age=1&delay=0.3")" "edge 1" "the fetch"
assert_eq "$(hcurl -D "$T/h9" "$u/cc/edge?cc=max-age=1&delay=0.3")" "edge 1" "the next request: from the cache"
assert_contains "$(tr -d '\r' <"$T/h9")" "X-Cache: hit" "a hit"
