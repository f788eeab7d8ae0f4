"""check_k8s_cluster.py: structural checks of the rendered cluster overlay
(deploy/k8s/cluster), offline, beside check_k8s.py's checks of the base.

  check_k8s_cluster.py RENDERED.yaml              every check; prints what is wrong, exits 1 if any
  check_k8s_cluster.py --self-test RENDERED.yaml  applies each known mistake to a copy and
                                                  asserts the checks catch it
  check_k8s_cluster.py --without-etcd RENDERED.yaml
                                                  the rendering without the etcd objects (for
                                                  check_k8s.py, which knows Deployments only)
  check_k8s_cluster.py --configs RENDERED.yaml DIR
                                                  writes the fulcrum ConfigMap's files to DIR and
                                                  prints the one fulcrum runs with (its -c)
  check_k8s_cluster.py --etcd RENDERED.yaml       prints "image", "secret NAME" and "flag --x" lines
  check_k8s_cluster.py --etcd-argv RENDERED.yaml I MAP.json
                                                  member I's etcd command line, $(VAR)s
                                                  expanded, every URL, path and port replaced
                                                  by MAP ({"old": "new"}), one word a line

What is checked. fulcrum: at least 3 replicas; its -c names a file of the ConfigMap it
mounts, which @includes another file of that ConfigMap and has a cluster group with store
"etcd", https endpoints and tls files (ca, cert, key) on a Secret mounted in the container;
no Egress policy keeps it from etcd. The endpoints are exactly the StatefulSet's members'
DNS names (POD.SERVICE.NAMESPACE.svc[.cluster.local]) at the headless Service's client
port. etcd: an odd number of replicas >= 3, started in parallel; selector = template
labels; its serviceName is a headless Service that selects it and publishes not-ready
addresses; --name is the pod's name and POD_NAME/POD_NAMESPACE come from the downward API;
--initial-cluster names every member (NAME-0..N-1) with its peer URL, and each member's
--initial-advertise-peer-urls and --advertise-client-urls are its own entries; every URL
is https except the metrics one; listen ports are container ports; client and peer
certificates required (--client-cert-auth, --peer-client-cert-auth, an allowed peer CN),
every TLS file on a mounted Secret; the data dir on a volumeClaimTemplate; readiness is
/health on the --listen-metrics-urls port; a required anti-affinity per node; a PDB that
keeps quorum; non-root, read-only root, no privilege escalation, resources; a
NetworkPolicy that admits the peer port from the members only and the client port from
fulcrum and the members only. With no etcd StatefulSet in the rendering (an existing
etcd), only the fulcrum side is checked."""
import copy
import json
import re
import sys

import yaml

from check_k8s import (FULCRUM, group, load, mount_of, name, ns, of_kind,
                       pod_spec, port_number, secret_of, selects, template_labels)

ETCD = "etcd"                        # the StatefulSet's app.kubernetes.io/name


def is_etcd(d):
    return (d.get("metadata", {}).get("labels") or {}).get("app.kubernetes.io/name") == ETCD


def fdep(docs):
    return next((d for d in of_kind(docs, "Deployment") if name(d) == FULCRUM), None)


def sts(docs):
    return next((d for d in of_kind(docs, "StatefulSet") if is_etcd(d)), None)


def strip(text):
    """libconfig text without its comments; strings (URLs: "https://...") kept whole."""
    return re.sub(r'("(?:[^"\\]|\\.)*")|/\*.*?\*/|(?:#|//)[^\n]*',
                  lambda m: m.group(1) or "", text, flags=re.S)


def fulcrum_files(docs):
    """(config map data, file fulcrum runs with, its name in the data) or (None, ...)."""
    d = fdep(docs)
    c = next((c for c in pod_spec(d).get("containers", []) if c["name"] == FULCRUM), {})
    args = c.get("args", [])
    cfg = args[args.index("-c") + 1] if "-c" in args[:-1] else None
    vols = {v["name"]: v for v in pod_spec(d).get("volumes", [])}
    m, v = mount_of(c, vols, cfg or "/nonexistent/x")
    if not cfg or not m or "configMap" not in (v or {}):
        return None, cfg, None
    cm = next((x for x in of_kind(docs, "ConfigMap") if name(x) == v["configMap"].get("name")), None)
    key = cfg[len(m["mountPath"].rstrip("/")) + 1:]
    return (cm or {}).get("data", {}), cfg, key


def container(d, n=None):
    cs = pod_spec(d).get("containers", [])
    return next((c for c in cs if n is None or c["name"] == n), {})


def flags(c):
    """{--flag: value or True} of a container's command + args."""
    out = {}
    for w in (c.get("command") or []) + (c.get("args") or []):
        w = str(w)
        if w.startswith("--"):
            k, _, v = w.partition("=")
            out[k] = v if _ else True
    return out


def expand(value, env):
    return re.sub(r"\$\((\w+)\)", lambda m: env.get(m.group(1), m.group(0)), value)


def url_parts(u):
    m = re.match(r"^(https?)://([^:/]+):(\d+)$", u)
    return (m.group(1), m.group(2), int(m.group(3))) if m else (None, None, None)


def check(docs):
    errs = []
    d = fdep(docs)
    if not d:
        return ["no Deployment named %s" % FULCRUM]
    # --- fulcrum: replicas, the config it runs with, TLS to etcd
    if d["spec"].get("replicas", 1) < 3:
        errs.append("fulcrum: %s replicas; cluster mode runs 3" % d["spec"].get("replicas", 1))
    data, cfg, key = fulcrum_files(docs)
    fc = container(d, FULCRUM)
    if data is None or key not in data:
        return errs + ["fulcrum: -c %s is no file of the ConfigMap it mounts" % cfg]
    text = strip(data[key])
    for inc in re.findall(r'^\s*@include\s+"([^"]+)"', text, re.M):
        if inc not in data:
            errs.append("fulcrum: %s includes %s, which is not in the ConfigMap" % (key, inc))
    cg = group(text, "cluster")
    if cg is None:
        return errs + ["fulcrum: %s has no cluster group" % key]
    store = re.search(r'\bstore\s*[=:]\s*"([^"]+)"', cg)
    if not store or store.group(1) != "etcd":
        errs.append("fulcrum: cluster.store is %s, not \"etcd\"" % (store.group(1) if store else "unset"))
    eps = re.findall(r'"([^"]+)"', group(cg, "endpoints", "(") or "")
    if not eps:
        errs.append("fulcrum: cluster.endpoints is empty")
    for e in eps:
        if url_parts(e)[0] != "https":
            errs.append("fulcrum: cluster endpoint %s is not https://host:port" % e)
    tg = group(cg, "tls") or ""
    vols = {v["name"]: v for v in pod_spec(d).get("volumes", [])}
    for k in ("ca_file", "cert_file", "key_file"):
        f = re.search(r'\b%s\s*[=:]\s*"([^"]+)"' % k, tg)
        if not f:
            errs.append("fulcrum: cluster.tls.%s is not set (etcd requires a client certificate)" % k)
            continue
        m, v = mount_of(fc, vols, f.group(1))
        if not m or not secret_of(v or {}):
            errs.append("fulcrum: cluster.tls.%s %s is not on a Secret volume" % (k, f.group(1)))
    for p in of_kind(docs, "NetworkPolicy"):
        if selects(p["spec"].get("podSelector", {}).get("matchLabels", {}), template_labels(d)) and \
                "Egress" in (p["spec"].get("policyTypes") or []):
            errs.append("NetworkPolicy %s: restricts fulcrum's egress (etcd must stay reachable)" % name(p))

    s = sts(docs)
    if not s:
        return errs                 # an existing etcd: its names are the operator's
    # --- etcd: the StatefulSet and its Service
    n = s["spec"].get("replicas", 1)
    sn = name(s)
    if n < 3 or n % 2 == 0:
        errs.append("etcd: %d members; run an odd number, at least 3" % n)
    if s["spec"].get("podManagementPolicy") != "Parallel":
        errs.append("etcd: podManagementPolicy is not Parallel (the members wait for each other to be ready)")
    labels = template_labels(s)
    if not selects(s["spec"].get("selector", {}).get("matchLabels", {}), labels):
        errs.append("etcd: the StatefulSet's selector does not match its pod template labels")
    svc = next((x for x in of_kind(docs, "Service") if name(x) == s["spec"].get("serviceName")), None)
    if not svc:
        return errs + ["etcd: serviceName %s is no Service" % s["spec"].get("serviceName")]
    if svc["spec"].get("clusterIP") != "None":
        errs.append("etcd: Service %s is not headless (clusterIP: None)" % name(svc))
    if not svc["spec"].get("publishNotReadyAddresses"):
        errs.append("etcd: Service %s does not publish not-ready addresses (the members could not "
                    "find each other before there is a leader)" % name(svc))
    if not selects(svc["spec"].get("selector", {}), labels):
        errs.append("etcd: Service %s does not select the StatefulSet's pods" % name(svc))
    c = container(s)
    env = {}
    for e in c.get("env", []):
        fp = ((e.get("valueFrom") or {}).get("fieldRef") or {}).get("fieldPath")
        env[e["name"]] = fp
    if env.get("POD_NAME") != "metadata.name" or env.get("POD_NAMESPACE") != "metadata.namespace":
        errs.append("etcd: POD_NAME and POD_NAMESPACE do not come from metadata.name and metadata.namespace")
    f = flags(c)
    sport = {p.get("name"): p.get("port") for p in svc["spec"].get("ports", [])}
    cport = {p.get("name"): p.get("containerPort") for p in c.get("ports", [])}
    for k in ("client", "peer"):
        sp = next((p for p in svc["spec"].get("ports", []) if p.get("name") == k), None)
        if not sp or port_number(c, sp.get("targetPort", sp.get("port"))) is None:
            errs.append("etcd: Service %s has no %s port that is a container port" % (name(svc), k))
    space = ns(s)
    dns = lambda pod: "%s.%s.%s.svc" % (pod, name(svc), space)  # noqa: E731
    members = ["%s-%d" % (sn, i) for i in range(n)]
    if f.get("--name") != "$(POD_NAME)":
        errs.append("etcd: --name is %r, not $(POD_NAME)" % f.get("--name"))
    ic = {}
    for part in str(f.get("--initial-cluster", "")).split(","):
        k, _, v = part.partition("=")
        if k:
            ic[k] = expand(v, {"POD_NAMESPACE": space})
    if sorted(ic) != sorted(members):
        errs.append("etcd: --initial-cluster names %s, the StatefulSet's pods are %s" % (sorted(ic), members))
    for pod in members:
        penv = {"POD_NAME": pod, "POD_NAMESPACE": space}
        adv = expand(str(f.get("--initial-advertise-peer-urls", "")), penv)
        if ic.get(pod) != adv:
            errs.append("etcd: %s advertises peer URL %s, --initial-cluster says %s" % (pod, adv, ic.get(pod)))
        if url_parts(adv)[1:] != (dns(pod), sport.get("peer")):
            errs.append("etcd: %s's peer URL %s is not https://%s:%s" % (pod, adv, dns(pod), sport.get("peer")))
        cl = expand(str(f.get("--advertise-client-urls", "")), penv)
        if url_parts(cl)[1:] != (dns(pod), sport.get("client")):
            errs.append("etcd: %s advertises client URL %s, not https://%s:%s" % (pod, cl, dns(pod), sport.get("client")))
    for k, port in (("--listen-client-urls", "client"), ("--listen-peer-urls", "peer"),
                    ("--advertise-client-urls", None), ("--initial-advertise-peer-urls", None)):
        for u in str(f.get(k, "")).split(","):
            scheme, _, p = url_parts(u)
            if scheme != "https":
                errs.append("etcd: %s %s is not https" % (k, u))
            if port and p != cport.get(port):
                errs.append("etcd: %s %s is not the container port %s (%s)" % (k, u, port, cport.get(port)))
    for k in ("--client-cert-auth", "--peer-client-cert-auth"):
        if f.get(k) not in (True, "true"):
            errs.append("etcd: %s is not set (anyone who reaches the port gets in)" % k)
    if not f.get("--peer-cert-allowed-cn"):
        errs.append("etcd: no --peer-cert-allowed-cn (a client certificate of the CA could join as a member)")
    svols = {v["name"]: v for v in pod_spec(s).get("volumes", [])}
    for k in ("--trusted-ca-file", "--cert-file", "--key-file", "--peer-trusted-ca-file",
              "--peer-cert-file", "--peer-key-file"):
        m, v = mount_of(c, svols, str(f.get(k, "/nonexistent/x")))
        if k not in f or not m or not secret_of(v or {}):
            errs.append("etcd: %s %s is not on a Secret volume" % (k, f.get(k)))
    claims = [t["metadata"]["name"] for t in s["spec"].get("volumeClaimTemplates", [])]
    dd = str(f.get("--data-dir", ""))
    m = next((m for m in c.get("volumeMounts", []) if dd.startswith(m["mountPath"].rstrip("/") + "/")
              or dd == m["mountPath"]), None)
    if not m or m["name"] not in claims:
        errs.append("etcd: --data-dir %s is not on a volumeClaimTemplate (%s)" % (dd or "unset", claims))
    rp = (c.get("readinessProbe") or {}).get("httpGet") or {}
    murl = str(f.get("--listen-metrics-urls", ""))
    mscheme, _, mport = url_parts(murl)
    if rp.get("path") != "/health":
        errs.append("etcd: readiness is not httpGet /health")
    elif port_number(c, rp.get("port")) != mport or (rp.get("scheme", "HTTP").lower() != (mscheme or "")):
        errs.append("etcd: readiness probes %s://:%s, --listen-metrics-urls is %s"
                    % (rp.get("scheme", "HTTP"), port_number(c, rp.get("port")), murl or "unset"))
    aa = ((pod_spec(s).get("affinity") or {}).get("podAntiAffinity") or {})
    req = aa.get("requiredDuringSchedulingIgnoredDuringExecution") or []
    if not any(t.get("topologyKey") == "kubernetes.io/hostname" and
               selects(t.get("labelSelector", {}).get("matchLabels", {}), labels) for t in req):
        errs.append("etcd: no required anti-affinity per node (two members on one node: one node lost, quorum lost)")
    pdbs = [p for p in of_kind(docs, "PodDisruptionBudget")
            if selects(p["spec"].get("selector", {}).get("matchLabels", {}), labels)]
    quorum = n // 2 + 1
    if not pdbs:
        errs.append("etcd: no PodDisruptionBudget selects the members")
    for p in pdbs:
        mina, maxu = p["spec"].get("minAvailable"), p["spec"].get("maxUnavailable")
        if not ((isinstance(mina, int) and quorum <= mina < n) or (isinstance(maxu, int) and 0 < maxu <= n - quorum)):
            errs.append("etcd: PodDisruptionBudget %s does not keep a quorum of %d (minAvailable %s, "
                        "maxUnavailable %s)" % (name(p), quorum, mina, maxu))
    sc, psc = c.get("securityContext") or {}, pod_spec(s).get("securityContext") or {}
    if not sc.get("runAsNonRoot", psc.get("runAsNonRoot")) or sc.get("runAsUser", psc.get("runAsUser")) == 0:
        errs.append("etcd: not run as non-root")
    if sc.get("readOnlyRootFilesystem") is not True or sc.get("allowPrivilegeEscalation") is not False:
        errs.append("etcd: readOnlyRootFilesystem or allowPrivilegeEscalation not set")
    res = c.get("resources") or {}
    if "memory" not in (res.get("requests") or {}) or "memory" not in (res.get("limits") or {}):
        errs.append("etcd: resources not set")
    # --- fulcrum's endpoints are the members
    want = set()
    for pod in members:
        want |= {(dns(pod), sport.get("client")), (dns(pod) + ".cluster.local", sport.get("client"))}
    got = [url_parts(e)[1:] for e in eps]
    if not all(g in want for g in got) or len({g[0].split(".")[0] for g in got}) != n:
        errs.append("fulcrum: cluster.endpoints %s are not the %d members https://%s:%s"
                    % (eps, n, dns(sn + "-N"), sport.get("client")))
    # --- NetworkPolicy of the members
    pols = [p for p in of_kind(docs, "NetworkPolicy")
            if selects(p["spec"].get("podSelector", {}).get("matchLabels", {}), labels)]
    if not pols:
        errs.append("etcd: no NetworkPolicy selects the members")
    flabels = template_labels(d)
    admitted = {"client": set(), "peer": set()}
    for p in pols:
        for rule in p["spec"].get("ingress") or []:
            ports = {port_number(c, x.get("port")) for x in rule.get("ports") or []} or {"all"}
            peers = rule.get("from") or [{}]
            for k in ("client", "peer"):
                if cport.get(k) in ports or "all" in ports:
                    for peer in peers:
                        if "podSelector" in peer and "namespaceSelector" not in peer and "ipBlock" not in peer:
                            ml = peer["podSelector"].get("matchLabels", {})
                            admitted[k].add("etcd" if selects(ml, labels) else
                                            "fulcrum" if selects(ml, flabels) else "other")
                        else:
                            admitted[k].add("other")
    if admitted["peer"] != {"etcd"}:
        errs.append("etcd: the peer port is admitted from %s, not from the members only" % sorted(admitted["peer"]))
    if admitted["client"] != {"etcd", "fulcrum"}:
        errs.append("etcd: the client port is admitted from %s, not from fulcrum and the members only"
                    % sorted(admitted["client"]))
    return errs


# ---- self-test: each known mistake must be caught

def s_c(D):
    return container(sts(D))


def set_flag(D, flag, value):
    args = s_c(D)["args"]
    for i, w in enumerate(args):
        if w.split("=", 1)[0] == flag:
            if value is None:
                args.pop(i)
            else:
                args[i] = "%s=%s" % (flag, value) if value is not True else flag
            return
    raise AssertionError("no flag %s" % flag)


def sub_flag(D, flag, old, new):
    args = s_c(D)["args"]
    i = next(i for i, w in enumerate(args) if w.split("=", 1)[0] == flag)
    assert old in args[i], "mutation did not apply: %s" % old
    args[i] = args[i].replace(old, new)


def set_cfg(D, pattern, repl):
    data, _, key = fulcrum_files(D)
    new = re.sub(pattern, repl, data[key])
    assert new != data[key], "mutation did not apply: %s" % pattern
    data[key] = new


def etcd_svc(D):
    return next(x for x in of_kind(D, "Service") if name(x) == sts(D)["spec"]["serviceName"])


def etcd_pol(D):
    return next(p for p in of_kind(D, "NetworkPolicy") if is_etcd(p))


MUTATIONS = [
    ("two fulcrum replicas", "cluster mode runs 3",
     lambda D: fdep(D)["spec"].update({"replicas": 2})),
    ("fulcrum runs a file the ConfigMap lacks", "no file of the ConfigMap",
     lambda D: container(fdep(D), FULCRUM).update({"args": ["-c", "/etc/fulcrum/config/other.cfg"]})),
    ("an include of a missing file", "not in the ConfigMap",
     lambda D: set_cfg(D, r'@include "fulcrum.cfg"', '@include "base.cfg"')),
    ("no cluster group", "no cluster group",
     lambda D: set_cfg(D, r"\bcluster = \{", "clustr = {")),
    ("an http endpoint", "is not https",
     lambda D: set_cfg(D, r'"https://etcd-0', '"http://etcd-0')),
    ("an endpoint that is no member", "are not the 3 members",
     lambda D: set_cfg(D, r"etcd-2\.etcd\.", "etcd-3.etcd.")),
    ("endpoints in another namespace", "are not the 3 members",
     lambda D: set_cfg(D, r"\.etcd\.fulcrum\.svc", ".etcd.default.svc")),
    ("an endpoint on the peer port", "are not the 3 members",
     lambda D: set_cfg(D, r"etcd-1\.etcd\.fulcrum\.svc:2379", "etcd-1.etcd.fulcrum.svc:2380")),
    ("no client certificate", "cluster.tls.cert_file",
     lambda D: set_cfg(D, r'cert_file = "[^"]+";', "")),
    ("client key not on a Secret", "not on a Secret volume",
     lambda D: set_cfg(D, r'key_file = "/etc/fulcrum/etcd-tls/', 'key_file = "/etc/ssl/private/')),
    ("the etcd-tls Secret not mounted", "not on a Secret volume",
     lambda D: container(fdep(D), FULCRUM).update({"volumeMounts": [
         m for m in container(fdep(D), FULCRUM)["volumeMounts"] if m["name"] != "etcd-tls"]})),
    ("an egress policy on fulcrum", "egress",
     lambda D: next(p for p in of_kind(D, "NetworkPolicy") if not is_etcd(p))["spec"].update(
         {"policyTypes": ["Ingress", "Egress"]})),
    ("two members", "odd number",
     lambda D: sts(D)["spec"].update({"replicas": 2})),
    ("four members", "odd number",
     lambda D: sts(D)["spec"].update({"replicas": 4})),
    ("ordered start", "Parallel",
     lambda D: sts(D)["spec"].pop("podManagementPolicy")),
    ("StatefulSet selector not its labels", "selector does not match",
     lambda D: sts(D)["spec"]["selector"]["matchLabels"].update({"app.kubernetes.io/name": "etc"})),
    ("serviceName of no Service", "is no Service",
     lambda D: sts(D)["spec"].update({"serviceName": "etcd-headless"})),
    ("a Service with a cluster IP", "not headless",
     lambda D: etcd_svc(D)["spec"].pop("clusterIP")),
    ("not-ready addresses unpublished", "not-ready addresses",
     lambda D: etcd_svc(D)["spec"].pop("publishNotReadyAddresses")),
    ("a Service that selects other pods", "does not select",
     lambda D: etcd_svc(D)["spec"]["selector"].update({"app.kubernetes.io/name": "etcd2"})),
    ("a Service port on no container port", "no peer port",
     lambda D: etcd_svc(D)["spec"]["ports"][1].update({"targetPort": "peers"})),
    ("POD_NAME not from the pod", "POD_NAME",
     lambda D: s_c(D)["env"][0].update({"valueFrom": None, "value": "etcd"})),
    ("a fixed --name", "--name is",
     lambda D: set_flag(D, "--name", "etcd-0")),
    ("initial-cluster without a member", "--initial-cluster names",
     lambda D: sub_flag(D, "--initial-cluster", ",etcd-2=https://etcd-2.etcd.$(POD_NAMESPACE).svc:2380", "")),
    ("initial-cluster with a wrong member name", "--initial-cluster names",
     lambda D: sub_flag(D, "--initial-cluster", "etcd-1=", "member-1=")),
    ("initial-cluster with another Service's name", "advertises peer URL",
     lambda D: sub_flag(D, "--initial-cluster", "etcd-2.etcd.", "etcd-2.etcd-peers.")),
    ("initial-cluster in a fixed other namespace", "advertises peer URL",
     lambda D: sub_flag(D, "--initial-cluster", "etcd-0.etcd.$(POD_NAMESPACE)", "etcd-0.etcd.default")),
    ("advertised peer URL of another pod", "advertises peer URL",
     lambda D: sub_flag(D, "--initial-advertise-peer-urls", "$(POD_NAME).", "etcd-0.")),
    ("advertised client URL on the peer port", "advertises client URL",
     lambda D: sub_flag(D, "--advertise-client-urls", ":2379", ":2380")),
    ("plain-http client port", "is not https",
     lambda D: sub_flag(D, "--listen-client-urls", "https://", "http://")),
    ("plain-http peers", "is not https",
     lambda D: sub_flag(D, "--listen-peer-urls", "https://", "http://")),
    ("listening on a port that is no container port", "is not the container port",
     lambda D: sub_flag(D, "--listen-client-urls", ":2379", ":2389")),
    ("no client certificates required", "--client-cert-auth",
     lambda D: set_flag(D, "--client-cert-auth", None)),
    ("no peer certificates required", "--peer-client-cert-auth",
     lambda D: set_flag(D, "--peer-client-cert-auth", None)),
    ("any CN may join as a peer", "peer-cert-allowed-cn",
     lambda D: set_flag(D, "--peer-cert-allowed-cn", None)),
    ("a key not on a Secret", "--peer-key-file",
     lambda D: set_flag(D, "--peer-key-file", "/etc/ssl/private/peer.key")),
    ("data on the container's filesystem", "--data-dir",
     lambda D: set_flag(D, "--data-dir", "/tmp/etcd")),
    ("readiness on the client port", "readiness probes",
     lambda D: s_c(D)["readinessProbe"]["httpGet"].update({"port": "client"})),
    ("readiness over https on the metrics port", "readiness probes",
     lambda D: s_c(D)["readinessProbe"]["httpGet"].update({"scheme": "HTTPS"})),
    ("readiness on /metrics", "not httpGet /health",
     lambda D: s_c(D)["readinessProbe"]["httpGet"].update({"path": "/metrics"})),
    ("preferred anti-affinity only", "anti-affinity",
     lambda D: pod_spec(sts(D))["affinity"]["podAntiAffinity"].update({
         "preferredDuringSchedulingIgnoredDuringExecution": [{"weight": 100, "podAffinityTerm":
             pod_spec(sts(D))["affinity"]["podAntiAffinity"].pop("requiredDuringSchedulingIgnoredDuringExecution")[0]}]})),
    ("no PDB", "no PodDisruptionBudget",
     lambda D: D.remove(next(p for p in of_kind(D, "PodDisruptionBudget") if is_etcd(p)))),
    ("PDB below quorum", "quorum",
     lambda D: next(p for p in of_kind(D, "PodDisruptionBudget") if is_etcd(p))["spec"].update({"minAvailable": 1})),
    ("PDB that blocks every disruption", "quorum",
     lambda D: next(p for p in of_kind(D, "PodDisruptionBudget") if is_etcd(p))["spec"].update({"minAvailable": 3})),
    ("etcd as root", "non-root",
     lambda D: pod_spec(sts(D))["securityContext"].update({"runAsUser": 0})),
    ("writable root filesystem", "readOnlyRootFilesystem",
     lambda D: s_c(D)["securityContext"].update({"readOnlyRootFilesystem": False})),
    ("no memory limit", "resources",
     lambda D: s_c(D)["resources"].pop("limits")),
    ("no NetworkPolicy on the members", "no NetworkPolicy",
     lambda D: D.remove(etcd_pol(D))),
    ("peer port from fulcrum", "peer port is admitted",
     lambda D: etcd_pol(D)["spec"]["ingress"][1]["from"].append(
         {"podSelector": {"matchLabels": {"app.kubernetes.io/name": FULCRUM}}})),
    ("client port from any pod", "client port is admitted",
     lambda D: etcd_pol(D)["spec"]["ingress"][0].pop("from")),
    ("client port from every namespace", "client port is admitted",
     lambda D: etcd_pol(D)["spec"]["ingress"][0]["from"].append({"namespaceSelector": {}})),
]


def self_test(docs):
    base = check(docs)
    if base:
        print("self-test: the overlay itself fails:\n  " + "\n  ".join(base))
        return 1
    bad = 0
    for what, expect, mutate in MUTATIONS:
        d = copy.deepcopy(docs)
        mutate(d)
        errs = check(d)
        if not any(expect in e for e in errs):
            bad += 1
            print("self-test: NOT CAUGHT: %s (expected an error with %r; got %s)" % (what, expect, errs))
        else:
            print("self-test: caught: %s: %s" % (what, next(e for e in errs if expect in e)))
    print("self-test: %d of %d mistakes caught" % (len(MUTATIONS) - bad, len(MUTATIONS)))
    return 1 if bad else 0


def etcd_argv(docs, i, mapping):
    s = sts(docs)
    c = container(s)
    env = {"POD_NAME": "%s-%d" % (name(s), i), "POD_NAMESPACE": ns(s)}
    out = []
    for w in (c.get("command") or []) + (c.get("args") or []):
        w = expand(str(w), env)
        for old in sorted(mapping, key=len, reverse=True):
            w = w.replace(old, mapping[old])
        out.append(w)
    return out


def main():
    args = sys.argv[1:]
    if len(args) == 2 and args[0] == "--self-test":
        return self_test(load(args[1]))
    if len(args) == 2 and args[0] == "--without-etcd":
        yaml.safe_dump_all([d for d in load(args[1]) if not is_etcd(d)], sys.stdout)
        return 0
    if len(args) == 3 and args[0] == "--configs":
        data, cfg, key = fulcrum_files(load(args[1]))
        if not data or key not in data:
            print("no config file fulcrum runs with in the rendering", file=sys.stderr)
            return 1
        for k, v in data.items():
            with open("%s/%s" % (args[2], k), "w") as f:
                f.write(v)
        print(key)
        return 0
    if len(args) == 2 and args[0] == "--etcd":
        docs = load(args[1])
        s = sts(docs)
        if not s:
            return 1
        c = container(s)
        print("image %s" % c.get("image"))
        for v in pod_spec(s).get("volumes", []):
            if secret_of(v):
                print("secret %s" % secret_of(v))
        for v in pod_spec(fdep(docs)).get("volumes", []):
            if secret_of(v):
                print("secret %s" % secret_of(v))
        for k in flags(c):
            print("flag %s" % k)
        return 0
    if len(args) == 4 and args[0] == "--etcd-argv":
        with open(args[3]) as f:
            mapping = json.load(f)
        print("\n".join(etcd_argv(load(args[1]), int(args[2]), mapping)))
        return 0
    if len(args) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    errs = check(load(args[0]))
    for e in errs:
        print("check_k8s_cluster: " + e)
    print("check_k8s_cluster: %s" % ("%d problem(s)" % len(errs) if errs else "all checks pass"))
    return 1 if errs else 0


if __name__ == "__main__":
    sys.exit(main())
