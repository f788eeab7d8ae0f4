#!/usr/bin/env bash
# t_grafana_dashboard.sh: deploy/grafana/fulcrum-dashboard.json parses, has its datasource,
# instance, pool and backend variables, and every metric and label its queries use is in
# the metrics contract and in docs/metrics.md (when that exists); rate() only over
# counters, histogram_quantile over _bucket; promtool parses every query when installed.
# deploy/k8s/monitoring/servicemonitor.yaml is a ServiceMonitor that scrapes /metrics.
# e2e: pairs
. "$(dirname "$0")/../lib/lib.sh"

DASH=$REPO_DIR/deploy/grafana/fulcrum-dashboard.json

step "the dashboard against the metrics contract"
"$PY" "$E2E_DIR/dashboard_check.py" static "$DASH" --docs "$REPO_DIR/docs/metrics.md" ||
	fail "deploy/grafana/fulcrum-dashboard.json does not match the metrics"

step "the ServiceMonitor example"
"$PY" - "$REPO_DIR/deploy/k8s/monitoring/servicemonitor.yaml" "$REPO_DIR/deploy/k8s/kustomization.yaml" <<'EOF' || fail "deploy/k8s/monitoring/servicemonitor.yaml"
import os, re, sys
text = open(sys.argv[1]).read()
for want in (r"(?m)^apiVersion: monitoring\.coreos\.com/v1$", r"(?m)^kind: ServiceMonitor$",
             r"(?m)^\s+path: /metrics$", r"(?m)^\s+(- )?port: control$", r"(?m)^\s+type: Bearer$|bearerTokenSecret:"):
    assert re.search(want, text), "no match for %s" % want
# optional: the base kustomization must not pull it in (no CRD there, no Prometheus Operator)
if os.path.exists(sys.argv[2]):
    assert "monitoring" not in open(sys.argv[2]).read(), "deploy/k8s/kustomization.yaml references monitoring/"
EOF

# Against a real scrape: every metric the dashboard names is exported. Needs a fulcrum
# with GET /metrics (the metrics branch); without it this part says so and is left out.
step "every metric the dashboard uses is in a real GET /metrics"
need_fulcrum
. "$E2E_DIR/ctl_lib.sh"
. "$E2E_DIR/tls_lib.sh"
ports P_WEB P_TLS P_CTL P_A P_DEAD
start_flask web-1 "$P_A" 2
tls_ca ca
tls_cert srv ca ec "/CN=a.test" "DNS:a.test"
{
	cfg_common
	cfg_control "$P_CTL"
	cat <<EOF
listeners = ( { name = "web"; bind = "127.0.0.1:$P_WEB"; mode = "http"; pool = "flask"; },
              { name = "tls"; bind = "127.0.0.1:$P_TLS"; mode = "http"; pool = "flask";
                tls = { certificates = ( { cert = "$T/srv.crt"; key = "$T/srv.key"; } ); }; } );
pools = ( { name = "flask";
            health = { type = "http"; path = "/healthz"; interval_ms = 300; timeout_ms = 1000; rise = 1; fall = 1; };
            backends = ( { name = "web-1"; address = "127.0.0.1:$P_A"; },
                         { name = "dead"; address = "127.0.0.1:$P_DEAD"; } ); } );
EOF
} >"$T/fulcrum.cfg"
start_fulcrum "$T/fulcrum.cfg" "$P_WEB" "$P_TLS" "$P_CTL"
wait_http "http://127.0.0.1:$P_WEB/healthz" 20
if [ "$(api GET /metrics)" = 404 ]; then
	echo "NOTE: GET /metrics answers 404 (this fulcrum has no metrics: branch metrics, issue 7, not merged); the live comparison was left out"
	exit 0
fi
# something for every family: answers of each class, a TLS handshake and a failed one,
# health checks and an unreachable backend, a reload
for p in / /status/404 /status/500 /status/302; do http_status "http://127.0.0.1:$P_WEB$p" >/dev/null; done
https_request "$P_TLS" -servername a.test >/dev/null
printf 'GET / HTTP/1.1\r\n\r\n' | timeout 5 openssl s_client -connect "127.0.0.1:$P_TLS" >/dev/null 2>&1 || true
curl -s --noproxy '*' --max-time 5 -o /dev/null "http://127.0.0.1:$P_TLS/" || true
kill -HUP "$FULCRUM_PID"
sleep 2
assert_eq "$(api GET /metrics)" 200 "GET /metrics"
"$PY" "$E2E_DIR/dashboard_check.py" live "$DASH" "$T/api.body" ||
	fail "the dashboard uses metrics that GET /metrics does not export"
