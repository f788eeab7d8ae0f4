#!/usr/bin/env bash
# t_k8s_watch.sh: Kubernetes discovery and readiness, and a watch that goes silent. A
# fake API server (fake_kube.py) first refuses, then holds the LIST: /readyz says 503
# (discovery not synced) until a LIST completes. The Service is dual-stack: an IPv4 and
# an IPv6 slice carry the same pod, which is one backend named after the pod (on IPv4,
# the default address_family) with the configured max_conns; draining it by the pod's
# name drains it. A quiet but live watch ends by its timeoutSeconds and is resumed
# without a LIST; one that goes silent (head sent, then nothing) is taken as dead after
# watch_idle_timeout_s (3 s here) and fulcrum lists again.
. "$(dirname "$0")/../lib/lib.sh"
. "$E2E_DIR/ctl_lib.sh"
need_fulcrum
command -v openssl >/dev/null || skip "openssl is needed for the fake API server's certificate"
have_ipv6 || skip "::1 cannot be bound"

ports P_WEB P_CTL P_API P_KCTL P_APP
SA=$T/sa
mkdir -p "$SA"
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=fake-kube" \
	-addext "subjectAltName=IP:127.0.0.1" -keyout "$T/kube.key" -out "$SA/ca.crt" \
	>"$T/openssl.log" 2>&1 || fail "openssl could not make the API server's certificate"
KTOKEN=sa-$(od -An -N8 -tx8 /dev/urandom | tr -d ' ')
printf '%s\n' "$KTOKEN" >"$SA/token"
printf 'default\n' >"$SA/namespace"

kctl() {
	curl -sS --noproxy '*' --max-time 10 -X POST -H 'Content-Type: application/json' \
		-d "${2:-{\}}" "http://127.0.0.1:$P_KCTL/$1" >/dev/null || fail "fake_kube /$1 failed"
}
kget() { curl -sS --noproxy '*' --max-time 10 "http://127.0.0.1:$P_KCTL/$1"; }
# kube_count T0 KIND STATUS: how many API requests of KIND were answered STATUS since T0.
kube_count() {
	kget log | "$PY" -c 'import json,sys
print(sum(1 for e in json.load(sys.stdin) if e["t"] > float(sys.argv[1]) and
          e["kind"] == sys.argv[2] and e["status"] == int(sys.argv[3])))' "$@"
}
# kube_wait T0 KIND STATUS [SECONDS]: until such a request was answered.
kube_wait() {
	local i
	for ((i = 0; i < ${4:-20} * 5; i++)); do
		[ "$(kube_count "$1" "$2" "$3")" -gt 0 ] && return 0
		sleep 0.2
	done
	fail "no $2 request answered $3 within ${4:-20}s: $(kget log | tail -c 800)"
}
# ready_is STATUS [SECONDS] [WHAT]: until /readyz answers STATUS (body in $T/ready.json).
ready_is() {
	local want=$1 secs=${2:-10} i st=
	for ((i = 0; i < secs * 5; i++)); do
		st=$(http_status_body "$T/ready.json" "http://127.0.0.1:$P_CTL/readyz")
		[ "$st" = "$want" ] && return 0
		sleep 0.2
	done
	fail "${3:-/readyz}: expected $want within ${secs}s, got $st: $(cat "$T/ready.json")"
}
# reasons: "pool:reason" of each reason in $T/ready.json
reasons() { json_get "$(cat "$T/ready.json")" '" ".join("%s:%s" % (r.get("pool"), r["reason"]) for r in d["reasons"])'; }
# pool_wait EXPR [SECONDS] [WHAT]: until the Python expression EXPR holds over
# b = {name: backend} of pool flask.
pool_wait() {
	local expr=$1 secs=${2:-20} what=${3:-$1} i
	for ((i = 0; i < secs * 5; i++)); do
		hcurl -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$P_CTL/v1/pools/flask/backends" \
			>"$T/pool.json" 2>/dev/null || true
		"$PY" -c 'import json,sys
d = json.load(open(sys.argv[1])); b = {x["name"]: x for x in d["backends"]}
sys.exit(0 if eval(sys.argv[2]) else 1)' "$T/pool.json" "$expr" 2>/dev/null && return 0
		sleep 0.2
	done
	fail "pool flask: $what (not within ${secs}s): $(cat "$T/pool.json")"
}

step "fake API server refusing LISTs; one dual-stack pod (IPv4 and IPv6 slices)"
bg fake-kube TERM "$PY" "$E2E_DIR/fake_kube.py" --port "$P_API" --ctl-port "$P_KCTL" \
	--cert "$SA/ca.crt" --key "$T/kube.key" --token "$KTOKEN" --state "$T/kube.state"
KUBE_PID=$LAST_PID
wait_listen "$P_API" "$KUBE_PID" 15
wait_listen "$P_KCTL" "$KUBE_PID" 15
kctl list_mode '{"mode":"refuse"}'
bg web-a INT env FULCRUM_TEST_INSTANCE=web-a "$GUNICORN" -w 1 -k sync -b "127.0.0.2:$P_APP" \
	-b "[::1]:$P_APP" --chdir "$E2E_DIR" --graceful-timeout 2 --timeout 120 app:app
wait_http "http://127.0.0.2:$P_APP/healthz" 20
wait_http "http://[::1]:$P_APP/healthz" 20
ep() { printf '{"ip":"%s","port":%s,"pod":"web-a","ready":true}' "$1" "$P_APP"; }
kctl slice '{"name":"flask-v4","address_type":"IPv4","port":'"$P_APP"',"endpoints":['"$(ep 127.0.0.2)"']}'
kctl slice '{"name":"flask-v6","address_type":"IPv6","port":'"$P_APP"',"endpoints":['"$(ep ::1)"']}'

cfg=$T/fulcrum.cfg
{
	cfg_common
	cfg_control "$P_CTL"
	cat <<EOF
listeners = ( { name = "web"; bind = "127.0.0.1:$P_WEB"; mode = "http"; pool = "flask"; } );
pools = ( { name = "flask";
            health = { type = "http"; path = "/healthz"; interval_ms = 300; timeout_ms = 1000;
                       rise = 1; fall = 2; };
            discovery = { kubernetes = {
              service = "flask"; port = $P_APP; api_server = "https://127.0.0.1:$P_API";
              sa_dir = "$SA"; max_conns = 4; batch_ms = 100; backoff_max_ms = 1000;
              watch_idle_timeout_s = 3; }; };
            backends = (); } );
EOF
} >"$cfg"
"$FULCRUM" -t -c "$cfg" >"$T/check.out" 2>&1 || fail "fulcrum -t: $(cat "$T/check.out")"
t0=$(date +%s.%N)
start_fulcrum "$cfg" "$P_WEB" "$P_CTL"

step "LIST refused: not ready, the reason names the pool and the failure"
for ((i = 0; i < 50; i++)); do
	[ "$(kube_count "$t0" list 503)" -ge 2 ] && break
	sleep 0.2
done
ready_is 503 5 "/readyz while every LIST is refused"
assert_contains "$(reasons)" "flask:discovery_not_synced" "reasons"
assert_contains "$(json_get "$(cat "$T/ready.json")" 'd["reasons"][0]["detail"]')" "503" "detail"

step "LIST held without an answer: still not ready"
kctl list_mode '{"mode":"hang"}'
sleep 2
ready_is 503 2 "/readyz while the LIST hangs"
assert_contains "$(reasons)" "flask:discovery_not_synced" "reasons"

step "LIST answered: ready; the dual-stack pod is one backend on IPv4"
kctl list_mode '{"mode":"ok"}'
ready_is 200 15 "/readyz once the LIST completed and web-a passed its check"
pool_wait 'list(b) == ["web-a"] and b["web-a"]["address"] == "127.0.0.2:'"$P_APP"'" and b["web-a"]["max_conns"] == 4' 10 \
	"one backend web-a on 127.0.0.2 with max_conns 4"
assert_eq "$(http_status "http://127.0.0.1:$P_WEB/")" 200 "a request through fulcrum"

step "a quiet live watch ends by its timeoutSeconds and resumes without a LIST"
t1=$(date +%s.%N)
sleep 5
assert_cmp "$(kube_count "$t1" watch 200)" ">=" 2 "watches in 5 s (timeoutSeconds below watch_idle_timeout_s)"
assert_eq "$(kube_count "$t1" list 200)" 0 "LISTs while the watch is quiet"

step "a silent watch is taken as dead within watch_idle_timeout_s: fulcrum lists again"
kctl silent '{"on":true}'
t2=$(date +%s.%N)
kube_wait "$t2" list 200 12
kctl silent '{"on":false}'
grep -q 'no byte from the API server for 3 s during the WATCH' "$T/fulcrum.log" ||
	fail "fulcrum did not log the silent watch"
t3=$(date +%s.%N)
kube_wait "$t3" watch 200 10
pool_wait 'list(b) == ["web-a"] and b["web-a"]["in_rotation"]' 5 "web-a kept through the re-list"

step "drain by the pod's name drains the pod"
rc=$(ctl_rc drain flask web-a)
assert_eq "$rc" 0 "fulcrumctl drain flask web-a ($(cat "$T/ctl.out"))"
pool_wait 'list(b) == ["web-a"] and b["web-a"]["admin"] == "draining" and not b["web-a"]["in_rotation"]' 5 \
	"web-a draining, and no other copy of it in rotation"
ready_is 503 5 "/readyz with the only pod drained"
echo "ok"
