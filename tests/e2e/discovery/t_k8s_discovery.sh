#!/usr/bin/env bash
# t_k8s_discovery.sh: Kubernetes EndpointSlice discovery end to end, under continuous
# load. A fake API server (fake_kube.py: HTTPS, bearer token, LIST, chunked WATCH) holds
# the Service's slices; Flask instances listen on 127.0.0.2.. with one port, as pods do.
# Scale up, scale down and a rolling update with terminating endpoints go through
# without one failed request; a burst of slice events makes one generation; an endpoint
# in two slices is one backend; 410 Gone makes fulcrum list again; a stream that ends
# is resumed from the last resourceVersion (a bookmark's); a rotated token is re-read
# after the 401; with the API server killed the pool keeps serving, and when it comes
# back the watch resumes. A reload keeps discovered backends; the API may drain one
# (a preStop hook) but not edit or delete it, and nothing of it goes to the journal.
# A DELETED slice removes its endpoints unless another slice still has them.
. "$(dirname "$0")/../lib/lib.sh"
. "$E2E_DIR/ctl_lib.sh"
need_fulcrum
command -v openssl >/dev/null || skip "openssl is needed for the fake API server's certificate"

ports P_WEB P_CTL P_API P_KCTL P_APP
SA=$T/sa
mkdir -p "$SA"
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=fake-kube" \
	-addext "subjectAltName=IP:127.0.0.1" -keyout "$T/kube.key" -out "$SA/ca.crt" \
	>"$T/openssl.log" 2>&1 || fail "openssl could not make the API server's certificate"
KTOKEN=sa-$(od -An -N8 -tx8 /dev/urandom | tr -d ' ')
printf '%s\n' "$KTOKEN" >"$SA/token"
printf 'default\n' >"$SA/namespace"

start_kube() {
	bg fake-kube TERM "$PY" "$E2E_DIR/fake_kube.py" --port "$P_API" --ctl-port "$P_KCTL" \
		--cert "$SA/ca.crt" --key "$T/kube.key" --token "$KTOKEN" --state "$T/kube.state"
	KUBE_PID=$LAST_PID
	wait_listen "$P_API" "$KUBE_PID" 15
	wait_listen "$P_KCTL" "$KUBE_PID" 15
}
# kctl PATH [JSON]: scripts the fake API server.
kctl() {
	curl -sS --noproxy '*' --max-time 10 -X POST -H 'Content-Type: application/json' \
		-d "${2:-{\}}" "http://127.0.0.1:$P_KCTL/$1" >/dev/null || fail "fake_kube /$1 failed"
}
kget() { curl -sS --noproxy '*' --max-time 10 "http://127.0.0.1:$P_KCTL/$1"; }
# ep POD IP [READY SERVING TERMINATING]: one endpoint of a slice.
ep() {
	printf '{"ip":"%s","port":%s,"pod":"%s","ready":%s,"serving":%s,"terminating":%s}' \
		"$2" "$P_APP" "$1" "${3:-true}" "${4:-true}" "${5:-false}"
}
# slice NAME ENDPOINT...: the slice holds exactly these endpoints (ADDED or MODIFIED).
slice() {
	local name=$1 IFS=,
	shift
	kctl slice "{\"name\":\"$name\",\"port\":$P_APP,\"port_name\":\"http\",\"endpoints\":[$*]}"
}

declare -A IP=([web-a]=127.0.0.2 [web-b]=127.0.0.3 [web-c]=127.0.0.4 [web-d]=127.0.0.5
	[web-e]=127.0.0.6 [web-f]=127.0.0.7)
declare -A PID
# start_app NAME: gunicorn+Flask on IP[NAME]:P_APP, as a pod.
start_app() {
	bg "$1" INT env FULCRUM_TEST_INSTANCE="$1" "$GUNICORN" -w 2 -k sync -b "${IP[$1]}:$P_APP" \
		--chdir "$E2E_DIR" --graceful-timeout 5 --timeout 120 --access-logfile - \
		--error-logfile - app:app
	PID[$1]=$LAST_PID
	wait_http "http://${IP[$1]}:$P_APP/healthz" 20
}

# pool_wait EXPR [SECONDS] [WHAT]: waits until the Python expression EXPR holds over
# b = {name: backend} of pool flask (GET /v1/pools/flask/backends).
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
up() { echo "\"$1\" in b and b[\"$1\"][\"in_rotation\"] and b[\"$1\"][\"source\"] == \"kubernetes\""; }
# kube_log_after T0 KIND STATUS: the API requests of KIND with STATUS made after T0.
kube_log_after() {
	kget log | "$PY" -c 'import json,sys
for e in json.load(sys.stdin):
    if e["t"] > float(sys.argv[1]) and e["kind"] == sys.argv[2] and e["status"] == int(sys.argv[3]):
        print(e["rv"] or "-")' "$@"
}
# kube_wait T0 KIND STATUS [SECONDS]: until such a request was made.
kube_wait() {
	local i
	for ((i = 0; i < ${4:-20} * 5; i++)); do
		[ -n "$(kube_log_after "$1" "$2" "$3")" ] && return 0
		sleep 0.2
	done
	fail "no $2 request answered $3 since $1: $(kget log | tail -c 1500)"
}
gens() { grep -c 'discovery: generation [0-9]* applied' "$T/fulcrum.log" || true; }

step "fake API server, two pods ready"
start_kube
start_app web-a
start_app web-b
slice flask-1 "$(ep web-a "${IP[web-a]}")" "$(ep web-b "${IP[web-b]}")"

cfg=$T/fulcrum.cfg
{
	E2E_WORKERS=2 cfg_common
	cfg_control "$P_CTL"
	cat <<EOF
listeners = ( { name = "web"; bind = "127.0.0.1:$P_WEB"; mode = "http"; pool = "flask"; } );
pools = ( { name = "flask";
            health = { type = "http"; path = "/healthz"; interval_ms = 300; timeout_ms = 1000;
                       rise = 2; fall = 3; };
            connect_timeout_ms = 1000; response_timeout_ms = 10000; queue_timeout_ms = 10000;
            drain_timeout_s = 20;
            discovery = { kubernetes = {
              service = "flask"; port_name = "http";
              api_server = "https://127.0.0.1:$P_API"; sa_dir = "$SA";
              weight = 2; max_conns = 8; batch_ms = 500; backoff_max_ms = 2000; }; };
            backends = (); } );
EOF
} >"$cfg"
"$FULCRUM" -t -c "$cfg" >"$T/check.out" 2>&1 || fail "fulcrum -t: $(cat "$T/check.out")"
start_fulcrum "$cfg" "$P_WEB" "$P_CTL"
pool_wait "$(up web-a) and $(up web-b)" 20 "web-a and web-b discovered and in rotation"
pool_wait 'b["web-a"]["weight"] == 2 and b["web-a"]["max_conns"] == 8 and b["web-a"]["address"] == "'"${IP[web-a]}:$P_APP"'"' 5 \
	"discovered backends take weight, max_conns and the slice's port"
assert_eq "$(http_status "http://127.0.0.1:$P_WEB/")" 200 "a request through fulcrum"

step "the control API does not edit discovered backends"
st=$(api PUT /v1/pools/flask/backends/web-a -d '{"weight": 5}')
assert_eq "$st" 409 "PUT on a discovered backend ($(cat "$T/api.body"))"
st=$(api DELETE /v1/pools/flask/backends/web-a)
assert_eq "$st" 409 "DELETE on a discovered backend ($(cat "$T/api.body"))"
assert_eq "$(stat -c %s "$T/state/journal" 2>/dev/null || echo 0)" 0 \
	"journal bytes (discovered backends are not operator intent)"

step "load: four keep-alive clients for the whole test"
bg load TERM "$PY" "$E2E_DIR/hload.py" run --port "$P_WEB" --clients 4 --duration 240 \
	--path "/work?ms=30" --timeout 15
LOAD_PID=$LAST_PID
sleep 2

step "scale up: web-c becomes ready and gets traffic"
start_app web-c
slice flask-1 "$(ep web-a "${IP[web-a]}")" "$(ep web-b "${IP[web-b]}")" "$(ep web-c "${IP[web-c]}")"
pool_wait "$(up web-c)" 20 "web-c in rotation"
pool_wait 'b["web-c"]["picks"] > 0' 10 "web-c chosen for requests"

step "a burst of slice events is one generation; an endpoint in two slices is one backend"
start_app web-d
start_app web-e
g0=$(gens)
slice flask-2 "$(ep web-d "${IP[web-d]}")"
slice flask-2 "$(ep web-d "${IP[web-d]}")" "$(ep web-e "${IP[web-e]}")" "$(ep web-c "${IP[web-c]}")"
pool_wait "$(up web-d) and $(up web-e)" 20 "web-d and web-e in rotation"
sleep 1
assert_eq "$(($(gens) - g0))" 1 "generations made by two slice events within batch_ms"
pool_wait 'len(b) == 5 and sorted(b) == ["web-a", "web-b", "web-c", "web-d", "web-e"]' 5 \
	"web-c (in flask-1 and flask-2) listed once"

step "scale down: web-b leaves the slice, drains, is removed, then stops"
slice flask-1 "$(ep web-a "${IP[web-a]}")" "$(ep web-c "${IP[web-c]}")"
pool_wait '"web-b" not in b' 25 "web-b removed after its drain"
grep -q 'web-b .* removed (drained)' "$T/fulcrum.log" || fail "web-b was removed without draining"
stop_pid "${PID[web-b]}" INT 15 || true

step "rolling update: web-a terminating (serving) drains, then goes; web-f replaces it"
start_app web-f
slice flask-1 "$(ep web-a "${IP[web-a]}")" "$(ep web-c "${IP[web-c]}")" "$(ep web-f "${IP[web-f]}")"
pool_wait "$(up web-f)" 20 "web-f in rotation"
slice flask-1 "$(ep web-a "${IP[web-a]}" false true true)" "$(ep web-c "${IP[web-c]}")" \
	"$(ep web-f "${IP[web-f]}")"
pool_wait 'b["web-a"]["admin"] == "draining" and not b["web-a"]["in_rotation"]' 10 \
	"web-a draining while its endpoint is serving and terminating"
pool_wait 'b["web-a"]["active"] == 0' 20 "web-a's requests finished"
slice flask-1 "$(ep web-c "${IP[web-c]}")" "$(ep web-f "${IP[web-f]}")"
pool_wait '"web-a" not in b' 20 "web-a removed once its endpoint is gone"
stop_pid "${PID[web-a]}" INT 15 || true

step "410 Gone: fulcrum lists again, and follows the next change"
t0=$(date +%s.%N)
kctl compact
kube_wait "$t0" list 200 20
grep -q '410 Gone' "$T/fulcrum.log" || fail "fulcrum did not log the 410"
slice flask-2 "$(ep web-d "${IP[web-d]}")" "$(ep web-c "${IP[web-c]}")"
pool_wait '"web-e" not in b' 25 "web-e removed after the re-list (the watch follows again)"
stop_pid "${PID[web-e]}" INT 15 || true

step "a stream that ends is resumed from the last resourceVersion (a bookmark's)"
sleep 1
kctl bump
rv=$(json_get "$(kget state)" 'd["rv"]')
kctl bookmark
sleep 1
t0=$(date +%s.%N)
kctl end
kube_wait "$t0" watch 200 20
assert_eq "$(kube_log_after "$t0" watch 200 | head -1)" "$rv" "resourceVersion of the resumed watch"
assert_eq "$(kube_log_after "$t0" list 200)" "" "LISTs after a clean end of the stream"

step "token rotation: 401, the token file is re-read, the watch goes on"
NEW=sa-$(od -An -N8 -tx8 /dev/urandom | tr -d ' ')
t0=$(date +%s.%N)
kctl rotate "{\"token\":\"$NEW\"}"
kube_wait "$t0" watch 401 20
printf '%s\n' "$NEW" >"$SA/token.new"
mv "$SA/token.new" "$SA/token"
t1=$(date +%s.%N)
kube_wait "$t1" watch 200 20
grep -q 'token re-read (rotated)' "$T/fulcrum.log" || fail "fulcrum did not log the token rotation"
slice flask-2 "$(ep web-d "${IP[web-d]}")" "$(ep web-c "${IP[web-c]}")" "$(ep web-e "${IP[web-e]}" false false false)"
start_app web-e
slice flask-2 "$(ep web-d "${IP[web-d]}")" "$(ep web-c "${IP[web-c]}")" "$(ep web-e "${IP[web-e]}")"
pool_wait "$(up web-e)" 20 "web-e back in rotation after the rotation (not-ready first: not added)"

step "the API server goes away: the pool keeps serving; when it is back, the watch resumes"
stop_pid "$KUBE_PID" KILL 10 || true
sleep 4
grep -q 'cannot be reached\|watch failed\|watch ended' "$T/fulcrum.log" || fail "fulcrum did not notice the API server going"
pool_wait "$(up web-c) and $(up web-d) and $(up web-e) and $(up web-f) and len(b) == 4" 5 \
	"the last known backends kept while the API server is away"
assert_eq "$(http_status "http://127.0.0.1:$P_WEB/")" 200 "a request while the API server is away"
t0=$(date +%s.%N)
start_kube
kube_wait "$t0" watch 200 20
slice flask-2 "$(ep web-d "${IP[web-d]}")" "$(ep web-c "${IP[web-c]}")"
pool_wait '"web-e" not in b' 25 "web-e removed: the watch follows the server that came back"
stop_pid "${PID[web-e]}" INT 15 || true

step "a reload and a rollback keep the discovered backends; the API drains one without the journal"
st=$(api POST /v1/config/reload)
assert_eq "$st" 200 "reload ($(cat "$T/api.body"))"
pool_wait "$(up web-c) and $(up web-d) and $(up web-f) and len(b) == 3" 5 "discovered backends after a reload"
st=$(api GET /v1/config/generations)
assert_eq "$st" 200 "list of generations"
kept=$(json_get "$(cat "$T/api.body")" 'len(d["generations"])')
assert_cmp "$kept" "<=" 2 "generations kept (start, reload: none made by discovery)"
assert_cmp "$(json_get "$(cat "$T/api.body")" 'd["current"]')" ">" 5 "generation id after the discovery changes"
first=$(json_get "$(cat "$T/api.body")" 'd["generations"][0]["id"]')
st=$(api GET "/v1/config/generations/$first")
assert_not_contains "$(json_get "$(cat "$T/api.body")" 'd["config"]')" "web-" "the kept config of generation $first"
st=$(api POST /v1/config/rollback -d "{\"generation\": $first}")
assert_eq "$st" 200 "rollback to generation $first ($(cat "$T/api.body"))"
pool_wait "$(up web-c) and $(up web-d) and $(up web-f) and len(b) == 3" 5 "discovered backends after a rollback"
rc=$(ctl_rc drain flask web-f --wait --wait-timeout 20)
assert_eq "$rc" 0 "fulcrumctl drain web-f --wait ($(cat "$T/ctl.out"))"
pool_wait 'b["web-f"]["admin"] == "draining" and b["web-f"]["active"] == 0 and b["web-f"]["source"] == "kubernetes"' 5 \
	"web-f drained through the API"
assert_eq "$(stat -c %s "$T/state/journal" 2>/dev/null || echo 0)" 0 "journal bytes after draining a discovered backend"
slice flask-1 "$(ep web-c "${IP[web-c]}")"
pool_wait '"web-f" not in b and len(b) == 2' 20 "web-f removed when its endpoint went"
stop_pid "${PID[web-f]}" INT 15 || true

step "a deleted slice takes its endpoints along, but not one another slice still has"
kctl delete '{"name":"flask-2"}'
pool_wait '"web-d" not in b and list(b) == ["web-c"] and b["web-c"]["in_rotation"]' 20 \
	"web-d removed with slice flask-2; web-c (also in flask-1) kept"
stop_pid "${PID[web-d]}" INT 15 || true

step "every request under load succeeded"
stop_pid "$LOAD_PID" TERM 60 || true
res=$(cat "$T/load.log")
echo "   $res"
assert_eq "$(json_get "$res" 'd["fail"]')" 0 "failed requests (errors: $(json_get "$res" 'd["errors"]'))"
assert_cmp "$(json_get "$res" 'd["ok"]')" ">" 200 "requests served under load"
for n in web-a web-b web-c web-d web-e web-f; do
	assert_cmp "$(json_get "$res" "d['instances'].get('$n', 0)")" ">" 0 "requests served by $n"
done
echo "ok"
