#!/usr/bin/env bash
# t_buffer_slow_reader.sh: response buffering (issue 24). Two clients with a 4 KiB
# receive window, one over plain HTTP and one over TLS, ask for 4 MiB each and read
# nothing for 8 s. fulcrum takes each whole response off the only gunicorn sync worker
# (max_conns = 1) as fast as it comes, so the worker and the slot are free again at
# once: a third request meanwhile is answered within 1 s. Then the slow clients read
# everything, intact (over TLS, with writes that had blocked mid-record), and the time
# the backend was spared is counted in fulcrum_pool_backend_seconds_saved_total.
. "$(dirname "$0")/../lib/lib.sh"
. "$E2E_DIR/tls_lib.sh"
need_fulcrum

ports P_LB P_TLS P_CTL P_BE
tls_ca ca
tls_cert site ca ec "/O=site/CN=a.test" "DNS:a.test"
start_flask web "$P_BE" 1 --access-logfile "$T/gunicorn-access.log"
echo "metrics-token-0123456789abcdef" >"$T/token"
chmod 600 "$T/token"
cfg=$T/fulcrum.cfg
{
	cfg_common
	cat <<EOF
control = { listen = "127.0.0.1:$P_CTL"; token_file = "$T/token"; };
listeners = ( { name = "web"; bind = "127.0.0.1:$P_LB"; mode = "http"; pool = "flask"; },
              { name = "tls"; bind = "127.0.0.1:$P_TLS"; mode = "http"; pool = "flask";
                tls = { certificates = ( { cert = "$T/site.crt"; key = "$T/site.key"; } ); }; } );
EOF
	one_worker_pool
} >"$cfg"
start_fulcrum "$cfg" "$P_LB" "$P_TLS" "$P_CTL"
N=$((4 * 1024 * 1024))

step "two clients with SO_RCVBUF 4096 (plain, TLS) ask for 4 MiB and read nothing for 8 s"
bg slowread TERM "$PY" "$E2E_DIR/slowread.py" --port "$P_LB" --bytes "$N" --rcvbuf 4096 \
	--pause 8 --ready "$T/slow.sent" --tag slow --timeout 30
SLOW=$LAST_PID
bg slowtls TERM "$PY" "$E2E_DIR/slowread.py" --port "$P_TLS" --tls "$T/ca.crt" --bytes "$N" \
	--rcvbuf 4096 --pause 8 --ready "$T/slowtls.sent" --tag slowtls --timeout 30
SLOWTLS=$LAST_PID
wait_file "$T/slow.sent" "$T/slowtls.sent" || true
[ -e "$T/slow.sent" ] || fail "the slow client did not send its request: $(cat "$T/slowread.log")"
[ -e "$T/slowtls.sent" ] || fail "the slow TLS client did not send its request: $(cat "$T/slowtls.log")"
t_sent=$(now_ms)
# gunicorn finishes (and logs) each 4 MiB at once, into fulcrum (buffered) or, unbuffered,
# mostly into socket buffers; unbuffered, fulcrum still holds the backend connection and
# the pool's only slot until the client has read it all. Wait a little, without judging.
for ((i = 0; i < 30; i++)); do
	[ "$(grep -c 'tag=slow' "$T/gunicorn-access.log" 2>/dev/null)" = 2 ] && break
	sleep 0.1
done
echo "   gunicorn logged the slow clients' responses: $(grep -c 'tag=slow' "$T/gunicorn-access.log" || true)" \
	"($(($(now_ms) - t_sent)) ms after they were sent)"

step "meanwhile a third request is answered within 1 s"
out=$(curl -s --noproxy '*' --max-time 5 -o /dev/null -w '%{http_code} %{time_total}' \
	"http://127.0.0.1:$P_LB/sleep?ms=1&tag=third" || true)
echo "   third request: status and seconds: $out"
kill -0 "$SLOW" 2>/dev/null || fail "the slow client ended before it was meant to read: $(cat "$T/slowread.log")"
kill -0 "$SLOWTLS" 2>/dev/null || fail "the slow TLS client ended before it was meant to read: $(cat "$T/slowtls.log")"
assert_eq "${out%% *}" 200 "status of a request while the slow clients read nothing (unbuffered, the pool's only slot stays held)"
assert_cmp "${out##* }" "<" 1.0 "seconds to answer it"
grep -q 'tag=third' "$T/gunicorn-access.log" || fail "gunicorn did not log the third request"

step "the slow clients then read all of it, intact"
rc=0
wait_exit "$SLOW" 30 || rc=$?
[ $rc = 0 ] || fail "the slow client exited $rc: $(cat "$T/slowread.log")"
assert_eq "$(cat "$T/slowread.log")" "HTTP/1.1 200 OK $N match" "slow client: status, length, sha256"
rc=0
wait_exit "$SLOWTLS" 30 || rc=$?
[ $rc = 0 ] || fail "the slow TLS client exited $rc: $(cat "$T/slowtls.log")"
assert_eq "$(cat "$T/slowtls.log")" "HTTP/1.1 200 OK $N match" "slow TLS client: status, length, sha256"
assert_cmp "$(($(now_ms) - t_sent))" ">=" 8000 "ms between the request and the end of the slow read (it paused 8 s)"

step "the backend time spared is counted"
m=$(curl -s -H "Authorization: Bearer $(cat "$T/token")" "http://127.0.0.1:$P_CTL/metrics" |
	grep '^fulcrum_pool_backend_seconds_saved_total{pool="flask"}' || true)
echo "   ${m:-no fulcrum_pool_backend_seconds_saved_total}"
[ -n "$m" ] || fail "no fulcrum_pool_backend_seconds_saved_total{pool=\"flask\"} in /metrics"
assert_cmp "${m##* }" ">" 0 "fulcrum_pool_backend_seconds_saved_total after an 8 s slow read"
echo "ok"
