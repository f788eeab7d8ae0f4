#!/usr/bin/env bash
# t_adaptive_limit.sh: the users' scenario with nothing tuned. Flask instances with 4/2/1
# sync workers (~20 ms per /work), no weights, no max_conns, adaptive_limit = true, 24
# concurrent clients. fulcrum must learn the limits from response times alone: no request
# fails, the one-worker instance never sees the pile-up plain least-connections gives it
# (about 24 / 3 = 8 in flight), the learned limits reported by the control API stay near
# the worker counts (web-3 at its single worker), and web-1 serves more than web-3.
# Also: a tcp listener cannot use a pool with adaptive_limit (configuration error).
. "$(dirname "$0")/../lib/lib.sh"
need_fulcrum
. "$(dirname "$0")/../lib/ctl_lib.sh"

ports P_WEB P_CTL P_TCP P1 P2 P3
start_flask web-1 "$P1" 4
start_flask web-2 "$P2" 2
start_flask web-3 "$P3" 1

step "a tcp listener on an adaptive pool is refused"
cat >"$T/bad.cfg" <<EOF
$(cfg_common)
listeners = ( { name = "raw"; bind = "127.0.0.1:$P_TCP"; mode = "tcp"; pool = "flask"; } );
pools = ( { name = "flask"; adaptive_limit = true;
            backends = ( { name = "web-1"; address = "127.0.0.1:$P1"; } ); } );
EOF
rc=0
"$FULCRUM" -t -c "$T/bad.cfg" >"$T/bad.out" 2>&1 || rc=$?
[ "$rc" != 0 ] || fail "fulcrum -t accepted a tcp listener on a pool with adaptive_limit"
assert_contains "$(cat "$T/bad.out")" "adaptive_limit" "the error names the key"

cat >"$T/fulcrum.cfg" <<EOF
$(cfg_common)
$(cfg_control "$P_CTL")
listeners = ( { name = "web"; bind = "127.0.0.1:$P_WEB"; mode = "http"; pool = "flask"; } );
pools = ( { name = "flask"; balance = "wlc"; health = { type = "none"; }; adaptive_limit = true;
            response_timeout_ms = 10000; queue_timeout_ms = 10000;
            backends = ( { name = "web-1"; address = "127.0.0.1:$P1"; },
                         { name = "web-2"; address = "127.0.0.1:$P2"; },
                         { name = "web-3"; address = "127.0.0.1:$P3"; } ); } );
EOF
start_fulcrum "$T/fulcrum.cfg" "$P_WEB" "$P_CTL"

# limits: "l1 l2 l3 a1 a2 a3": learned limits and requests in flight (as fulcrum counts
# them) of web-1..3 from the control API.
limits() {
	[ "$(api GET /v1/pools/flask/backends)" = 200 ] || fail "GET backends: $(cat "$T/api.body")"
	"$PY" - "$T/api.body" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
items = d["backends"] if isinstance(d, dict) and "backends" in d else d
by = {b["name"]: (b.get("learned_limit", -1), b.get("active", -1)) for b in items}
n = ("web-1", "web-2", "web-3")
print(*[by.get(x, (-1, -1))[0] for x in n], *[by.get(x, (-1, -1))[1] for x in n])
EOF
}

step "learned limits are reported from the start (slow start begins at 1)"
read -r l1 l2 l3 _ < <(limits)
assert_eq "$l1 $l2 $l3" "1 1 1" "learned limits before any traffic"

step "2400 requests, 24 clients, sync workers 4/2/1, nothing tuned"
: >"$T/samples"
(
	# sample the learned limits every 0.15 s while the load runs (bounded: 800 samples):
	# ~60 of them, so that the most common value of the second half is not decided by
	# one probe that a busy machine happened to keep for a window
	for _ in $(seq 1 800); do
		limits >>"$T/samples" 2>/dev/null || true
		sleep 0.15
	done
) &
sampler=$!
out=$(rawhttp load --port "$P_WEB" --clients 24 --requests 2400 --path /work --timeout 20 --deadline 150)
kill "$sampler" 2>/dev/null || true
wait "$sampler" 2>/dev/null || true
echo "   $out"
assert_eq "$(json_get "$out" 'd["fail"]')" 0 "failed requests (errors: $(json_get "$out" 'd["errors"]'))"
assert_eq "$(json_get "$out" 'd["ok"]')" 2400 "successful requests"
c1=$(json_get "$out" "d['instances'].get('web-1', 0)")
c3=$(json_get "$out" "d['instances'].get('web-3', 0)")
assert_cmp "$c1" ">" "$c3" "requests served by web-1 (4 workers) against web-3 (1 worker)"

# In flight to web-3 as fulcrum sends them (a sync worker never has more than one in
# the app; the rest would wait in its accept queue). Slow start may try 2, and 4 once,
# before the first waiting shows; plain wlc with no limit keeps about 8 there.
a3=$(awk 'NF == 6 && $6 > m {m = $6} END {print m + 0}' "$T/samples")
echo "   most in flight to web-3 seen in $(wc -l <"$T/samples") samples: $a3"
assert_cmp "$a3" "<=" 4 "requests in flight to web-3 (1 worker)"
assert_cmp "$(wc -l <"$T/samples")" ">=" 5 "samples of the learned limits taken"

# The most common learned value over the second half of the run (the first half is
# slow start). How far a limit gets depends on the machine: on a busy one a fourth
# worker adds little throughput and the limit stays lower, so only bounds are checked:
# web-3 at its single worker (2 while probing), nobody beyond what pays.
read -r m1 m2 m3 < <("$PY" - "$T/samples" <<'EOF'
import collections, sys
rows = [l.split()[:3] for l in open(sys.argv[1]) if len(l.split()) == 6]
rows = rows[len(rows) // 2:] or rows
mode = lambda i: collections.Counter(int(r[i]) for r in rows).most_common(1)[0][0] if rows else -1
print(mode(0), mode(1), mode(2))
EOF
)
echo "   most common learned limits (second half, $(wc -l <"$T/samples") samples): web-1 $m1, web-2 $m2, web-3 $m3"
assert_cmp "$m3" ">=" 1 "learned limit of web-3 (1 worker)"
assert_cmp "$m3" "<=" 2 "learned limit of web-3 (1 worker)"
assert_cmp "$m1" ">=" 1 "learned limit of web-1 (4 workers)"
# A probe one above the workers is undone once its window shows the backlog, so the
# most common value stays at the workers (one above while probing). Before fulcrum let
# each change settle for a window, probes were judged on requests sent under the old
# limit, looked free, and web-1 crept to 8-21 (issue 8: that cost the Flask p99).
assert_cmp "$m1" "<=" 5 "learned limit of web-1 (4 workers)"
assert_cmp "$m2" "<=" 3 "learned limit of web-2 (2 workers)"
echo "ok"
