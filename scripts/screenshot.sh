#!/usr/bin/env bash
# screenshot.sh: `make screenshot`: docs/status-page.png, the status page of a real
# fulcrum in headless chromium, with live backends in every state and traffic: in pool
# flask web-1 and web-2 up, web-3 up but slower and answering some 500s, web-4 warming
# (added through the API with slow start), web-5 down (nothing listens); pool api with
# one backend on its own listener. The page is left to gather SETTLE_S seconds (default
# 90) of history first.
# It reuses the e2e harness and helpers of tests/e2e/lib.
#   scripts/screenshot.sh [OUT.png]            (FULCRUM as for the e2e tests)
#   scripts/screenshot.sh --stub [OUT.png]     against fake_stats.py instead
. "$(dirname "$0")/../tests/e2e/lib/lib.sh"
. "$E2E_DIR/ctl_lib.sh"
. "$E2E_DIR/browser_lib.sh"

stub=0
if [ "${1:-}" = --stub ]; then
	stub=1
	shift
fi
out=$(realpath -m "${1:-$REPO_DIR/docs/status-page.png}")
CI=true   # no browser here is an error, never a skip

start_browser
if [ $stub = 1 ]; then
	ports P_CTL
	bg fake_stats TERM "$PY" "$E2E_DIR/fake_stats.py" --port "$P_CTL" --token "$TOKEN"
	wait_listen "$P_CTL" "$LAST_PID" 15
else
	need_fulcrum
	ports P_WEB P_API P_CTL P_A P_B P_C P_D P_E P_F
	for i in 1 2 3 4; do
		p=$(eval echo "\$P_$(echo ABCD | cut -c$i)")
		start_flask "web-$i" "$p" 2 -k gthread --threads 8
	done
	start_flask api-1 "$P_F" 2 -k gthread --threads 8
	echo 3 >"$T/slow.web-3"
	{
		cfg_common
		cfg_control "$P_CTL"
		cat <<EOF
listeners = ( { name = "web"; bind = "127.0.0.1:$P_WEB"; mode = "http"; pool = "flask"; },
              { name = "api"; bind = "127.0.0.1:$P_API"; mode = "http"; pool = "api"; } );
pools = ( { name = "flask"; slow_start_s = 240;
            health = { type = "http"; path = "/healthz"; interval_ms = 1000; timeout_ms = 2000; rise = 1; fall = 2; };
            passive = { error_status = ""; };
            backends = ( { name = "web-1"; address = "127.0.0.1:$P_A"; weight = 4; max_conns = 16; },
                         { name = "web-2"; address = "127.0.0.1:$P_B"; weight = 4; max_conns = 16; },
                         { name = "web-3"; address = "127.0.0.1:$P_C"; weight = 2; max_conns = 8; },
                         { name = "web-5"; address = "127.0.0.1:$P_E"; weight = 2; max_conns = 8; } ); },
          { name = "api";
            health = { type = "http"; path = "/healthz"; interval_ms = 1000; timeout_ms = 2000; rise = 1; fall = 2; };
            backends = ( { name = "api-1"; address = "127.0.0.1:$P_F"; weight = 1; max_conns = 32; } ); } );
EOF
	} >"$T/fulcrum.cfg"
	start_fulcrum "$T/fulcrum.cfg" "$P_WEB" "$P_API" "$P_CTL"
	wait_http "http://127.0.0.1:$P_WEB/healthz" 20
	st=$(api GET /v1/stats)
	[ "$st" = 200 ] || fail "GET /v1/stats answers $st: this fulcrum has no metrics (use --stub for a stand-in)"
	bg load-web TERM "$PY" "$E2E_DIR/hload.py" run --port "$P_WEB" --clients 6 --duration 600 --path "/work?ms=15" --pause 0.02
	bg load-err TERM "$PY" "$E2E_DIR/hload.py" run --port "$P_WEB" --clients 1 --duration 600 --path "/status/500" --pause 0.4
	bg load-api TERM "$PY" "$E2E_DIR/hload.py" run --port "$P_API" --clients 2 --duration 600 --path "/work?ms=3" --pause 0.05
fi

if [ $stub = 0 ]; then
	# web-4 joins a while after the page opens, so that it is warming in the picture
	( sleep $(( ${SETTLE_S:-90} / 2 )); api PUT /v1/pools/flask/backends/web-4 -d "{\"address\":\"127.0.0.1:$P_D\",\"weight\":4,\"max_conns\":16}" >/dev/null ) &
fi
step "screenshot after ${SETTLE_S:-90} s of history"
browser_run screenshot --page "http://127.0.0.1:$P_CTL/" --token "$TOKEN" --out "$T/shot.png" --settle "${SETTLE_S:-90}"
mkdir -p "$(dirname "$out")"
cp "$T/shot.png" "$out"
echo "wrote $out"
