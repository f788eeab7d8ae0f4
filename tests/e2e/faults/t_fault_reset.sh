#!/usr/bin/env bash
# t_fault_reset.sh: a backend resets the connection in the middle of a response (after
# 1000 of 100000 promised bytes, or inside a chunked body). The client gets a clean
# error, not a hang: the head and the bytes that came, then its connection closed, so
# the response is visibly short (curl: exit 18, partial transfer) within a second or
# two; the request is not replayed (its response had begun). Meanwhile continuous load
# on another listener goes on without a single failure.
. "$(dirname "$0")/../lib/lib.sh"
. "$(dirname "$0")/../lib/health_lib.sh"
. "$(dirname "$0")/../lib/fault_lib.sh"
need_fulcrum

ports P_WEB P_RST P_RSTC P1 P2 P_B1 P_B2
start_flask web-1 "$P1" 3
start_flask web-2 "$P2" 3
bg reset TERM "$PY" "$E2E_DIR/recbackend.py" --port "$P_B1" --record "$T/reset.bin" --mode reset
wait_listen "$P_B1" "$LAST_PID"
bg resetc TERM "$PY" "$E2E_DIR/recbackend.py" --port "$P_B2" --record "$T/resetc.bin" --mode reset-chunked
wait_listen "$P_B2" "$LAST_PID"

cfg=$T/fulcrum.cfg
{
	cfg_common
	cat <<CFG
listeners = ( { name = "web"; bind = "127.0.0.1:$P_WEB"; mode = "http"; pool = "flask"; },
              { name = "rst"; bind = "127.0.0.1:$P_RST"; mode = "http"; pool = "rst"; },
              { name = "rstc"; bind = "127.0.0.1:$P_RSTC"; mode = "http"; pool = "rstc"; } );
pools = ( { name = "flask"; health = { type = "none"; }; connect_timeout_ms = 1000; response_timeout_ms = 10000;
            retries = 1;
            backends = ( { name = "web-1"; address = "127.0.0.1:$P1"; max_conns = 3; },
                         { name = "web-2"; address = "127.0.0.1:$P2"; max_conns = 3; } ); },
          { name = "rst"; health = { type = "none"; }; passive = { errors = 0; }; retries = 1;
            backends = ( { name = "rst-1"; address = "127.0.0.1:$P_B1"; } ); },
          { name = "rstc"; health = { type = "none"; }; passive = { errors = 0; }; retries = 1;
            backends = ( { name = "rstc-1"; address = "127.0.0.1:$P_B2"; } ); } );
CFG
} >"$cfg"
start_fulcrum "$cfg" "$P_WEB" "$P_RST" "$P_RSTC"

# the load ends once the resets are done (60 s only bounds it)
step "continuous load: 4 keep-alive clients on /work while the backends reset"
load_start load 4 60
sleep 1

for kind in rst:Content-Length rstc:chunked; do
	port=$P_RST
	rec=$T/reset.bin
	[ "${kind%%:*}" = rstc ] && port=$P_RSTC rec=$T/resetc.bin
	step "backend resets in the middle of a ${kind#*:} body: 5 GETs"
	for i in 1 2 3 4 5; do
		rc=0
		out=$(curl -sS --noproxy '*' --max-time 10 -o "$T/body" -w '%{http_code} %{time_total} %{size_download}' \
			"http://127.0.0.1:$port/cut/$i" 2>"$T/curl.err") || rc=$?
		echo "   GET /cut/$i: curl exit $rc, status/time/bytes $out: $(head -c 120 "$T/curl.err")"
		read -r st secs bytes <<<"$out"
		assert_eq "$st" 200 "status of the response the backend began"
		assert_eq "$rc" 18 "curl exit (18 = partial transfer: the cut is visible)"
		assert_cmp "$secs" "<" 3 "seconds until the client saw the cut"
		assert_cmp "$bytes" ">=" 1000 "body bytes that reached the client before the cut"
		assert_cmp "$bytes" "<" 100000 "body bytes (short of what was promised)"
	done
	n=$(grep -ac 'GET /cut/' "$rec" || true)
	assert_eq "$n" 5 "requests the resetting backend received (none replayed after its response began)"
done

load_stop
load_check load 100
alog_wait 5 listener=rst
alog_wait 5 listener=rstc
for l in rst rstc; do
	terms=$(alog group termination listener=$l)
	echo "   access log, listener $l: $terms"
	assert_eq "$(json_get "$terms" 'sum(d.values()) - d.get("done", 0)')" 5 "requests on $l not logged as done"
done
echo "ok"
