#!/usr/bin/env bash
# t_error_pages.sh: a listener's error pages replace the JSON body of the answers fulcrum
# makes itself (issue 20). A pool whose only backend refuses connections answers 503: a
# browser (Accept: text/html) gets the HTML page, an API client the JSON page, a client
# without Accept the first page; a 404 for no route gets its own page; an answer of the
# app (a 503 from gunicorn) is never replaced. A missing page file is reported by -t
# with its line and refuses a reload, the running pages staying.
# e2e: pairs
. "$(dirname "$0")/../lib/lib.sh"
need_fulcrum

ports P_LB P_APP P_DEAD
start_flask app "$P_APP" 1
mkdir -p "$T/errors"
echo '<html><body>We are busy - try again</body></html>' >"$T/errors/5xx.html"
echo '{"error":"busy"}' >"$T/errors/5xx.json"
echo '<html>no such page</html>' >"$T/errors/404.html"
cfg=$T/fulcrum.cfg
write_cfg() {
	{
		cfg_common
		cat <<EOF
listeners = ( { name = "web"; bind = "127.0.0.1:$P_LB";
  error_pages = ( { status = "502-504"; file = "$1"; },
                  { status = "502-504"; file = "$T/errors/5xx.json"; content_type = "application/json"; },
                  { status = "404"; file = "$T/errors/404.html"; } );
  routes = ( { name = "app"; path_prefix = "/app/"; strip_prefix = "/app"; pool = "app"; },
             { name = "dead"; path_prefix = "/dead/"; pool = "dead"; } ); } );
pools = ( { name = "app"; health = { type = "none"; }; backends = ( { name = "a"; address = "127.0.0.1:$P_APP"; } ); },
          { name = "dead"; health = { type = "none"; }; retries = 0;
            backends = ( { name = "d"; address = "127.0.0.1:$P_DEAD"; } ); } );
EOF
	} >"$cfg.new"
	mv -f "$cfg.new" "$cfg"
}
write_cfg "$T/errors/5xx.html"
start_fulcrum "$cfg" "$P_LB"
u=http://127.0.0.1:$P_LB

step "fulcrum's 503: the page the client's Accept names"
out=$(hcurl -D "$T/h1" -H 'Accept: text/html,application/xhtml+xml;q=0.9' "$u/dead/x")
assert_contains "$(head -n 1 "$T/h1")" " 503" "status"
assert_contains "$out" "We are busy" "browser's page"
assert_contains "$(tr -d '\r' <"$T/h1")" "Content-Type: text/html; charset=utf-8" "its type"
assert_contains "$(tr -d '\r' <"$T/h1")" "Retry-After: 1" "Retry-After kept"
out=$(hcurl -H 'Accept: application/json' "$u/dead/x")
assert_eq "$out" '{"error":"busy"}' "API client's page"
out=$(hcurl -H 'Accept:' "$u/dead/x")
assert_contains "$out" "We are busy" "no Accept: the first page"

step "404 for no route; the app's own answers are left alone"
out=$(hcurl -D "$T/h2" "$u/elsewhere")
assert_contains "$(head -n 1 "$T/h2")" " 404" "no route"
assert_eq "$out" "<html>no such page</html>" "404 page"
out=$(hcurl -D "$T/h3" -H 'Accept: text/html' "$u/app/status/503")
assert_contains "$(head -n 1 "$T/h3")" " 503" "the app's 503"
assert_not_contains "$out" "We are busy" "the app's 503 body"

step "a missing page: -t says where, a reload is refused, the pages stay"
write_cfg "$T/errors/missing.html"
"$FULCRUM" -t -c "$cfg" >"$T/t.out" 2>&1 && fail "-t accepted a missing error page"
assert_contains "$(cat "$T/t.out")" "missing.html" "-t names the file"
assert_match "$(cat "$T/t.out")" "fulcrum.cfg:[0-9]+: listeners.web.error_pages.file" "-t gives file:line"
kill -HUP "$FULCRUM_PID"
for ((i = 0; i < 30; i++)); do
	grep -q "missing.html" "$T/fulcrum.log" && break
	sleep 0.1
done
grep -q "missing.html" "$T/fulcrum.log" || fail "no log line about the refused reload"
out=$(hcurl -H 'Accept: text/html' "$u/dead/x")
assert_contains "$out" "We are busy" "the running pages after the refused reload"
echo ok
