#!/usr/bin/env bash
# t_route_error_pages.sh: a route's own error pages (issue 20). The route "dead" (a pool
# whose only backend refuses connections) has its own 503 pages, HTML and JSON: a client
# gets the one its Accept names. The route "other" (also dead) has none: the listener's
# page. A static route's 404 and 403 come from its own page and keep keep-alive; its
# 405 (no page of that status anywhere) keeps its plain-text body. A fixed answer's
# body_file ("down", the maintenance page of DESIGN.md's example) is served with the
# answer's status and type. -t checks a route's page file and names its route, and
# refuses a body_file that cannot be read.
# e2e: pairs
. "$(dirname "$0")/../lib/lib.sh"
need_fulcrum

ports P_LB P_DEAD
mkdir -p "$T/errors" "$T/www/locked"
echo '<html>listener page</html>' >"$T/errors/l503.html"
echo '<html>dead route page</html>' >"$T/errors/r503.html"
echo '{"error":"dead route"}' >"$T/errors/r503.json"
echo '<html>static: no such file</html>' >"$T/errors/s404.html"
echo 'hello' >"$T/www/hello.txt"
printf '<html>down for maintenance</html>\n' >"$T/errors/maint.html"
echo 'secret' >"$T/www/locked/x.txt"
chmod 000 "$T/www/locked"
cfg=$T/fulcrum.cfg
write_cfg() {
	local maint=${2:-$T/errors/maint.html}
	{
		cfg_common
		cat <<EOF
listeners = ( { name = "web"; bind = "127.0.0.1:$P_LB";
  error_pages = ( { status = "503"; file = "$T/errors/l503.html"; } );
  routes = ( { name = "dead"; path_prefix = "/dead/"; pool = "dead";
               error_pages = ( { status = "503"; file = "$1"; },
                               { status = "503"; file = "$T/errors/r503.json"; content_type = "application/json"; } ); },
             { name = "other"; path_prefix = "/other/"; pool = "dead"; },
             { name = "down"; path = "/maintenance";
               respond = { status = 503; body_file = "$maint"; content_type = "text/html"; }; },
             { name = "files"; path_prefix = "/files/"; static = { root = "$T/www"; strip_prefix = "/files"; };
               error_pages = ( { status = "403-404"; file = "$T/errors/s404.html"; } ); } ); } );
pools = ( { name = "dead"; health = { type = "none"; }; retries = 0;
            backends = ( { name = "d"; address = "127.0.0.1:$P_DEAD"; } ); } );
EOF
	} >"$cfg.new"
	mv -f "$cfg.new" "$cfg"
}
write_cfg "$T/errors/r503.html"
start_fulcrum "$cfg" "$P_LB"
u=http://127.0.0.1:$P_LB

step "the route's page by Accept; another route falls back to the listener's"
out=$(hcurl -D "$T/h1" -H 'Accept: text/html' "$u/dead/x")
assert_contains "$(head -n 1 "$T/h1")" " 503" "status"
assert_eq "$out" "<html>dead route page</html>" "route's HTML page"
out=$(hcurl -D "$T/h2" -H 'Accept: application/json' "$u/dead/x")
assert_eq "$out" '{"error":"dead route"}' "route's JSON page"
assert_contains "$(tr -d '\r' <"$T/h2")" "Content-Type: application/json" "its type"
out=$(hcurl -H 'Accept: text/html' "$u/other/x")
assert_eq "$out" "<html>listener page</html>" "a route without pages: the listener's"

step "a static route's errors go through its pages, keep-alive kept"
out=$(hcurl -D "$T/h3" "$u/files/nope.txt")
assert_contains "$(head -n 1 "$T/h3")" " 404" "static 404"
assert_eq "$out" "<html>static: no such file</html>" "static 404 page"
assert_contains "$(tr -d '\r' <"$T/h3")" "Content-Type: text/html; charset=utf-8" "its type"
if [ "$(id -u)" != 0 ]; then
	out=$(hcurl -D "$T/h4" "$u/files/locked/x.txt")
	assert_contains "$(head -n 1 "$T/h4")" " 403" "static 403"
	assert_eq "$out" "<html>static: no such file</html>" "static 403 page"
fi
# two requests on one connection: the 404 does not end it
out=$(hcurl -w '%{num_connects}\n' "$u/files/nope.txt" -o /dev/null "$u/files/hello.txt" -o /dev/null)
assert_eq "$(echo "$out" | tr '\n' ' ')" "1 0 " "one connection for a 404 and a 200"
out=$(hcurl -X POST "$u/files/hello.txt")
assert_eq "$out" "method not allowed" "a status without a page keeps its body"

step "a fixed answer's body from its body_file"
out=$(hcurl -D "$T/h5" "$u/maintenance")
assert_contains "$(head -n 1 "$T/h5")" " 503" "the answer's status"
assert_eq "$out" "<html>down for maintenance</html>" "the file's body"
assert_contains "$(tr -d '\r' <"$T/h5")" "Content-Type: text/html" "the answer's type"

step "-t checks a route's page file"
write_cfg "$T/errors/missing.html"
"$FULCRUM" -t -c "$cfg" >"$T/t.out" 2>&1 && fail "-t accepted a missing route error page"
assert_match "$(cat "$T/t.out")" "fulcrum.cfg:[0-9]+: listeners.web.routes.dead.error_pages.file: .*missing.html" "-t gives file:line and the route"
write_cfg "$T/errors/r503.html" "$T/errors/gone.html"
"$FULCRUM" -t -c "$cfg" >"$T/t.out" 2>&1 && fail "-t accepted a missing body_file"
assert_match "$(cat "$T/t.out")" "fulcrum.cfg:[0-9]+: listeners.web.routes.down.respond.body_file: .*gone.html" "-t names the body_file"
chmod 755 "$T/www/locked"
echo ok
