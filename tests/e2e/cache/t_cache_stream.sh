#!/usr/bin/env bash
# t_cache_stream.sh: requests coalesced behind a fetch get the response as it comes
# (issue 19: "all answered from it, also while it streams"). A Content-Length response
# that takes 3 s to arrive: requests that came before its head are given it at the head,
# those that come later join it, and every one has its first byte long before the fetch
# ends (also for a chunked response, whose length is known only at its end); gunicorn is
# asked once and every body is the fetcher's. When the backend breaks
# the connection mid-body, the requests reading along are cut short too (never a body
# passed off as whole), and the URL is not stored.
# e2e: pairs
. "$(dirname "$0")/../lib/lib.sh"
need_fulcrum

ports P_LB P_APP
bg app INT "$GUNICORN" -w 1 -k gthread --threads 16 -b "127.0.0.1:$P_APP" --chdir "$(dirname "$0")" \
	--graceful-timeout 2 --timeout 60 --access-logfile - --error-logfile - cache_app:app
wait_listen "$P_APP" "$LAST_PID" 20
wait_http "http://127.0.0.1:$P_APP/healthz" 20
cfg=$T/fulcrum.cfg
{
	E2E_WORKERS=2 cfg_common
	cat <<EOF2
listeners = ( { name = "web"; bind = "127.0.0.1:$P_LB"; pool = "app"; } );
pools = ( { name = "app"; health = { type = "none"; }; retries = 0;
            cache = { memory_bytes = 4194304; x_cache_header = "X-Cache"; };
            backends = ( { name = "a"; address = "127.0.0.1:$P_APP"; } ); } );
EOF2
} >"$cfg"
start_fulcrum "$cfg" "$P_LB"
u=http://127.0.0.1:$P_LB
count() { hcurl "http://127.0.0.1:$P_APP/count$1"; }
# get NAME URL: a request in the background (its pid added to $getters); its body in
# $T/NAME.body, its curl exit code, first-byte and total seconds in $T/NAME.out
getters=
get() {
	(
		set +e
		w=$(curl -sS --noproxy '*' --max-time 20 -o "$T/$1.body" -w '%{time_starttransfer} %{time_total}' "$2" 2>/dev/null)
		echo "$? $w" >"$T/$1.out"
	) &
	getters="$getters $!"
}

step "a slow response of known length: waiters and later requests read it as it comes"
drip="$u/drip/a?parts=4&gap=0.8&first=0.6"
get fetcher "$drip"
sleep 0.2
for i in 1 2 3; do get early$i "$drip"; done
sleep 1.2
for i in 1 2 3; do get late$i "$drip"; done
# shellcheck disable=SC2086 # (pids)
wait $getters
getters=
read -r rc _ total <"$T/fetcher.out"
assert_eq "$rc" 0 "the fetcher's request"
assert_cmp "$total" ">" 2.5 "the fetch took the app's 3 s ($total s)"
assert_eq "$(wc -c <"$T/fetcher.body")" 4000 "the fetcher's body"
for n in early1 early2 early3 late1 late2 late3; do
	read -r rc first total <"$T/$n.out"
	assert_eq "$rc" 0 "$n: complete"
	cmp -s "$T/fetcher.body" "$T/$n.body" || fail "$n: its body differs from the fetcher's"
	assert_cmp "$first" "<" 1.5 "$n: first byte at $first s, while the fetch went on (it ended at ~3 s)"
done
assert_eq "$(count /drip/a)" 1 "gunicorn answered once"
alog_wait 7 path~=/drip/a
assert_eq "$(alog count path~=/drip/a cache=coalesced)" 6 "access log: six coalesced"
assert_eq "$(hcurl -D "$T/h1" "$drip" | wc -c)" 4000 "the whole response is stored"
assert_contains "$(tr -d '\r' <"$T/h1")" "X-Cache: hit" "and is a hit"

step "a chunked response (no length) streams to them too"
chk="$u/drip/c?parts=4&gap=0.8&first=0.6&chunked=1"
get cfetcher "$chk"
sleep 0.2
get cearly "$chk"
sleep 1.2
get clate "$chk"
# shellcheck disable=SC2086 # (pids)
wait $getters
getters=
for n in cfetcher cearly clate; do
	read -r rc first _ <"$T/$n.out"
	assert_eq "$rc" 0 "$n: complete"
	assert_eq "$(wc -c <"$T/$n.body")" 4000 "$n: its body"
done
cmp -s "$T/cfetcher.body" "$T/cearly.body" && cmp -s "$T/cfetcher.body" "$T/clate.body" || fail "bodies differ"
for n in cearly clate; do
	read -r _ first _ <"$T/$n.out"
	assert_cmp "$first" "<" 1.5 "$n: first byte at $first s, while the chunked fetch went on"
done
assert_eq "$(count /drip/c)" 1 "gunicorn answered once"
assert_eq "$(hcurl "$chk" | wc -c)" 4000 "stored whole"

step "the backend breaks the connection mid-body: the readers along are cut short"
die="$u/drip/b?parts=3&gap=0.8&die=1"
get dfetcher "$die"
sleep 0.3
for i in 1 2; do get dlate$i "$die"; done
# shellcheck disable=SC2086 # (pids)
wait $getters
for n in dfetcher dlate1 dlate2; do
	read -r rc _ _ <"$T/$n.out"
	[ "$rc" != 0 ] || fail "$n: the transfer succeeded, a cut body passed off as whole"
	assert_cmp "$(wc -c <"$T/$n.body")" "<" 3000 "$n: short body"
done
assert_eq "$(count /drip/b)" 1 "one fetch"
hcurl -o /dev/null --max-time 10 "$die" || true
assert_eq "$(count /drip/b)" 2 "not stored: the next request fetches again"
