#!/usr/bin/env bash
# t_route_split.sh: a canary split (issue 20). A route spreads requests over the pools
# "stable" and "canary" (each one gunicorn) by weights 95/5: 2,000 requests give
# exactly 1,900 and 100 (the draw is counted, not random), each drawn answer carries
# the sticky cookie naming its pool; a client that sends the cookie stays on its pool
# and gets no new cookie; a cookie naming no pool of the split is drawn again.
# e2e: pairs
. "$(dirname "$0")/../lib/lib.sh"
need_fulcrum

ports P_LB P_STABLE P_CANARY
start_flask stable "$P_STABLE" 2
start_flask canary "$P_CANARY" 2
cfg=$T/fulcrum.cfg
{
	cfg_common
	cat <<EOF
listeners = ( { name = "web"; bind = "127.0.0.1:$P_LB";
  routes = ( { name = "app"; sticky_cookie = "fulcrum_pool";
               split = ( { pool = "stable"; weight = 95; }, { pool = "canary"; weight = 5; } ); } ); } );
pools = ( { name = "stable"; health = { type = "none"; }; backends = ( { name = "s"; address = "127.0.0.1:$P_STABLE"; } ); },
          { name = "canary"; health = { type = "none"; }; backends = ( { name = "c"; address = "127.0.0.1:$P_CANARY"; } ); } );
EOF
} >"$cfg"
start_fulcrum "$cfg" "$P_LB"

step "2,000 requests without a cookie: 95/5 exactly, each told its pool"
timeout 120 "$PY" - "$P_LB" >"$T/split.out" <<'PYEOF' || fail "the request loop failed: $(cat "$T/split.out")"
import http.client, sys, collections
port = int(sys.argv[1])
seen = collections.Counter()
bad = 0
conn = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
for i in range(2000):
    conn.request("GET", "/")
    r = conn.getresponse()
    body = r.read().decode().strip()          # "ok stable" / "ok canary"
    inst = body.split()[-1]
    cookie = r.getheader("Set-Cookie") or ""
    if cookie != "fulcrum_pool=%s; Path=/; HttpOnly; SameSite=Lax" % inst:
        bad += 1
    seen[inst] += 1
    if r.getheader("Connection", "").lower() == "close":
        conn.close()
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
print("stable=%d canary=%d bad_cookie=%d" % (seen["stable"], seen["canary"], bad))
PYEOF
out=$(cat "$T/split.out")
echo "   $out"
assert_eq "$out" "stable=1900 canary=100 bad_cookie=0" "split of 2,000 requests"

step "the cookie keeps a client on its pool"
for i in 1 2 3 4 5 6 7 8 9 10; do
	out=$(hcurl -D "$T/h$i" -H 'Cookie: theme=dark; fulcrum_pool=canary' "http://127.0.0.1:$P_LB/")
	assert_eq "$out" "ok canary" "request $i with the canary cookie"
	assert_not_contains "$(cat "$T/h$i")" "Set-Cookie" "a sticky client is not told again"
done
out=$(hcurl -D "$T/hx" -H 'Cookie: fulcrum_pool=nope' "http://127.0.0.1:$P_LB/")
assert_contains "$(cat "$T/hx")" "Set-Cookie: fulcrum_pool=" "a cookie naming no pool is drawn again"
assert_contains "$(cat "$T/hx")" "Set-Cookie: fulcrum_pool=${out#ok }" "... and told the pool that answered"
echo ok
