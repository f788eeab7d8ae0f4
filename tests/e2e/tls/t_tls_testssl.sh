#!/usr/bin/env bash
# t_tls_testssl.sh: testssl.sh (the Debian package) against an http listener with the
# default TLS settings (an RSA and an ECDSA certificate, nothing else set), only on
# 127.0.0.1: protocols, cipher categories, forward secrecy and every vulnerability
# check. Its JSON must show no finding rated LOW or worse, no check it could not run,
# SSLv2/SSLv3/TLS 1.0/1.1 and every weak cipher category not offered, TLS 1.2 and 1.3
# offered. About 30 s alone; bounded at 270 s (the run.sh cap is 300).
# e2e: pairs, first
. "$(dirname "$0")/../lib/lib.sh"
. "$(dirname "$0")/../lib/tls_lib.sh"
need_fulcrum
TESTSSL=$(command -v testssl || command -v testssl.sh || true)
[ -n "$TESTSSL" ] || skip "testssl.sh is not installed (Debian package testssl.sh; make test installs it)"

ports P_WEB P_APP
start_flask web-1 "$P_APP" 2
tls_ca ca
tls_cert rsa ca rsa "/CN=a.test" "DNS:a.test"
tls_cert ec ca ec "/CN=a.test" "DNS:a.test"
cfg=$T/fulcrum.cfg
{
	cfg_common
	cat <<EOF
listeners = ( { name = "web"; bind = "127.0.0.1:$P_WEB"; mode = "http"; pool = "flask";
                tls = { certificates = ( { cert = "rsa.crt"; key = "rsa.key"; },
                                         { cert = "ec.crt"; key = "ec.key"; } ); }; } );
pools = ( { name = "flask"; health = { type = "none"; };
            backends = ( { name = "web-1"; address = "127.0.0.1:$P_APP"; max_conns = 4; } ); } );
EOF
} >"$cfg"
start_fulcrum "$cfg" "$P_WEB"

step "testssl: protocols, cipher categories, forward secrecy, vulnerabilities"
t0=$SECONDS
rc=0
# --ip and --nodns none: nothing but 127.0.0.1 is contacted, no DNS query is made
timeout -k 10 270 "$TESTSSL" --quiet --color 0 --warnings off --nodns none --ip 127.0.0.1 \
	--protocols --std --fs --vulnerable --jsonfile "$T/testssl.json" "https://127.0.0.1:$P_WEB" \
	>"$T/testssl.log" 2>&1 || rc=$?
echo "   testssl exit $rc after $((SECONDS - t0)) s (report: testssl.log)"
[ "$rc" != 124 ] || fail "testssl did not finish within 270 s"
[ -s "$T/testssl.json" ] || fail "testssl wrote no JSON (exit $rc): $(tail -n 20 "$T/testssl.log")"

verdict=$("$PY" - "$T/testssl.json" <<'EOF'
import json, sys
findings = json.load(open(sys.argv[1]))
by_id = {f["id"]: f for f in findings}
problems = []
for f in findings:
    sev = f.get("severity", "")
    # WARN means a check could not be run; the missing GOST engine only concerns GOST ciphers
    if sev in ("LOW", "MEDIUM", "HIGH", "CRITICAL") or (sev in ("WARN", "FATAL") and f["id"] != "engine_problem"):
        problems.append("%s [%s]: %s" % (f["id"], sev, f.get("finding")))
def expect(ident, words):
    f = by_id.get(ident)
    if f is None:
        problems.append("%s: missing from the report" % ident)
    elif not f.get("finding", "").startswith(words):
        problems.append("%s: %r, expected %r" % (ident, f.get("finding"), words))
for p in ("SSLv2", "SSLv3", "TLS1", "TLS1_1"):
    expect(p, "not offered")
for p in ("TLS1_2", "TLS1_3"):
    expect(p, "offered")
for c in ("cipherlist_NULL", "cipherlist_aNULL", "cipherlist_EXPORT", "cipherlist_LOW",
          "cipherlist_3DES_IDEA", "cipherlist_AVERAGE"):
    expect(c, "not offered")
expect("cipherlist_STRONG", "offered")
for v in ("heartbleed", "CCS", "ticketbleed", "ROBOT", "secure_renego", "secure_client_renego",
          "CRIME_TLS", "BREACH", "POODLE_SSL", "fallback_SCSV", "SWEET32", "FREAK", "DROWN",
          "LOGJAM", "BEAST", "LUCKY13", "RC4"):
    if v not in by_id:
        problems.append("%s: missing from the report" % v)
print("findings=%d problems=%d" % (len(findings), len(problems)))
for p in problems:
    print("  " + p)
EOF
)
echo "   $verdict" | head -n 30
assert_contains "$verdict" "problems=0" "testssl verdict"
echo "ok"
