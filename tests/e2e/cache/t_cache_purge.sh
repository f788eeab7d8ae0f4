#!/usr/bin/env bash
# t_cache_purge.sh: purging a pool's cache (issue 19): POST /v1/pools/{pool}/cache/purge
# with {"url"}, {"prefix"} (an absolute URL's, or a path's on any host) or {"tag"}
# (Cache-Tag), and `fulcrumctl cache purge POOL --url|--prefix|--tag`; a purged URL is
# fetched again, the others stay hits. Bad calls (no cache, unknown pool, two fields, a
# relative URL, a hook token of another pool) get JSON errors and purge nothing; the
# pool's own hook token may purge. /metrics and /v1/stats show the cache's counters.
# e2e: pairs
. "$(dirname "$0")/../lib/lib.sh"
. "$E2E_DIR/ctl_lib.sh"
need_fulcrum

ports P_LB P_APP P_CTL
bg app INT "$GUNICORN" -w 1 -k gthread --threads 8 -b "127.0.0.1:$P_APP" --chdir "$(dirname "$0")" \
	--graceful-timeout 2 --timeout 60 --access-logfile - --error-logfile - cache_app:app
wait_listen "$P_APP" "$LAST_PID" 20
wait_http "http://127.0.0.1:$P_APP/healthz" 20
mkdir -p "$T/tokens"
printf 'app-%s\n' "$TOKEN" >"$T/tokens/apphook"
printf 'other-%s\n' "$TOKEN" >"$T/tokens/otherhook"
chmod 600 "$T/tokens/apphook" "$T/tokens/otherhook"
cfg=$T/fulcrum.cfg
{
	cfg_common
	cat <<EOF2
control = { listen = "127.0.0.1:$P_CTL"; token_file = "$T/token"; token_dir = "$T/tokens";
            tokens = ( { name = "apphook"; scope = "backends"; pools = ( "app" ); },
                       { name = "otherhook"; scope = "backends"; pools = ( "plain" ); } ); };
listeners = ( { name = "web"; bind = "127.0.0.1:$P_LB"; pool = "app";
                routes = ( { name = "plain"; path_prefix = "/plain/"; strip_prefix = "/plain"; pool = "plain"; } ); } );
pools = ( { name = "app"; health = { type = "none"; }; cache = { memory_bytes = 4194304; };
            backends = ( { name = "a"; address = "127.0.0.1:$P_APP"; } ); },
          { name = "plain"; health = { type = "none"; }; backends = ( { name = "b"; address = "127.0.0.1:$P_APP"; } ); } );
EOF2
} >"$cfg"
start_fulcrum "$cfg" "$P_LB" "$P_CTL"
u=http://127.0.0.1:$P_LB
host=127.0.0.1:$P_LB
count() { hcurl "http://127.0.0.1:$P_APP/count$1"; }
# fill PATH...: each asked twice (the second is a hit)
fill() { local p; for p in "$@"; do hcurl -o /dev/null "$u$p"; hcurl -o /dev/null "$u$p"; done; }
ma=max-age=300

fill "/cc/a?cc=$ma" "/cc/b?cc=$ma" "/cc/x?cc=$ma&tag=1"
assert_eq "$(count /cc/a)$(count /cc/b)" "11" "stored: one fetch each"

step "purge one URL through the API"
assert_eq "$(api POST /v1/pools/app/cache/purge -d "{\"url\": \"http://$host/cc/a?cc=$ma\"}")" 200 "purge url"
assert_eq "$(json_get "$(cat "$T/api.body")" 'd["purged"]')" 1 "one object purged"
fill "/cc/a?cc=$ma" "/cc/b?cc=$ma"
assert_eq "$(count /cc/a)$(count /cc/b)" "21" "the purged URL was fetched again, the other stayed"

step "purge a path prefix on any host with fulcrumctl"
assert_eq "$(ctl_rc cache purge app --prefix /cc/)" 0 "fulcrumctl cache purge --prefix"
assert_contains "$(cat "$T/ctl.out")" "pool app: 3 purged" "fulcrumctl's summary"
fill "/cc/a?cc=$ma"
assert_eq "$(count /cc/a)" 3 "fetched again after the prefix purge"

step "purge by tag"
hcurl -o /dev/null "$u/tag/t1?tag=red"
hcurl -o /dev/null "$u/tag/t2?tag=blue"
assert_eq "$(ctl_rc cache purge app --tag red)" 0 "fulcrumctl cache purge --tag"
assert_contains "$(cat "$T/ctl.out")" "1 purged" "one tagged object"
hcurl -o /dev/null "$u/tag/t1?tag=red"
hcurl -o /dev/null "$u/tag/t2?tag=blue"
assert_eq "$(count /tag/t1)$(count /tag/t2)" "21" "the red one fetched again, the blue one a hit"

step "bad calls change nothing"
assert_eq "$(api POST /v1/pools/plain/cache/purge -d '{"tag": "blue"}')" 409 "a pool without a cache"
assert_error_json "$T/api.body"
assert_eq "$(api POST /v1/pools/nope/cache/purge -d '{"tag": "blue"}')" 404 "an unknown pool"
assert_error_json "$T/api.body"
assert_eq "$(api POST /v1/pools/app/cache/purge -d '{"tag": "blue", "url": "/x"}')" 400 "two fields"
assert_error_json "$T/api.body"
assert_eq "$(api POST /v1/pools/app/cache/purge -d '{"url": "cc/a"}')" 400 "a relative URL"
assert_eq "$(ctl_rc cache purge app)" 2 "fulcrumctl without --url, --prefix or --tag"
# hook_purge TOKEN BODY: the status of a purge of pool app with that token
hook_purge() {
	http_status_body "$T/api.body" "http://127.0.0.1:$P_CTL/v1/pools/app/cache/purge" -X POST \
		-H "Content-Type: application/json" -H "Authorization: Bearer $1" -d "$2"
}
assert_eq "$(hook_purge "other-$TOKEN" '{"tag": "blue"}')" 403 "a hook token of another pool"
assert_error_json "$T/api.body"
hcurl -o /dev/null "$u/tag/t2?tag=blue"
assert_eq "$(count /tag/t2)" 1 "the blue one is still a hit"
assert_eq "$(hook_purge "app-$TOKEN" '{"tag": "nothing-has-it"}')" 200 "the pool's own hook token may purge"

step "/metrics"
m=$(hcurl -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$P_CTL/metrics")
assert_match "$(printf '%s\n' "$m" | grep '^fulcrum_cache_hits_total{pool="app"}')" ' [1-9][0-9]*$' "hits"
assert_contains "$m" 'fulcrum_cache_purges_total{pool="app"} 5' "purges"
assert_contains "$m" 'fulcrum_cache_objects{pool="app"} ' "objects"
assert_not_contains "$m" 'fulcrum_cache_hits_total{pool="plain"}' "a pool without a cache has none"
printf '%s\n' "$m" >"$T/metrics.txt"
"$PY" "$E2E_DIR/promparse.py" check "$T/metrics.txt" >"$T/promparse.out" 2>&1 ||
	fail "the strict parser rejects /metrics: $(head -c 1500 "$T/promparse.out")"
st=$(hcurl -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$P_CTL/v1/stats")
assert_eq "$(json_get "$st" '[p["cache"]["hits"] > 0 for p in d["pools"] if p["name"] == "app"][0]')" true \
	"/v1/stats carries the cache's counters (the status page's hit share)"
assert_eq "$(json_get "$st" '[("cache" in p) for p in d["pools"] if p["name"] == "plain"][0]')" false \
	"and none for a pool without a cache"
if command -v promtool >/dev/null; then
	printf '%s\n' "$m" | promtool check metrics >"$T/promtool.out" 2>&1 || fail "promtool: $(cat "$T/promtool.out")"
fi
