#!/usr/bin/env bash
# t_k8s_cluster_overlay.sh: the cluster-mode overlay (deploy/k8s/cluster), offline:
# `kubectl kustomize` renders it with every object of the base plus etcd's; yamllint
# passes; tests/deploy/check_k8s_cluster.py's checks pass (names, labels, selectors, the
# etcd flags against the StatefulSet's pod DNS names, TLS, PDB, anti-affinity, volumes,
# NetworkPolicy) and catch each known mistake, and check_k8s.py's checks of the base pass
# on its fulcrum part; without etcd/ (an existing etcd, as the README says) it renders and
# passes too; every etcd flag is one Debian's etcd knows, the image is that version, each
# Secret is created in the README; `fulcrum -t` accepts the config fulcrum runs with
# (cluster.cfg including fulcrum.cfg). Then the StatefulSet's own etcd command lines run
# on loopback (names and paths mapped) with etcd-certs.sh's certificates: three members
# with peer TLS become healthy on their readiness URL, a client needs the client
# certificate, and a fulcrum with the overlay's cluster group reaches the store over TLS,
# is ready, names itself after its host (the pod name in Kubernetes) and writes through it.
# No Kubernetes cluster, no Docker engine, no image pulled.
# e2e: pairs
. "$(dirname "$0")/../lib/lib.sh"
need_fulcrum

K8S=$REPO_DIR/deploy/k8s
OVL=$K8S/cluster
CHECK=$REPO_DIR/tests/deploy/check_k8s.py
CCHECK=$REPO_DIR/tests/deploy/check_k8s_cluster.py
LINT_CFG=$REPO_DIR/tests/deploy/yamllint.yaml
command -v kubectl >/dev/null || fail "kubectl is missing (Debian package kubernetes-client; make deps installs it)"
command -v yamllint >/dev/null || fail "yamllint is missing (Debian package yamllint; make deps installs it)"
command -v etcd >/dev/null || skip "etcd is not installed (Debian: etcd-server)"
command -v etcdctl >/dev/null || skip "etcdctl is not installed (Debian: etcd-client)"

# objects FILE: "Kind/name" of every object of a rendering, the ConfigMap's hash cut off
objects() {
	"$PY" -c 'import re, sys, yaml
print(" ".join(sorted(re.sub(r"^(ConfigMap/fulcrum-config)-[a-z0-9]+$", r"\1", d["kind"] + "/" + d["metadata"]["name"])
                      for d in yaml.safe_load_all(open(sys.argv[1])) if d)))' "$1"
}

step "kubectl kustomize renders the overlay: the base's objects and etcd's"
kubectl kustomize "$OVL" >"$T/rendered.yaml" 2>"$T/kustomize.err" ||
	fail "kubectl kustomize $OVL failed: $(cat "$T/kustomize.err")"
kubectl kustomize "$K8S" >"$T/base.yaml" 2>"$T/kustomize.err" || fail "kubectl kustomize $K8S failed"
kinds=$(objects "$T/rendered.yaml")
for want in $(objects "$T/base.yaml") StatefulSet/etcd Service/etcd PodDisruptionBudget/etcd NetworkPolicy/etcd; do
	assert_contains " $kinds " " $want " "rendered objects"
done
"$PY" - "$T/rendered.yaml" <<'EOF' || fail "the rendering"
import sys, yaml
docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d]
cm = [d for d in docs if d["kind"] == "ConfigMap"]
assert len(cm) == 1 and sorted(cm[0]["data"]) == ["cluster.cfg", "fulcrum.cfg"], "one ConfigMap with both files"
assert all(d["metadata"].get("namespace") == "fulcrum" for d in docs if d["kind"] != "Namespace"), "namespace"
dep = next(d for d in docs if d["kind"] == "Deployment" and d["metadata"]["name"] == "fulcrum")
assert dep["spec"]["replicas"] == 3, "three fulcrum replicas"
c = dep["spec"]["template"]["spec"]["containers"][0]
assert c["args"] == ["-c", "/etc/fulcrum/config/cluster.cfg"], c["args"]
assert c["imagePullPolicy"] == "IfNotPresent", "fulcrum's image pull policy"
sts = next(d for d in docs if d["kind"] == "StatefulSet")
assert sts["spec"]["template"]["spec"]["containers"][0]["imagePullPolicy"] == "IfNotPresent", "etcd's"
EOF

step "yamllint: sources and rendering"
yamllint -f parsable -c "$LINT_CFG" "$OVL"/*.yaml "$OVL"/etcd/*.yaml "$T/rendered.yaml" >"$T/lint.out" 2>&1 ||
	fail "yamllint: $(cat "$T/lint.out")"

step "structural checks pass, and catch every known mistake"
"$PY" "$CCHECK" "$T/rendered.yaml" >"$T/check.out" 2>&1 || fail "check_k8s_cluster: $(cat "$T/check.out")"
assert_contains "$(cat "$T/check.out")" "all checks pass"
"$PY" "$CCHECK" --self-test "$T/rendered.yaml" >"$T/selftest.out" 2>&1 ||
	fail "check_k8s_cluster --self-test: $(grep -v '^self-test: caught' "$T/selftest.out")"
assert_match "$(tail -1 "$T/selftest.out")" "^self-test: ([0-9]+) of \\1 mistakes caught$" "self-test summary"
assert_cmp "$(grep -c '^self-test: caught' "$T/selftest.out")" ">=" 45 "mistakes the checks were shown to catch"
# the base's checks on the fulcrum part (check_k8s.py knows Deployments, not StatefulSets)
"$PY" "$CCHECK" --without-etcd "$T/rendered.yaml" >"$T/fulcrum-part.yaml" || fail "--without-etcd"
assert_eq "$(objects "$T/fulcrum-part.yaml")" "$(objects "$T/base.yaml")" "the fulcrum part's objects"
"$PY" "$CHECK" "$T/fulcrum-part.yaml" >"$T/check.out" 2>&1 || fail "check_k8s on the overlay: $(cat "$T/check.out")"
# the checker as a program fails on a broken rendering (an initial-cluster missing a member)
sed 's/,etcd-2=https:[^ ]*2380$//' "$T/rendered.yaml" >"$T/broken.yaml"
assert_not_contains "$(grep -- '--initial-cluster=' "$T/broken.yaml")" "etcd-2=" "the broken copy"
rc=0
"$PY" "$CCHECK" "$T/broken.yaml" >"$T/check.out" 2>&1 || rc=$?
assert_eq "$rc" 1 "check_k8s_cluster on a rendering whose --initial-cluster lacks etcd-2"
assert_contains "$(cat "$T/check.out")" "--initial-cluster names ['etcd-0', 'etcd-1']"

step "an existing etcd: the overlay without etcd/ renders and its fulcrum side passes"
cp -a "$K8S" "$T/k8s"
grep -qx '  - etcd' "$T/k8s/cluster/kustomization.yaml" || fail "no '  - etcd' line in the overlay's bases"
sed -i '/^  - etcd$/d' "$T/k8s/cluster/kustomization.yaml"
kubectl kustomize "$T/k8s/cluster" >"$T/existing.yaml" 2>"$T/kustomize.err" ||
	fail "the overlay without etcd/: $(cat "$T/kustomize.err")"
assert_not_contains "$(objects "$T/existing.yaml")" "etcd" "objects without etcd/"
"$PY" "$CCHECK" "$T/existing.yaml" >"$T/check.out" 2>&1 || fail "check_k8s_cluster without etcd/: $(cat "$T/check.out")"

step "the etcd flags are etcd $(etcd --version | awk '/^etcd Version/ {print $3}')'s, the image is that version, the Secrets are in the README"
ver=$(etcd --version | awk '/^etcd Version/ {print $3}')
etcd --help >"$T/etcd-help.txt" 2>&1 || true
"$PY" "$CCHECK" --etcd "$T/rendered.yaml" >"$T/etcd.facts" || fail "no etcd StatefulSet in the rendering"
n=0
while read -r kind what; do
	case $kind in
	flag)
		grep -qE "^[[:space:]]+$what( |\$)" "$T/etcd-help.txt" || fail "etcd $ver has no flag $what"
		n=$((n + 1)) ;;
	image) assert_match "$what" ":v$ver\$" "the etcd image's version" ;;
	secret)
		grep -qE "create secret [a-z]+ $what( |\$)" "$K8S/README.md" ||
			fail "deploy/k8s/README.md does not say how to create the Secret $what" ;;
	esac
done <"$T/etcd.facts"
assert_cmp "$n" ">=" 20 "etcd flags checked"
grep -q "^[[:space:]]*--no-such-flag" "$T/etcd-help.txt" && fail "the flag check cannot fail"

step "fulcrum -t accepts the config fulcrum runs with (cluster.cfg including fulcrum.cfg)"
mkdir -p "$T/cfg" "$T/tls" "$T/tokens" "$T/sec/server" "$T/sec/peer" "$T/sec/client"
run=$("$PY" "$CCHECK" --configs "$T/rendered.yaml" "$T/cfg") || fail "no config in the ConfigMap"
assert_eq "$run" "cluster.cfg" "the file fulcrum runs with"
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=fulcrum.example" \
	-keyout "$T/tls/tls.key" -out "$T/tls/tls.crt" >"$T/openssl.log" 2>&1 || fail "openssl req failed"
for k in admin hooks metrics; do echo "e2e-$k-token" >"$T/tokens/$k"; done
chmod 600 "$T/tokens"/*
sh "$K8S/control-cert.sh" "$T/ctl" fulcrum >"$T/cert.out" 2>&1 || fail "control-cert.sh: $(cat "$T/cert.out")"
sh "$OVL/etcd-certs.sh" "$T/etcd-certs" fulcrum >"$T/cert.out" 2>&1 || fail "etcd-certs.sh: $(cat "$T/cert.out")"
# the Secrets as the README makes them: ca.crt, tls.crt, tls.key each
for s in server peer client; do
	cp "$T/etcd-certs/ca.crt" "$T/sec/$s/ca.crt"
	cp "$T/etcd-certs/$s.crt" "$T/sec/$s/tls.crt"
	cp "$T/etcd-certs/$s.key" "$T/sec/$s/tls.key"
done
openssl verify -CAfile "$T/etcd-certs/ca.crt" -verify_hostname etcd-1.etcd.fulcrum.svc \
	"$T/etcd-certs/server.crt" >"$T/verify.out" 2>&1 || fail "the server certificate: $(cat "$T/verify.out")"
rc=0
openssl verify -CAfile "$T/etcd-certs/ca.crt" -verify_hostname etcd-1.etcd.other.svc \
	"$T/etcd-certs/server.crt" >"$T/verify.out" 2>&1 || rc=$?
assert_cmp "$rc" ">" 0 "openssl verify of the server certificate for another namespace"
# the mounts of the Deployment, here in the temp dir
for f in cluster.cfg fulcrum.cfg; do
	sed -i -e "s|/etc/fulcrum/tls/|$T/tls/|g" -e "s|/etc/fulcrum/control-tls/|$T/ctl/|g" \
		-e "s|/etc/fulcrum/etcd-tls/|$T/sec/client/|g" -e "s|\"/etc/fulcrum/tokens\"|\"$T/tokens\"|" \
		-e "s|state_dir = \"/var/lib/fulcrum/state\"|state_dir = \"$T/state\"|" "$T/cfg/$f"
	assert_not_contains "$(grep -v '^[[:space:]]*#' "$T/cfg/$f")" "/etc/fulcrum/" "$f with the mounts mapped"
done
# EndpointSlice discovery: as t_k8s_manifests.sh, without the block if this fulcrum lacks it
if ! grep -q 'pools\[\]\.discovery' "$REPO_DIR/docs/configuration.md"; then
	echo "NOTE: this fulcrum does not know pools[].discovery yet: checking without the discovery block"
	sed -i -E 's/^([[:space:]]*)discovery = \{ kubernetes = \{[^}]*\}; \};[[:space:]]*\}/\1}/' "$T/cfg/fulcrum.cfg"
fi
"$FULCRUM" -t -c "$T/cfg/cluster.cfg" >"$T/t.out" 2>&1 || fail "fulcrum -t rejects the overlay's config: $(cat "$T/t.out")"
assert_contains "$(cat "$T/t.out")" "is valid (2 listeners, 2 pools)"
# and it reads the cluster group: a bad value there is refused with the file and line
sed 's/replica_ttl_s = 10;/replica_ttl_s = 1;/' "$T/cfg/cluster.cfg" >"$T/cfg/bad.cfg"
rc=0
"$FULCRUM" -t -c "$T/cfg/bad.cfg" >"$T/t.out" 2>&1 || rc=$?
assert_eq "$rc" 1 "fulcrum -t on a copy with replica_ttl_s = 1"
assert_match "$(cat "$T/t.out")" "bad\\.cfg:[0-9]+: .*replica_ttl_s" "the refusal"

step "the StatefulSet's etcd command lines on loopback: three members with peer and client TLS"
ports C0 C1 C2 P0 P1 P2 M0 M1 M2
CL=("$C0" "$C1" "$C2")
ME=("$M0" "$M1" "$M2")
for i in 0 1 2; do
	"$PY" - "$T/map$i.json" "$i" "$T" "$C0 $C1 $C2" "$P0 $P1 $P2" "$M0 $M1 $M2" <<'EOF'
import json, sys
path, i, t = sys.argv[1], int(sys.argv[2]), sys.argv[3]
c, p, m = (a.split() for a in sys.argv[4:7])
mp = {"/usr/local/bin/etcd": "etcd", "/etc/etcd/server-tls/": t + "/sec/server/",
      "/etc/etcd/peer-tls/": t + "/sec/peer/", "/var/lib/etcd/data": "%s/etcd%d" % (t, i),
      "https://0.0.0.0:2379": "https://127.0.0.1:" + c[i], "https://0.0.0.0:2380": "https://127.0.0.1:" + p[i],
      "http://0.0.0.0:2381": "http://127.0.0.1:" + m[i]}
for j in range(3):
    mp["https://etcd-%d.etcd.fulcrum.svc:2379" % j] = "https://127.0.0.1:" + c[j]
    mp["https://etcd-%d.etcd.fulcrum.svc:2380" % j] = "https://127.0.0.1:" + p[j]
json.dump(mp, open(path, "w"))
EOF
	mapfile -t argv < <("$PY" "$CCHECK" --etcd-argv "$T/rendered.yaml" "$i" "$T/map$i.json")
	printf '%s\n' "${argv[@]}" >"$T/etcd$i.argv"
	for left in .svc 0.0.0.0 /etc/etcd /var/lib; do
		assert_not_contains "${argv[*]}" "$left" "member $i's command line, mapped"
	done
	assert_contains "${argv[*]}" "--name=etcd-$i " "member $i's command line"
	bg "etcd$i" TERM "${argv[@]}"
	EPID[i]=$LAST_PID
done
for i in 0 1 2; do wait_listen "${CL[$i]}" "${EPID[$i]}" 20; done
# readiness as the kubelet probes it: /health on the metrics port
for i in 0 1 2; do
	for ((k = 0; k < 60; k++)); do
		[ "$(hcurl "http://127.0.0.1:${ME[$i]}/health" 2>/dev/null)" = '{"health":"true"}' ] && break
		sleep 0.5
	done
	assert_eq "$(hcurl "http://127.0.0.1:${ME[$i]}/health")" '{"health":"true"}' "member $i's /health"
done
EPS="https://127.0.0.1:$C0,https://127.0.0.1:$C1,https://127.0.0.1:$C2"
etcdctl --endpoints="$EPS" --cacert "$T/sec/client/ca.crt" --cert "$T/sec/client/tls.crt" \
	--key "$T/sec/client/tls.key" --command-timeout=5s endpoint health >"$T/ectl.out" 2>&1 ||
	fail "etcdctl with the client certificate: $(cat "$T/ectl.out")"
assert_eq "$(grep -c 'is healthy' "$T/ectl.out")" 3 "members healthy over TLS"
rc=0
etcdctl --endpoints="https://127.0.0.1:$C0" --cacert "$T/sec/client/ca.crt" --dial-timeout=2s \
	--command-timeout=3s endpoint health >"$T/ectl.out" 2>&1 || rc=$?
assert_cmp "$rc" ">" 0 "etcdctl without a client certificate"

step "fulcrum with the overlay's cluster group reaches the store over TLS"
ports W1 W2 K
# the pod's addresses and the members' names, here on loopback; discovery needs an API
# server, which this test has not: its block goes
sed -i -E -e "s|0\\.0\\.0\\.0:8443|127.0.0.1:$W1|" -e "s|0\\.0\\.0\\.0:9443|127.0.0.1:$W2|" \
	-e "s|0\\.0\\.0\\.0:9000|127.0.0.1:$K|" \
	-e 's/^([[:space:]]*)discovery = \{ kubernetes = \{[^}]*\}; \};[[:space:]]*\}/\1}/' "$T/cfg/fulcrum.cfg"
for j in 0 1 2; do
	sed -i "s|https://etcd-$j\\.etcd\\.fulcrum\\.svc:2379|https://127.0.0.1:${CL[$j]}|" "$T/cfg/cluster.cfg"
done
assert_not_contains "$(grep -v '^[[:space:]]*#' "$T/cfg/cluster.cfg")" ".svc" "cluster.cfg with the members mapped"
bg fulcrum TERM "$FULCRUM" -c "$T/cfg/cluster.cfg"
FULCRUM_PID=$LAST_PID
wait_listen "$K" "$FULCRUM_PID" 15
capi() { hcurl --cacert "$T/ctl/ca.crt" -H "Authorization: Bearer e2e-admin-token" "https://localhost:$K$1" "${@:2}"; }
for ((k = 0; k < 100; k++)); do
	capi /metrics 2>/dev/null | grep -qx 'fulcrum_cluster_store_up 1' && break
	sleep 0.2
done
capi /metrics | grep -qx 'fulcrum_cluster_store_up 1' || fail "fulcrum_cluster_store_up is not 1 after 20 s"
for ((k = 0; k < 50; k++)); do
	[ "$(http_status "https://localhost:$K/readyz" --cacert "$T/ctl/ca.crt")" = 200 ] && break
	sleep 0.2
done
assert_eq "$(http_status "https://localhost:$K/readyz" --cacert "$T/ctl/ca.crt")" 200 "/readyz once synced"
# replica_id unset: the host name (a pod's name) and control.listen
want=$("$PY" -c 'import re, socket, sys
print(re.sub(r"[^A-Za-z0-9._-]", "-", socket.gethostname() + "-" + sys.argv[1])[:63])' "127.0.0.1:$K")
capi /v1/cluster >"$T/cluster.json" || fail "GET /v1/cluster"
assert_eq "$(json_get "$(cat "$T/cluster.json")" '[r["id"] for r in d["replicas"] if r.get("self")][0]')" "$want" \
	"this replica's id"
st=$(capi /v1/pools/flask/backends/web-9 -o /dev/null -w '%{http_code}' -X PUT \
	-H "Content-Type: application/json" -d '{"address": "127.0.0.1:9"}')
assert_eq "$st" 201 "a backend PUT through the store"
etcdctl --endpoints="$EPS" --cacert "$T/sec/client/ca.crt" --cert "$T/sec/client/tls.crt" \
	--key "$T/sec/client/tls.key" --command-timeout=5s get --keys-only /fulcrum/edge/flask/web-9 >"$T/ectl.out" 2>&1 ||
	fail "etcdctl get: $(cat "$T/ectl.out")"
assert_contains "$(cat "$T/ectl.out")" "/fulcrum/edge/flask/web-9" "the backend's key in etcd"
stop_pid "$FULCRUM_PID" TERM 15 || fail "fulcrum did not stop"
echo "NOTE: no Kubernetes cluster and no Docker engine here: no image is pulled; the manifests are checked offline"
echo "PASS: $TEST_NAME"
