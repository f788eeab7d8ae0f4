#!/usr/bin/env bash
# t_static_files.sh: a static route (issue 20) serves /static/ from a directory while
# the rest goes to gunicorn: whole files byte for byte (a css and 1 MB), HEAD, a Range
# (206) and one past the end (416), If-None-Match and If-Modified-Since (304), a
# directory's index (and a 301 to add its '/'), 405 for POST; "..", "%2e%2e" and a
# symlink out of the root serve nothing outside it; keep-alive and pipelining go on
# after a static answer; a client that leaves mid-file is logged client_closed; the
# same over a TLS listener; gunicorn never sees a /static/ request.
# e2e: pairs
. "$(dirname "$0")/../lib/lib.sh"
. "$(dirname "$0")/../lib/tls_lib.sh"
need_fulcrum

ports P_LB P_TLS P_APP
start_flask app "$P_APP" 1
root=$T/www
mkdir -p "$root/css" "$root/docs"
printf 'body { color: red; }\n' >"$root/css/app.css"
head -c 1048576 /dev/urandom >"$root/big.bin"
printf '<h1>docs</h1>\n' >"$root/docs/index.html"
printf 'secret\n' >"$T/secret.txt"
ln -s "$T/secret.txt" "$root/escape.txt"
tls_ca ca
tls_cert web ca ec "/CN=a.test" "DNS:a.test"
cfg=$T/fulcrum.cfg
{
	cfg_common
	cat <<EOF
listeners = ( { name = "web"; bind = "127.0.0.1:$P_LB"; pool = "app";
  routes = ( { name = "assets"; path_prefix = "/static/";
               static = { root = "$root"; strip_prefix = "/static"; index = "index.html"; max_age_s = 600; };
               response_headers = ( { add = "X-Served-By: fulcrum"; } ); } ); },
  { name = "tls"; bind = "127.0.0.1:$P_TLS"; pool = "app"; hsts_max_age_s = 600;
    tls = { certificates = ( { cert = "$T/web.crt"; key = "$T/web.key"; } ); };
    routes = ( { name = "assets-tls"; path_prefix = "/static/";
                 static = { root = "$root"; strip_prefix = "/static"; }; } ); } );
pools = ( { name = "app"; health = { type = "none"; }; backends = ( { name = "a"; address = "127.0.0.1:$P_APP"; } ); } );
EOF
} >"$cfg"
"$FULCRUM" -t -c "$cfg" >/dev/null || fail "fulcrum -t refuses the test config: $("$FULCRUM" -t -c "$cfg" 2>&1)"
start_fulcrum "$cfg" "$P_LB" "$P_TLS"
u=http://127.0.0.1:$P_LB

step "whole files, byte for byte, with their type and validators"
code=$(hcurl -o "$T/app.css" -D "$T/css.h" -w '%{http_code} %{content_type}' "$u/static/css/app.css")
assert_eq "$code" "200 text/css; charset=utf-8" "css status and type"
assert_eq "$(sha256_file "$T/app.css")" "$(sha256_file "$root/css/app.css")" "css bytes"
h=$(tr -d '\r' <"$T/css.h")
assert_contains "$h" "Cache-Control: max-age=600" "Cache-Control"
assert_contains "$h" "X-Served-By: fulcrum" "the route's response edit"
assert_contains "$h" "Accept-Ranges: bytes" "Accept-Ranges"
assert_match "$h" "Date: [A-Z][a-z]{2}, [0-9]{2} [A-Z][a-z]{2} [0-9]{4} " "Date"
etag=$(grep -i '^etag:' <<<"$h" | cut -d' ' -f2)
lastmod=$(grep -i '^last-modified:' <<<"$h" | cut -d' ' -f2-)
if [ -z "$etag" ] || [ -z "$lastmod" ]; then fail "no ETag or Last-Modified: $h"; fi
code=$(hcurl -o "$T/big.out" -w '%{http_code} %{content_type} %{size_download}' "$u/static/big.bin")
assert_eq "$code" "200 application/octet-stream 1048576" "1 MB file"
assert_eq "$(sha256_file "$T/big.out")" "$(sha256_file "$root/big.bin")" "1 MB bytes"
code=$(hcurl -o "$T/index.out" -w '%{http_code} %{content_type}' "$u/static/docs/")
assert_eq "$code" "200 text/html; charset=utf-8" "directory index"
assert_eq "$(cat "$T/index.out")" "<h1>docs</h1>" "index body"
hcurl -o /dev/null -D "$T/dir.h" "$u/static/docs?x=1"
assert_contains "$(tr -d '\r' <"$T/dir.h")" "HTTP/1.1 301" "a directory without its '/'"
assert_contains "$(tr -d '\r' <"$T/dir.h")" "Location: /static/docs/?x=1" "its Location"

step "HEAD, Range, conditionals, methods"
h=$(hcurl -I "$u/static/big.bin" | tr -d '\r')
assert_contains "$h" "HTTP/1.1 200" "HEAD status"
assert_contains "$h" "Content-Length: 1048576" "HEAD length"
code=$(hcurl -o "$T/part.out" -D "$T/part.h" -w '%{http_code}' -H 'Range: bytes=1000-1999' "$u/static/big.bin")
assert_eq "$code" 206 "Range status"
assert_contains "$(tr -d '\r' <"$T/part.h")" "Content-Range: bytes 1000-1999/1048576" "Content-Range"
assert_eq "$(sha256_file "$T/part.out")" "$(head -c 2000 "$root/big.bin" | tail -c 1000 | sha256sum | cut -d' ' -f1)" "range bytes"
code=$(hcurl -o /dev/null -w '%{size_download}' -H 'Range: bytes=-100' "$u/static/big.bin")
assert_eq "$code" 100 "suffix range length"
code=$(hcurl -o /dev/null -D "$T/416.h" -w '%{http_code}' -H 'Range: bytes=2000000-' "$u/static/big.bin")
assert_eq "$code" 416 "range past the end"
assert_contains "$(tr -d '\r' <"$T/416.h")" "Content-Range: bytes */1048576" "416 Content-Range"
code=$(hcurl -o /dev/null -w '%{http_code}' -H "If-None-Match: $etag" "$u/static/css/app.css")
assert_eq "$code" 304 "If-None-Match"
code=$(hcurl -o /dev/null -w '%{http_code}' -H "If-Modified-Since: $lastmod" "$u/static/css/app.css")
assert_eq "$code" 304 "If-Modified-Since"
code=$(hcurl -o /dev/null -w '%{http_code}' -H 'If-None-Match: "other"' "$u/static/css/app.css")
assert_eq "$code" 200 "If-None-Match that does not match"
code=$(hcurl -o /dev/null -D "$T/405.h" -w '%{http_code}' -X POST -d 'x=1' "$u/static/css/app.css")
assert_eq "$code" 405 "POST"
assert_contains "$(tr -d '\r' <"$T/405.h")" "Allow: GET, HEAD" "Allow"
code=$(hcurl -o /dev/null -w '%{http_code}' "$u/static/missing.css")
assert_eq "$code" 404 "missing file"

step "nothing outside the root"
for p in /static/../secret.txt /static/%2e%2e/secret.txt /static/css/%2E%2E/../secret.txt \
	/static/escape.txt /static/css%2f..%2f..%2fsecret.txt; do
	code=$(hcurl --path-as-is -o "$T/out.txt" -w '%{http_code}' "$u$p")
	case $code in
	403 | 404 | 400) ;;
	*) fail "$p answered $code" ;;
	esac
	assert_not_contains "$(cat "$T/out.txt")" secret "$p body"
done

step "keep-alive and pipelining go on after static answers"
out=$(rawhttp pipeline --port "$P_LB" /static/css/app.css /static/missing /static/docs/ /)
assert_eq "$(echo "$out" | cut -d' ' -f1 | tr '\n' ' ')" "200 404 200 200 " "pipelined statuses: $out"
assert_contains "$out" "<h1>docs</h1>" "pipelined index"
n=$(hcurl -v -o /dev/null -o /dev/null "$u/static/css/app.css" "$u/static/big.bin" 2>&1 | grep -ci 're-using existing connection' || true)
assert_eq "$n" 1 "curl reuses the connection after a static answer"

step "a client that leaves mid-file ends its exchange, and the next is served"
# 64 MB (sparse): more than the socket buffers of both ends hold
truncate -s 64M "$root/huge.bin"
hcurl --max-time 1 --limit-rate 64k -o /dev/null "$u/static/huge.bin" && fail "64 MB at 64 kB/s came whole within 1 s"
alog_wait 1 route=assets termination=client_closed
assert_eq "$(alog count route=assets termination=client_closed)" 1 "the cut transfer's line"
code=$(hcurl -o /dev/null -w '%{http_code}' "$u/static/css/app.css")
assert_eq "$code" 200 "served after a cut transfer"

step "over TLS"
tcurl=(--cacert "$T/ca.crt" --resolve "a.test:$P_TLS:127.0.0.1")
code=$(hcurl "${tcurl[@]}" -o "$T/big.tls" -D "$T/tls.h" -w '%{http_code}' "https://a.test:$P_TLS/static/big.bin")
assert_eq "$code" 200 "TLS 1 MB status"
assert_eq "$(sha256_file "$T/big.tls")" "$(sha256_file "$root/big.bin")" "TLS 1 MB bytes"
assert_contains "$(tr -d '\r' <"$T/tls.h" | tr '[:upper:]' '[:lower:]')" "strict-transport-security: max-age=600" \
	"HSTS on a static answer (over h2: names in lower case)"
code=$(hcurl "${tcurl[@]}" -o "$T/part.tls" -w '%{http_code} %{size_download}' -H 'Range: bytes=100-' "https://a.test:$P_TLS/static/big.bin")
assert_eq "$code" "206 1048476" "TLS range"
assert_eq "$(sha256_file "$T/part.tls")" "$(tail -c +101 "$root/big.bin" | sha256sum | cut -d' ' -f1)" "TLS range bytes"

step "gunicorn never saw /static/; the access log names the route"
assert_eq "$(grep -c '/static/' "$T/app.log" || true)" 0 "gunicorn /static/ requests"
alog_wait 20 route=assets
assert_cmp "$(alog count route=assets status=200 pool=)" ">=" 5 "assets lines with 200 and no pool"
assert_eq "$(alog count route=assets status=405)" 1 "405 line"
assert_eq "$(alog count route=assets-tls status=206)" 1 "TLS 206 line"
echo ok
