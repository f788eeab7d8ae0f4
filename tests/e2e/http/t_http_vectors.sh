#!/usr/bin/env bash
# t_http_vectors.sh: the differential HTTP check (tests/e2e/lib/http_vectors.py, table in
# docs/http-vectors.md): over 90 request vectors - smuggling variants, odd whitespace,
# duplicate fields, huge chunk sizes, chunk extensions, non-ASCII, absolute-form,
# CONNECT, OPTIONS *, HTTP/1.0, missing Host, obs-fold, bare LF, NUL bytes - each sent on
# a fresh connection to fulcrum in front of a recording backend. For each, the client
# gets the expected statuses (and the connection stays open or closes as expected),
# and the backend receives exactly the expected normalized requests, or nothing.
# It subsumes the former t_smuggling.sh (all of its vectors are here). The table pins
# the framing fields the backend gets as the client sent them, which is the streamed
# path: request buffering is off here (with it, the backend gets a Content-Length of the
# decoded body instead: t_buffer_slow_upload.sh; the parser refusing a vector is the same
# code either way).
# e2e: pairs, first
. "$(dirname "$0")/../lib/lib.sh"
need_fulcrum

ports P_WEB P_REC
REC=$T/received.bin
bg recbackend TERM "$PY" "$E2E_DIR/recbackend.py" --port "$P_REC" --record "$REC"
wait_listen "$P_REC" "$LAST_PID"

cfg=$T/fulcrum.cfg
{
	cfg_common
	cat <<EOF
listeners = ( { name = "web"; bind = "127.0.0.1:$P_WEB"; mode = "http"; pool = "rec";
                head_timeout_ms = 2000; idle_timeout_ms = 5000; head_max_bytes = 32768;
                header_max_count = 100; body_max_bytes = 1048576; } );
pools = ( { name = "rec"; health = { type = "none"; }; connect_timeout_ms = 1000;
            response_timeout_ms = 3000; retries = 1; buffering = { request = false; };
            backends = ( { name = "rec-1"; address = "127.0.0.1:$P_REC"; weight = 1; max_conns = 0; } ); } );
EOF
} >"$cfg"
start_fulcrum "$cfg" "$P_WEB"

step "request vectors"
rc=0
"$PY" "$E2E_DIR/http_vectors.py" run --port "$P_WEB" --record "$REC" || rc=$?
[ $rc -eq 0 ] || fail "some vectors did not give the expected outcome (BAD lines above)"
grep -aq "/admin" "$REC" && fail "a smuggled GET /admin reached the backend"
echo "ok"
