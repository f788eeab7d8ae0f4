#!/usr/bin/env bash
# t_buffer_slow_upload.sh: request buffering (issue 24). fulcrum reads a request body
# whole before the request takes a backend, so with one gunicorn sync worker behind
# max_conns = 1: an upload that stalls after 1000 of 100000 bytes holds nothing (another
# request is answered within 1 s, the app has not seen the upload) and is served intact
# once complete; a chunked upload reaches the app with a Content-Length and no
# Transfer-Encoding, and so do empty bodies, at once; Expect: 100-continue is answered
# by fulcrum at once even while the worker is busy; an upload whose client leaves
# half-way never reaches the app.
# The app (/echo-len) notes each request it begins in arrivals.web, before reading the
# body; gunicorn's access log notes each request it finished.
. "$(dirname "$0")/../lib/lib.sh"
need_fulcrum

ports P_LB P_BE
start_flask web "$P_BE" 1 --access-logfile "$T/gunicorn-access.log"
cfg=$T/fulcrum.cfg
{
	cfg_common
	cat <<EOF
listeners = ( { name = "web"; bind = "127.0.0.1:$P_LB"; mode = "http"; pool = "flask"; } );
EOF
	one_worker_pool
} >"$cfg"
start_fulcrum "$cfg" "$P_LB"
URL=http://127.0.0.1:$P_LB
touch "$T/arrivals.web" "$T/gunicorn-access.log"
arrived() { grep -c "^$1\$" "$T/arrivals.web" || true; }
logged() { grep -c "tag=$1[ &]" "$T/gunicorn-access.log" || true; }

step "an upload stalls 5 s after 1000 of 100000 bytes"
bg slowup TERM "$PY" "$E2E_DIR/slowupload.py" --port "$P_LB" --path "/echo-len?tag=slowup" \
	--length 100000 --first 1000 --pause 5 --ready "$T/slowup.sent"
SLOW=$LAST_PID
wait_file "$T/slowup.sent" || fail "the uploader did not start: $(cat "$T/slowup.log")"
sleep 0.3

step "meanwhile another request is answered within 1 s"
out=$(curl -s --noproxy '*' --max-time 4 -o /dev/null -w '%{http_code} %{time_total}' \
	"$URL/sleep?ms=1&tag=second" || true)
echo "   second request: status and seconds: $out"
kill -0 "$SLOW" 2>/dev/null || fail "the uploader ended during its pause: $(cat "$T/slowup.log")"
assert_eq "$(arrived slowup)" 0 "times the app began the incomplete upload"
assert_eq "$(logged slowup)" 0 "gunicorn access-log entries of the incomplete upload"
assert_eq "${out%% *}" 200 "status of a request made while an upload stalls (unbuffered, the upload holds the only worker)"
assert_cmp "${out##* }" "<" 1.0 "seconds to answer it"

step "the upload completes and is served intact"
rc=0
wait_exit "$SLOW" 30 || rc=$?
[ $rc = 0 ] || fail "the uploader exited $rc: $(cat "$T/slowup.log")"
mapfile -t res <"$T/slowup.log"
assert_match "${res[0]}" '^HTTP/1.1 200 ' "the completed upload's status"
sent_sha=${res[1]##* }
assert_eq "$(json_get "${res[2]}" 'd["length"]')" 100000 "length the app read"
assert_eq "$(json_get "${res[2]}" 'd["sha256"]')" "$sent_sha" "sha256 the app read"
assert_eq "$(json_get "${res[2]}" 'd["content_length"]')" 100000 "Content-Length the app got"
assert_eq "$(arrived slowup)" 1 "times the app began the upload"

step "a chunked upload reaches the app with a Content-Length and no Transfer-Encoding"
head -c 300000 /dev/urandom >"$T/b300k"
out=$(hcurl -f -X POST -H 'Transfer-Encoding: chunked' -H 'Content-Type: application/octet-stream' \
	--data-binary @"$T/b300k" "$URL/echo-len?tag=chunked") || fail "chunked upload: $out"
echo "   app saw: $(json_get "$out" '{k: d[k] for k in ("length", "content_length", "transfer_encoding")}')"
assert_eq "$(json_get "$out" 'd["length"]')" 300000 "chunked upload: length the app read"
assert_eq "$(json_get "$out" 'd["sha256"]')" "$(sha256_file "$T/b300k")" "chunked upload: sha256 the app read"
assert_eq "$(json_get "$out" 'd["transfer_encoding"]')" None "chunked upload: Transfer-Encoding the app got"
assert_eq "$(json_get "$out" 'd["content_length"]')" 300000 "chunked upload: Content-Length the app got"

step "empty bodies (Content-Length: 0, and chunked with no data) are answered at once"
: >"$T/empty"
for how in length chunked; do
	extra=()
	[ $how = chunked ] && extra=(-H 'Transfer-Encoding: chunked')
	out=$(curl -s --noproxy '*' --max-time 5 -X POST "${extra[@]}" --data-binary @"$T/empty" \
		-w ' %{http_code} %{time_total}' "$URL/echo-len?tag=empty-$how" || true)
	echo "   $how: $(printf '%s' "$out" | tail -c 70)"
	assert_match "$out" ' 200 [0-9.]+$' "status of an empty POST ($how)"
	assert_cmp "${out##* }" "<" 1.0 "seconds to answer an empty POST ($how)"
	assert_eq "$(json_get "${out% * *}" '[d["length"], d["content_length"], d["transfer_encoding"]]')" \
		"[0, \"0\", null]" "body length, Content-Length and Transfer-Encoding the app got ($how)"
done

step "Expect: 100-continue is answered by fulcrum at once while the worker is busy"
curl -s --noproxy '*' --max-time 10 -o "$T/hold.out" "$URL/work?ms=3000&tag=hold" &
HOLD=$!
for ((i = 0; i < 100; i++)); do
	[ "$(cut -d' ' -f1 "$T/conc.web" 2>/dev/null)" = 1 ] && break
	sleep 0.05
done
[ "$(cut -d' ' -f1 "$T/conc.web" 2>/dev/null)" = 1 ] || fail "the 3 s request did not reach gunicorn"
head -c 20000 /dev/urandom >"$T/b20k"
rc=0
curl -sS -v --trace-time --noproxy '*' --max-time 15 --expect100-timeout 5 -H 'Expect: 100-continue' \
	-H 'Content-Type: application/octet-stream' --data-binary @"$T/b20k" \
	-o "$T/expect.out" "$URL/echo-len?tag=expect" 2>"$T/expect.err" || rc=$?
wait "$HOLD" || true
[ $rc = 0 ] || fail "the Expect upload failed (curl exit $rc): $(tail -n 5 "$T/expect.err")"
# curl -v --trace-time: "HH:MM:SS.micro > POST ..." then "HH:MM:SS.micro < HTTP/1.1 100 Continue"
gap=$("$PY" - "$T/expect.err" <<'EOF'
import re, sys
def secs(line):
    h, m, s = line.split()[0].split(":")
    return int(h) * 3600 + int(m) * 60 + float(s)
sent = cont = None
for line in open(sys.argv[1], errors="replace"):
    if sent is None and re.match(r"^\S+ > POST ", line):
        sent = secs(line)
    elif cont is None and re.match(r"^\S+ < HTTP/1\.1 100 ", line):
        cont = secs(line)
print("none" if sent is None or cont is None else "%.3f" % (cont - sent))
EOF
)
echo "   seconds from the request head to the 100 Continue: $gap; the app got Expect: $(json_get "$(cat "$T/expect.out")" 'd["expect"]')"
[ "$gap" != none ] || fail "curl saw no 100 Continue: $(grep -E '^[^ ]+ [<>] ' "$T/expect.err" | head -n 12)"
assert_cmp "$gap" "<" 0.5 "seconds until 100 Continue while the only worker is busy for 3 s"
assert_eq "$(json_get "$(cat "$T/expect.out")" 'd["length"]')" 20000 "Expect upload: length the app read"
assert_eq "$(json_get "$(cat "$T/expect.out")" 'd["sha256"]')" "$(sha256_file "$T/b20k")" "Expect upload: sha256 the app read"

step "a client that closes mid-upload never reaches the app"
rc=0
out=$("$PY" "$E2E_DIR/slowupload.py" --port "$P_LB" --path "/echo-len?tag=abort" \
	--length 100000 --first 1000 --pause 0.5 --close) || rc=$?
[ $rc = 0 ] || fail "the aborting uploader: $out"
# the worker is free: a request made now is served, so an upload sent on would be too
assert_eq "$(http_status "$URL/sleep?ms=1&tag=after")" 200 "a request after the aborted upload"
sleep 0.5
assert_eq "$(arrived abort)" 0 "times the app began the aborted upload"
assert_eq "$(logged abort)" 0 "gunicorn access-log entries of the aborted upload"
echo "ok"
