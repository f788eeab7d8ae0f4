#!/usr/bin/env bash
# t_http_bodies.sh: request bodies of 0 B, 1 MiB and 64 MiB (GET and POST, with
# Content-Length and chunked) reach Flask intact, and generated responses up to 64 MiB
# (Content-Length or chunked, and 8 MiB to a slow reader) come back intact: sha256 and
# length compared end to end.
# e2e: pairs
. "$(dirname "$0")/../lib/lib.sh"
need_fulcrum

ports P_WEB P_APP
start_flask web-1 "$P_APP" 2

cfg=$T/fulcrum.cfg
{
	cfg_common
	cat <<EOF
listeners = ( { name = "web"; bind = "127.0.0.1:$P_WEB"; mode = "http"; pool = "flask";
                head_timeout_ms = 5000; idle_timeout_ms = 10000; body_max_bytes = 0; } );
pools = ( { name = "flask"; balance = "wlc"; health = { type = "none"; };
            connect_timeout_ms = 1000; response_timeout_ms = 30000; retries = 1;
            backends = ( { name = "web-1"; address = "127.0.0.1:$P_APP"; weight = 1; max_conns = 8; } ); } );
EOF
} >"$cfg"
start_fulcrum "$cfg" "$P_WEB"
URL=http://127.0.0.1:$P_WEB

: >"$T/b0"
head -c 1048576 /dev/urandom >"$T/b1m"
head -c 67108864 /dev/urandom >"$T/b64m"

# check_echo LABEL FILE CURL-ARGS...: sends FILE as the body to /echo, compares the
# digest and length Flask computed with the file's.
check_echo() {
	local label=$1 file=$2 out want_sha want_len
	shift 2
	want_sha=$(sha256_file "$file")
	want_len=$(stat -c %s "$file")
	out=$(CURL_MAX_TIME=90 hcurl -f "$@" "$URL/echo") || fail "$label: curl failed: $out"
	assert_eq "$(json_get "$out" 'd["length"]')" "$want_len" "$label: length seen by Flask"
	assert_eq "$(json_get "$out" 'd["sha256"]')" "$want_sha" "$label: sha256 seen by Flask"
	echo "   $label: $want_len bytes ok"
}

step "GET and POST with Content-Length bodies"
check_echo "GET no body" "$T/b0"
check_echo "POST 0 B" "$T/b0" -X POST --data-binary @"$T/b0" -H 'Content-Type: application/octet-stream'
for f in b1m b64m; do
	check_echo "GET $f" "$T/$f" -X GET --data-binary @"$T/$f" -H 'Content-Type: application/octet-stream'
	check_echo "POST $f" "$T/$f" -X POST --data-binary @"$T/$f" -H 'Content-Type: application/octet-stream'
done
check_echo "PUT b1m (upload -T)" "$T/b1m" -T "$T/b1m"

step "chunked uploads"
for f in b0 b1m b64m; do
	check_echo "POST chunked $f" "$T/$f" -X POST -H 'Transfer-Encoding: chunked' \
		-H 'Content-Type: application/octet-stream' --data-binary @"$T/$f"
done

step "generated responses"
for n in 0 1 1000001 67108864; do
	rm -f "$T/got"
	CURL_MAX_TIME=90 hcurl -f -o "$T/got" "$URL/blob?bytes=$n" || fail "GET /blob?bytes=$n failed"
	assert_eq "$(stat -c %s "$T/got")" "$n" "/blob?bytes=$n: length"
	assert_eq "$(sha256_file "$T/got")" "$("$PY" "$E2E_DIR/blob.py" "$n" --sha256)" "/blob?bytes=$n: sha256"
	echo "   /blob?bytes=$n ok"
done

step "generated responses, chunked by the backend"
for n in 1 1000001 16777216; do
	rm -f "$T/got"
	CURL_MAX_TIME=90 hcurl -f -D "$T/got.h" -o "$T/got" "$URL/blob?bytes=$n&chunked=1" ||
		fail "GET /blob?bytes=$n&chunked=1 failed"
	grep -qi '^transfer-encoding: chunked' "$T/got.h" || fail "/blob?chunked=1 did not come back chunked: $(cat "$T/got.h")"
	assert_eq "$(sha256_file "$T/got")" "$("$PY" "$E2E_DIR/blob.py" "$n" --sha256)" "/blob?bytes=$n&chunked=1: sha256"
	echo "   /blob?bytes=$n&chunked=1 ok"
done

# A large body moves in bulk buffers (include/buffer.h) once a read fills a standard
# one; a client reading slower than the backend writes makes fulcrum stop reading and
# resume, mid-bulk, many times over.
step "a slow reader gets 8 MiB intact"
out=$("$PY" - "$P_WEB" "$E2E_DIR" <<'EOF'
import hashlib, socket, sys, time
sys.path.insert(0, sys.argv[2])
from blob import blob_sha256
n = 8 * 1024 * 1024
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=20)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
s.sendall(b"GET /blob?bytes=%d HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n" % n)
data, deadline = b"", time.time() + 60
while b"\r\n\r\n" not in data and time.time() < deadline:
    data += s.recv(4096)
head, body = data.split(b"\r\n\r\n", 1)
h = hashlib.sha256(body)
got = len(body)
while got < n and time.time() < deadline:
    chunk = s.recv(65536)
    if not chunk:
        break
    h.update(chunk)
    got += len(chunk)
    time.sleep(0.005)
print(head.split(b"\r\n")[0].decode(), got, "match" if got == n and h.hexdigest() == blob_sha256(n) else "MISMATCH")
EOF
) || fail "slow reader: $out"
assert_eq "$out" "HTTP/1.1 200 OK $((8 * 1024 * 1024)) match" "slow reader: status, length, sha256"
echo "   $out"

step "access log: one line per request with the contract fields"
alog_wait 14

alog check-fields status,backend,bytes_in,bytes_out,method,path,termination ||
	fail "access log entries miss contract fields"
n=$(alog count)
assert_cmp "$n" ">=" 14 "access log lines (14 requests made)"
big_out=$("$PY" - "$T/access.log" <<'EOF'
import json, sys
m = 0
for l in open(sys.argv[1]):
    try:
        e = json.loads(l)
    except ValueError:
        continue
    if str(e.get("path", "")).startswith("/blob"):
        m = max(m, int(e.get("bytes_out") or 0))
print(m)
EOF
)
assert_cmp "$big_out" ">=" 67108864 "largest bytes_out logged for /blob"
assert_eq "$(alog count backend=web-1 status=200)" "$n" "entries served by web-1 with 200"
echo "ok"
