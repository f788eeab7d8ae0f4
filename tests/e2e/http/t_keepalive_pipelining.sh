#!/usr/bin/env bash
# t_keepalive_pipelining.sh: client keep-alive (one connection for several requests,
# even when the backend closes after each response), pipelined requests answered in
# order, Connection: close honoured, and pooled backend connections reused.
# e2e: pairs
. "$(dirname "$0")/../lib/lib.sh"
need_fulcrum

ports P_WEB P_KA P_SYNC P_GTH
start_flask web-1 "$P_SYNC" 2
start_flask ka-1 "$P_GTH" 1 -k gthread --threads 4 --keep-alive 10

cfg=$T/fulcrum.cfg
{
	cfg_common
	cat <<EOF
listeners = (
  { name = "web"; bind = "127.0.0.1:$P_WEB"; mode = "http"; pool = "sync"; idle_timeout_ms = 5000; },
  { name = "ka"; bind = "127.0.0.1:$P_KA"; mode = "http"; pool = "gthread"; idle_timeout_ms = 5000; } );
pools = (
  { name = "sync"; health = { type = "none"; }; connect_timeout_ms = 1000; response_timeout_ms = 5000;
    backends = ( { name = "web-1"; address = "127.0.0.1:$P_SYNC"; weight = 1; max_conns = 2; } ); },
  { name = "gthread"; health = { type = "none"; }; connect_timeout_ms = 1000; response_timeout_ms = 5000;
    keepalive_max_idle = 8;
    backends = ( { name = "ka-1"; address = "127.0.0.1:$P_GTH"; weight = 1; max_conns = 4; } ); } );
EOF
} >"$cfg"
start_fulcrum "$cfg" "$P_WEB" "$P_KA"

step "several URLs in one curl call share one client connection"
for port in "$P_WEB" "$P_KA"; do
	out=$(hcurl -v -o /dev/null -o /dev/null -o /dev/null -o /dev/null \
		-w '%{num_connects} %{http_code}\n' \
		"http://127.0.0.1:$port/" "http://127.0.0.1:$port/p/a" \
		"http://127.0.0.1:$port/p/b" "http://127.0.0.1:$port/" 2>"$T/curl.err") ||
		fail "curl failed: $(cat "$T/curl.err")"
	assert_eq "$(echo "$out" | awk '{print $2}' | sort -u | tr '\n' ' ')" "200 " "statuses via port $port"
	assert_eq "$(echo "$out" | awk '{s += $1} END {print s}')" 1 "connections opened by curl via port $port"
	reused=$(grep -c 'Re-using existing connection' "$T/curl.err" || true)
	assert_eq "$reused" 3 "curl 'Re-using existing connection' lines via port $port"
done

step "20 requests on one keep-alive connection in front of a closing (sync) backend"
urls=()
for i in $(seq 1 20); do urls+=(-o /dev/null "http://127.0.0.1:$P_WEB/p/k$i"); done
out=$(hcurl -w '%{num_connects} %{http_code}\n' "${urls[@]}") || fail "curl failed"
assert_eq "$(echo "$out" | grep -c ' 200$')" 20 "200 answers of 20"
assert_eq "$(echo "$out" | awk '{s += $1} END {print s}')" 1 "client connections for 20 requests"

step "pipelining: three requests in one write, answers in order"
for port in "$P_WEB" "$P_KA"; do
	out=$(rawhttp pipeline --port "$port" /p/a /p/b /p/c) || fail "pipeline via $port: incomplete: $out"
	got=$(echo "$out" | awk '{print $1, $2, $3}' | tr '\n' '|')
	assert_eq "$got" "200 path /p/a|200 path /p/b|200 path /p/c|" "pipelined answers via port $port"
done
out=$(rawhttp pipeline --port "$P_KA" /p/1 /blob?bytes=100000 /p/2 /p/3 /p/4) || fail "pipeline of 5: $out"
assert_eq "$(echo "$out" | awk '{print $1}' | tr '\n' ' ')" "200 200 200 200 200 " "statuses of 5 pipelined"
assert_eq "$(echo "$out" | sed -n '5p' | awk '{print $3}')" "/p/4" "fifth pipelined answer"

step "Connection: close and HTTP/1.0 end the client connection; plain keep-alive does not"
out=$(rawhttp send --port "$P_WEB" --timeout 3 --summary \
	--data 'GET /p/c HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n')
assert_eq "$out" "statuses=200 closed=1" "HTTP/1.1 with Connection: close"
out=$(rawhttp send --port "$P_WEB" --timeout 3 --summary --data 'GET /p/c HTTP/1.0\r\nHost: t\r\n\r\n')
assert_eq "$out" "statuses=200 closed=1" "HTTP/1.0 without keep-alive"
out=$(rawhttp send --port "$P_WEB" --timeout 1.5 --summary --data 'GET /p/c HTTP/1.1\r\nHost: t\r\n\r\n')
assert_eq "$out" "statuses=200 closed=0" "HTTP/1.1 keep-alive (still open after 1.5 s)"

step "backend connections are pooled and reused (gthread backend keeps them)"
bports=()
for i in $(seq 1 10); do
	out=$(hcurl -f "http://127.0.0.1:$P_KA/whoami") || fail "GET /whoami #$i failed"
	bports+=("$(json_get "$out" 'd["remote_port"]')")
done
distinct=$(printf '%s\n' "${bports[@]}" | sort -u | wc -l)
echo "   10 sequential requests (new client connection each) used $distinct backend connection(s): ${bports[*]}"
assert_cmp "$distinct" "<" 10 "backend connections used by 10 sequential requests"
assert_cmp "$distinct" "<=" 2 "backend connections used by 10 sequential requests"
echo "ok"
