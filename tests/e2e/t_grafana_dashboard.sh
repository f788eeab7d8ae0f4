#!/usr/bin/env bash
# t_grafana_dashboard.sh: deploy/grafana/fulcrum-dashboard.json parses, has its datasource,
# instance, pool and backend variables, and every metric and label its queries use is in
# the metrics contract and in docs/metrics.md (when that exists); rate() only over
# counters, histogram_quantile over _bucket; promtool parses every query when installed.
# deploy/k8s/monitoring/servicemonitor.yaml is a ServiceMonitor that scrapes /metrics.
. "$(dirname "$0")/lib.sh"

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
