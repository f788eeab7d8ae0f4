#!/usr/bin/env bash
# t_buffer_limits.sh: the bounds of buffering (issue 24).
# (a) a 200 MiB response to a client that pauses 3 s spills to an unlinked file in
#     buffer_dir: fulcrum's RSS stays under its idle RSS + 64 MiB, the body arrives
#     whole, fulcrum_pool_buffer_spilled_bytes_total grows, and buffer_dir shows no file.
# (b) with buffer_disk_budget_bytes = 1 MiB filled by a response a slow reader holds, a
#     512 KiB upload gets 503 + Retry-After (termination buffer_full) and never reaches
#     the app; the held response still arrives whole (streamed, never truncated).
# (c) buffering.memory_bytes = 0 (reload by the API: 422 naming file, line and key) and
#     a negative buffer_disk_budget_bytes (SIGHUP: "file:line: key: ..." on stderr) are
#     refused, and the running generation stays.
. "$(dirname "$0")/../lib/lib.sh"
. "$E2E_DIR/ctl_lib.sh"
need_fulcrum

ports P_LB P_CTL P_LB2 P_CTL2 P_BE
start_flask web "$P_BE" 2 --access-logfile "$T/gunicorn-access.log"
mkdir -p "$T/buffers" "$T/buffers-b" "$T/state-b"
touch "$T/arrivals.web" "$T/gunicorn-access.log"

# metric NAME{LABELS}: the value of one sample on the control API at $P_CTL ("" if none).
metric() {
	hcurl -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$P_CTL/metrics" |
		awk -v k="$1" 'index($0, k " ") == 1 { print $2 }'
}
rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$FULCRUM_PID/status"; }

step "(a) start: memory_bytes 64 KiB, disk budget 1 GiB, buffer_dir $T/buffers"
cfg=$T/fulcrum.cfg
{
	cfg_common
	cfg_control "$P_CTL"
	cat <<EOF
buffer_disk_budget_bytes = 1073741824;
listeners = ( { name = "web"; bind = "127.0.0.1:$P_LB"; mode = "http"; pool = "flask"; } );
pools = ( { name = "flask"; health = { type = "none"; }; retries = 0;
            buffering = { request = true; response = true; memory_bytes = 65536; };
            buffer_dir = "$T/buffers";
            backends = ( { name = "w"; address = "127.0.0.1:$P_BE"; max_conns = 4; } ); } );
EOF
} >"$cfg"
start_fulcrum "$cfg" "$P_LB" "$P_CTL"
# warm up: one buffered response, so the idle figure includes what a first exchange keeps
hcurl -f -o /dev/null "http://127.0.0.1:$P_LB/blob?bytes=1000000" || fail "warm-up request"
sleep 0.5
idle=$(rss_kb)
echo "   idle RSS ${idle} kB"

step "(a) a 200 MiB response to a client that pauses 3 s, then reads at full speed"
N=$((200 * 1024 * 1024))
"$PY" - "$FULCRUM_PID" "$T/rss.stop" >"$T/rss.out" 2>&1 <<'EOF' &
import os, sys, time
pid, stop = sys.argv[1], sys.argv[2]
peak, n, end = 0, 0, time.monotonic() + 90
while time.monotonic() < end and not os.path.exists(stop):
    for line in open("/proc/%s/status" % pid):
        if line.startswith("VmRSS:"):
            peak = max(peak, int(line.split()[1]))
    n += 1
    time.sleep(0.2)
print(peak, n)
EOF
SAMPLER=$!
bg bigread TERM "$PY" "$E2E_DIR/slowread.py" --port "$P_LB" --bytes "$N" --rcvbuf 0 \
	--pause 3 --ready "$T/big.sent" --tag big --timeout 80
BIG=$LAST_PID
sleep 1.5
# an O_TMPFILE spill file has no name, but fulcrum's descriptor shows its directory
spill_fds=$(find "/proc/$FULCRUM_PID/fd" -maxdepth 1 -type l -printf '%l\n' 2>/dev/null | grep -c "^$T/buffers/" || true)
visible=$(find "$T/buffers" -mindepth 1 | head -n 3)
echo "   during the pause: $spill_fds descriptor(s) of fulcrum in $T/buffers; visible files: ${visible:-none}"
rc=0
wait_exit "$BIG" 90 || rc=$?
touch "$T/rss.stop"
wait "$SAMPLER" || true
[ $rc = 0 ] || fail "the 200 MiB reader exited $rc: $(cat "$T/bigread.log")"
read -r peak samples <"$T/rss.out" || fail "no RSS samples: $(cat "$T/rss.out")"
echo "   peak RSS ${peak} kB over $samples samples (idle ${idle} kB, +$(((peak - idle) / 1024)) MiB)"
assert_eq "$(cat "$T/bigread.log")" "HTTP/1.1 200 OK $N match" "200 MiB response: status, length, sha256"
assert_cmp "$samples" ">=" 10 "RSS samples taken"
assert_cmp "$peak" "<" "$((idle + 64 * 1024))" "fulcrum's peak RSS in kB (idle + 64 MiB)"
assert_eq "$visible" "" "files visible in buffer_dir during the transfer"
assert_cmp "$spill_fds" ">=" 1 "fulcrum descriptors on spill files in buffer_dir while the client paused"
spilled=$(metric 'fulcrum_pool_buffer_spilled_bytes_total{pool="flask"}')
files=$(metric 'fulcrum_pool_buffer_spilled_files_total{pool="flask"}')
echo "   spilled bytes ${spilled:-none}, spill files ${files:-none}"
[ -n "$spilled" ] || fail "no fulcrum_pool_buffer_spilled_bytes_total{pool=\"flask\"} in /metrics"
assert_cmp "$spilled" ">" 0 "fulcrum_pool_buffer_spilled_bytes_total"
assert_cmp "${files:-0}" ">=" 1 "fulcrum_pool_buffer_spilled_files_total"
for ((i = 0; i < 20; i++)); do
	[ "$(metric fulcrum_buffer_disk_bytes)" = 0 ] && break
	sleep 0.1
done
assert_eq "$(metric fulcrum_buffer_disk_bytes)" 0 "fulcrum_buffer_disk_bytes after the response was delivered"
assert_eq "$(find "$T/buffers" -mindepth 1 | head -n 3)" "" "files left in buffer_dir"
stop_pid "$FULCRUM_PID" TERM 10 || fail "fulcrum (a) did not exit 0 on SIGTERM"

step "(b) start: memory_bytes 64 KiB, disk budget 1 MiB"
P_CTL=$P_CTL2
cfg=$T/fulcrum-b.cfg
write_cfg_b() { # write_cfg_b MEMORY_BYTES DISK_BUDGET
	{
		cfg_common | sed "s|\"$T/state\"|\"$T/state-b\"|"
		cfg_control "$P_CTL"
		cat <<EOF
buffer_disk_budget_bytes = $2;
listeners = ( { name = "web"; bind = "127.0.0.1:$P_LB2"; mode = "http"; pool = "flask"; } );
pools = ( { name = "flask"; health = { type = "none"; }; retries = 0;
            buffering = { memory_bytes = $1; };
            buffer_dir = "$T/buffers-b";
            backends = ( { name = "w"; address = "127.0.0.1:$P_BE"; max_conns = 4; } ); } );
EOF
	} >"$cfg.new"
	mv -f "$cfg.new" "$cfg"
}
write_cfg_b 65536 1048576
bg fulcrum-b TERM "$FULCRUM" -c "$cfg"
FULCRUM_PID=$LAST_PID
wait_listen "$P_LB2" "$FULCRUM_PID" 15
wait_listen "$P_CTL" "$FULCRUM_PID" 15

step "(b) a slow reader holds an 8 MiB response until the disk budget is full"
# Socket buffers on both sides of the client connection take a few MiB of an unread
# response; 8 MiB leaves fulcrum more than the 1 MiB budget to hold.
N=$((8 * 1024 * 1024))
bg holdread TERM "$PY" "$E2E_DIR/slowread.py" --port "$P_LB2" --bytes "$N" --rcvbuf 4096 \
	--pause 5 --ready "$T/hold.sent" --tag hold --timeout 40
HOLDR=$LAST_PID
disk=
for ((i = 0; i < 50; i++)); do
	disk=$(metric fulcrum_buffer_disk_bytes)
	[ -n "$disk" ] && [ "$disk" -ge 786432 ] && break
	sleep 0.1
done
echo "   fulcrum_buffer_disk_bytes ${disk:-none}"
[ -n "$disk" ] || fail "no fulcrum_buffer_disk_bytes in /metrics"
assert_cmp "$disk" ">=" 786432 "fulcrum_buffer_disk_bytes while the slow reader holds 8 MiB (budget 1 MiB)"
assert_cmp "$disk" "<=" 1048576 "fulcrum_buffer_disk_bytes (budget 1 MiB)"

step "(b) a 512 KiB upload does not fit: 503 with Retry-After, the app never sees it"
head -c 524288 /dev/urandom >"$T/b512k"
st=$(curl -s --noproxy '*' --max-time 10 -D "$T/up.h" -o "$T/up.out" -w '%{http_code}' -H 'Expect:' \
	-H 'Content-Type: application/octet-stream' --data-binary @"$T/b512k" \
	"http://127.0.0.1:$P_LB2/echo-len?tag=refused" || true)
echo "   status $st; $(grep -i '^retry-after' "$T/up.h" | tr -d '\r')"
kill -0 "$HOLDR" 2>/dev/null || fail "the slow reader ended during its pause: $(cat "$T/holdread.log")"
assert_eq "$st" 503 "status of an upload that does not fit the disk budget"
grep -qi '^retry-after: *[0-9]' "$T/up.h" || fail "no Retry-After in the 503: $(tr -d '\r' <"$T/up.h")"
alog_wait 1 path~=tag=refused
assert_eq "$(alog count path~=tag=refused termination=buffer_full status=503)" 1 "access-log entries of the refused upload with termination buffer_full"
assert_eq "$(grep -c '^refused$' "$T/arrivals.web" || true)" 0 "times the app began the refused upload"
assert_eq "$(grep -c 'tag=refused' "$T/gunicorn-access.log" || true)" 0 "gunicorn access-log entries of the refused upload"
assert_eq "$(metric 'fulcrum_pool_buffer_refused_total{pool="flask"}')" 1 "fulcrum_pool_buffer_refused_total"

step "(b) the held response still arrives whole"
rc=0
wait_exit "$HOLDR" 40 || rc=$?
[ $rc = 0 ] || fail "the slow reader exited $rc: $(cat "$T/holdread.log")"
assert_eq "$(cat "$T/holdread.log")" "HTTP/1.1 200 OK $N match" "held response: status, length, sha256"
# wait_disk_empty WHAT: fulcrum_buffer_disk_bytes must come back to 0 within 3 s.
wait_disk_empty() {
	local i d=
	for ((i = 0; i < 30; i++)); do
		d=$(metric fulcrum_buffer_disk_bytes)
		[ "$d" = 0 ] && return 0
		sleep 0.1
	done
	fail "fulcrum_buffer_disk_bytes is ${d:-absent}, not 0, 3 s after $1"
}
wait_disk_empty "the held response was delivered"

step "(b) a client that leaves a spilled response unread gives its disk share back"
bg abandon TERM "$PY" "$E2E_DIR/slowread.py" --port "$P_LB2" --bytes "$N" --rcvbuf 4096 \
	--pause 2 --abandon --tag abandon --timeout 20
ABANDON=$LAST_PID
for ((i = 0; i < 20; i++)); do
	disk=$(metric fulcrum_buffer_disk_bytes)
	[ "${disk:-0}" -gt 0 ] && break
	sleep 0.1
done
echo "   fulcrum_buffer_disk_bytes while it pauses: ${disk:-none}"
assert_cmp "${disk:-0}" ">" 0 "fulcrum_buffer_disk_bytes while a second slow reader pauses"
rc=0
wait_exit "$ABANDON" 20 || rc=$?
[ $rc = 0 ] || fail "the abandoning reader exited $rc: $(cat "$T/abandon.log")"
wait_disk_empty "the client left"
assert_eq "$(find "$T/buffers-b" -mindepth 1 | head -n 3)" "" "files left in buffer_dir"

step "(c) bad values are refused on reload with file:line; the running config stays"
gen=$(current_generation)
step "(c) buffering.memory_bytes = 0, reloaded through the API: 422 naming file, line and key"
write_cfg_b 0 1048576
line=$(grep -n 'memory_bytes = 0;' "$cfg" | cut -d: -f1)
st=$(api POST /v1/config/reload)
echo "   $st $(head -c 400 "$T/api.body")"
assert_eq "$st" 422 "reload with buffering.memory_bytes = 0"
where=$(json_get "$(cat "$T/api.body")" \
	'" ".join("%s:%s:%s" % (e.get("file"), e.get("line"), e.get("key")) for e in d.get("errors", []))')
assert_eq "$where" "$cfg:$line:pools.flask.buffering.memory_bytes" "file:line:key of the 422's errors"
assert_eq "$(current_generation)" "$gen" "generation after a refused reload"
step "(c) a negative buffer_disk_budget_bytes, reloaded by SIGHUP: file:line: key on stderr"
write_cfg_b 65536 -1
line=$(grep -n 'buffer_disk_budget_bytes = -1;' "$cfg" | cut -d: -f1)
kill -HUP "$FULCRUM_PID"
for ((i = 0; i < 30; i++)); do
	grep -qF "$cfg:$line: buffer_disk_budget_bytes" "$T/fulcrum-b.log" && break
	sleep 0.1
done
grep -F "$cfg:$line:" "$T/fulcrum-b.log" | sed 's/^/   /' || true
grep -qF "$cfg:$line: buffer_disk_budget_bytes" "$T/fulcrum-b.log" ||
	fail "no '$cfg:$line: buffer_disk_budget_bytes ...' line after SIGHUP: $(tail -n 3 "$T/fulcrum-b.log")"
kill -0 "$FULCRUM_PID" 2>/dev/null || fail "fulcrum died after SIGHUP with a bad file"
assert_eq "$(current_generation)" "$gen" "generation after a refused reload"
out=$(hcurl -f -X POST --data-binary @"$T/b512k" "http://127.0.0.1:$P_LB2/echo-len?tag=after") ||
	fail "an upload after the refused reloads: $out"
assert_eq "$(json_get "$out" 'd["length"]')" 524288 "an upload after the refused reloads (the disk budget is free again)"
echo "ok"
