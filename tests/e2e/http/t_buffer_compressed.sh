#!/usr/bin/env bash
# t_buffer_compressed.sh: response buffering of a response fulcrum compresses (issues 24
# and 19). A pool with compress = {} in front of one gunicorn sync worker (max_conns =
# 1): a client with a 4 KiB receive window asks for 4 MiB of text with Accept-Encoding:
# gzip and reads nothing for 6 s. fulcrum holds the backend's bytes before the encoder,
# as it holds any response, so the worker and the slot are free at once and a second
# request meanwhile is answered within 1 s (before, the encoder's output went at the
# client's pace and the worker waited for the slow client: the second request queued
# for the 6 s). Then the slow client reads the gzip-coded answer, intact once decoded,
# and the access log says gzip with a delivery time (the backend was let go).
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
	one_worker_pool 'compress = { encodings = ( "gzip" ); gzip_level = 1; };'
} >"$cfg"
start_fulcrum "$cfg" "$P_LB"
N=$((4 * 1024 * 1024))

step "a client with SO_RCVBUF 4096 asks for 4 MiB of text, gzip, and reads nothing for 6 s"
bg slowread TERM "$PY" "$E2E_DIR/slowread.py" --port "$P_LB" --bytes "$N" --rcvbuf 4096 \
	--pause 6 --ready "$T/slow.sent" --tag slowz --timeout 40 --gzip
SLOW=$LAST_PID
wait_file "$T/slow.sent" || fail "the slow client did not send its request: $(cat "$T/slowread.log")"
t_sent=$(now_ms)
for ((i = 0; i < 30; i++)); do
	grep -q 'tag=slowz' "$T/gunicorn-access.log" 2>/dev/null && break
	sleep 0.1
done

step "meanwhile a second request is answered within 1 s"
out=$(curl -s --noproxy '*' --max-time 10 -o /dev/null -w '%{http_code} %{time_total}' \
	"http://127.0.0.1:$P_LB/sleep?ms=1&tag=second" || true)
echo "   second request: status and seconds: $out"
kill -0 "$SLOW" 2>/dev/null || fail "the slow client ended before it was meant to read: $(cat "$T/slowread.log")"
assert_eq "${out%% *}" 200 "status of a request while the slow client reads nothing"
assert_cmp "${out##* }" "<" 1.0 "seconds to answer it (the only worker was let go)"

step "the slow client then reads all of it, gzip-coded and intact"
rc=0
wait_exit "$SLOW" 40 || rc=$?
[ $rc = 0 ] || fail "the slow client exited $rc: $(cat "$T/slowread.log")"
assert_eq "$(cat "$T/slowread.log")" "HTTP/1.1 200 OK $N match gzip" "slow client: status, decoded length, sha256"
assert_cmp "$(($(now_ms) - t_sent))" ">=" 6000 "ms between the request and the end of the slow read"
alog_wait 2
entry=$(alog last path~=tag=slowz)
echo "   log: $entry"
assert_eq "$(json_get "$entry" 'd["compress"]')" gzip "the access log's compress field"
assert_cmp "$(json_get "$entry" 'd["delivery_ms"]')" ">" 3000 "delivery_ms (the client's time after the backend was let go)"
echo "ok"
