#!/usr/bin/env bash
# t_status_page_stub.sh: the status page in headless chromium against fake_stats.py (the
# page file served as fulcrum serves it, v1/stats per the metrics contract, the control
# calls the page makes): it asks for the token, renders every backend with requests/s,
# error rate, p99 and history, shows down, warming and draining backends each in its own
# look and a backend whose name and health reason are HTML as plain text; its Drain,
# Enable and Weight buttons make exactly the API calls that change the backend, and an
# out-of-range weight and a refused drain show their error; the cluster line names every
# replica and marks the one behind the latest revision. t_status_page runs the same
# checks (but the stand-in's extra backends) against the real fulcrum.
# e2e: pairs
. "$(dirname "$0")/../lib/lib.sh"
. "$E2E_DIR/browser_lib.sh"

start_browser
ports P_FAKE
TOKEN=stub-$(od -An -N8 -tx8 /dev/urandom | tr -d ' ')
HOSTILE=$("$PY" -c 'import sys; sys.path.insert(0, sys.argv[1]); import fake_stats; print(fake_stats.HOSTILE_NAME)' "$E2E_DIR")
bg fake_stats TERM "$PY" "$E2E_DIR/fake_stats.py" --port "$P_FAKE" --token "$TOKEN" --hostile
wait_listen "$P_FAKE" "$LAST_PID" 15

step "the page in the browser: token, rendering, drain, enable, weight, refused token"
browser_run check --page "http://127.0.0.1:$P_FAKE/" --token "$TOKEN" --pool flask \
	--expect web-1,web-2,web-3 --cluster "r1 (this one),r2,r3:behind" --drain web-2 --errors web-3 --hostile "$HOSTILE" --states api/api-2=down,api/api-3=warming --refused api/api-2 --shot "$T/page.png"

step "the page made exactly the calls for drain, enable and weight"
actions=$(hcurl -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$P_FAKE/v1/actions")
assert_eq "$(json_get "$actions" 'd["actions"]')" \
	'[["drain", "flask", "web-2"], ["put", "flask", "web-2", {"state": "active"}], ["put", "flask", "web-2", {"weight": 7}]]' \
	"actions recorded by the stub"
