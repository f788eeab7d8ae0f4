"""check_k8s.py: structural checks of the rendered kustomize base (deploy/k8s), offline.

  check_k8s.py RENDERED.yaml              every check; prints what is wrong, exits 1 if any
  check_k8s.py --self-test RENDERED.yaml  applies each known mistake to a copy and asserts
                                          the checks catch it (and that the base passes)
  check_k8s.py --config RENDERED.yaml     prints fulcrum's config from the ConfigMap

What is checked: selectors of Services, PodDisruptionBudgets and Deployments match pod
template labels; every targetPort and probe port exists among the container's ports;
RBAC is exactly get/list/watch on endpointslices (discovery.k8s.io), bound to fulcrum's
ServiceAccount only; the stop sequences fit in terminationGracePeriodSeconds (fulcrum:
preStop sleep + shutdown_timeout_s from the config; hooks: drain --wait-timeout + remove
--timeout + gunicorn --graceful-timeout); non-root, read-only root filesystem, no
privilege escalation; fulcrum's probes are /readyz and /healthz on the control port of
the config; the LoadBalancer Service exposes data listener ports only; resources set;
state_dir on an emptyDir; TLS from a Secret mounted where the config reads it.
The control API: its listener speaks TLS (control.tls) and the probes use HTTPS; the
tokens Secret is mounted whole at control.token_dir in the fulcrum pod; the app's hooks
call https with --cacert from a mounted Secret and get only a token file whose scope is
not admin (a Secret volume with items: that key alone). A NetworkPolicy on the fulcrum
pods admits the data ports from anywhere and the control port only from the app's pods
(by label) and the monitoring namespace."""
import copy
import re
import shlex
import sys

import yaml

FULCRUM = "fulcrum"                 # the Deployment and container name of fulcrum
GRACE_MARGIN_S = 2                  # what kubelet needs between the last step and SIGKILL
RBAC_RULE = {"apiGroups": ["discovery.k8s.io"], "resources": ["endpointslices"],
             "verbs": ["get", "list", "watch"]}


def load(path):
    with open(path) as f:
        return [d for d in yaml.safe_load_all(f) if d]


def of_kind(docs, kind):
    return [d for d in docs if d.get("kind") == kind]


def name(d):
    return d.get("metadata", {}).get("name", "?")


def ns(d):
    return d.get("metadata", {}).get("namespace", "default")


def pod_spec(dep):
    return dep.get("spec", {}).get("template", {}).get("spec", {})


def template_labels(dep):
    return dep.get("spec", {}).get("template", {}).get("metadata", {}).get("labels", {}) or {}


def selects(selector, labels):
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def fulcrum_config(docs):
    """The fulcrum.cfg text of the ConfigMap the fulcrum Deployment mounts."""
    dep = next((d for d in of_kind(docs, "Deployment") if name(d) == FULCRUM), None)
    if not dep:
        return None
    for v in pod_spec(dep).get("volumes", []):
        if "configMap" in v:
            cm = next((c for c in of_kind(docs, "ConfigMap") if name(c) == v["configMap"].get("name")), None)
            if cm and "fulcrum.cfg" in cm.get("data", {}):
                return cm["data"]["fulcrum.cfg"]
    return None


def config_facts(text):
    """What the checks need from fulcrum's libconfig text (comments stripped)."""
    t = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    t = "\n".join(re.sub(r"(#|//).*$", "", line) for line in t.splitlines())
    m = re.search(r"\bshutdown_timeout_s\s*[=:]\s*(\d+)", t)
    ctl = re.search(r"\bcontrol\s*[=:]\s*\{[^}]*?\blisten\s*[=:]\s*\"([^\"]+)\"", t, flags=re.S)
    sd = re.search(r"\bstate_dir\s*[=:]\s*\"([^\"]+)\"", t)
    cg = group(t, "control") or ""
    td = re.search(r"\btoken_dir\s*[=:]\s*\"([^\"]+)\"", cg)
    tokens = {}
    for body in re.findall(r"\{([^{}]*\bname\s*[=:][^{}]*)\}", group(cg, "tokens", "(") or ""):
        n = re.search(r"\bname\s*[=:]\s*\"([^\"]+)\"", body)
        sc = re.search(r"\bscope\s*[=:]\s*\"([^\"]+)\"", body)
        if n:
            tokens[n.group(1)] = sc.group(1) if sc else "admin"
    return {
        "shutdown_timeout_s": int(m.group(1)) if m else 30,
        "control_port": int(ctl.group(1).rsplit(":", 1)[1]) if ctl and not ctl.group(1).startswith("unix:") else None,
        "bind_ports": [int(b.rsplit(":", 1)[1]) for b in re.findall(r"\bbind\s*[=:]\s*\"([^\"]+)\"", t)],
        "state_dir": sd.group(1) if sd else "/var/lib/fulcrum",
        "tls_files": re.findall(r"\b(?:cert|key)\s*[=:]\s*\"([^\"]+)\"", t),
        "control_tls": bool(re.search(r"\bcertificates\s*[=:]", group(cg, "tls") or "")),
        "token_dir": td.group(1) if td else None,
        "tokens": tokens,                   # name -> scope
    }


def group(text, key, opening="{"):
    """The text inside `key = { ... }` (or `( ... )` with opening "("), braces matched;
    the first such setting at any depth. None when absent."""
    m = re.search(r"\b%s\s*[=:]\s*\%s" % (re.escape(key), opening), text)
    if not m:
        return None
    closing = "}" if opening == "{" else ")"
    depth, i = 1, m.end()
    while i < len(text) and depth:
        if text[i] == opening:
            depth += 1
        elif text[i] == closing:
            depth -= 1
        i += 1
    return text[m.end():i - 1]


def port_number(container, port):
    """The containerPort a probe or targetPort names (a name or a number); None if absent."""
    for p in container.get("ports", []) or []:
        if port == p.get("name") or port == p.get("containerPort"):
            return p.get("containerPort")
    return None


def command_of(handler):
    """A lifecycle/probe exec as one shell-ish string, or "" when not exec."""
    cmd = (handler or {}).get("exec", {}).get("command", [])
    return " ".join(str(c) for c in cmd)


def option(words, flag):
    """The value after flag in a word list (also --flag=value); None when absent."""
    for i, w in enumerate(words):
        if w == flag and i + 1 < len(words):
            return words[i + 1]
        if w.startswith(flag + "="):
            return w.split("=", 1)[1]
    return None


def check(docs):
    errs = []
    deps = of_kind(docs, "Deployment")
    fdep = next((d for d in deps if name(d) == FULCRUM), None)
    text = fulcrum_config(docs)
    facts = config_facts(text) if text else None
    if not fdep:
        return ["no Deployment named %s" % FULCRUM]
    if facts is None:
        errs.append("the fulcrum Deployment mounts no ConfigMap with a fulcrum.cfg")

    # --- selectors
    for d in deps:
        sel = d.get("spec", {}).get("selector", {}).get("matchLabels", {})
        if not selects(sel, template_labels(d)):
            errs.append("Deployment %s: selector %s does not match its pod template labels %s"
                        % (name(d), sel, template_labels(d)))
    matched = {}
    for kind in ("Service", "PodDisruptionBudget"):
        for s in of_kind(docs, kind):
            sel = s["spec"].get("selector", {})
            if kind == "PodDisruptionBudget":
                sel = sel.get("matchLabels", {})
            hits = [d for d in deps if ns(d) == ns(s) and selects(sel, template_labels(d))]
            if not hits:
                errs.append("%s %s: selector %s selects no Deployment's pods" % (kind, name(s), sel))
            matched[(kind, name(s))] = hits

    # --- ports: targetPorts and probe ports exist
    for s in of_kind(docs, "Service"):
        for p in s["spec"].get("ports", []):
            tp = p.get("targetPort", p.get("port"))
            for d in matched.get(("Service", name(s)), []):
                if not any(port_number(c, tp) for c in pod_spec(d).get("containers", [])):
                    errs.append("Service %s: targetPort %r is no container port of Deployment %s"
                                % (name(s), tp, name(d)))
    for d in deps:
        for c in pod_spec(d).get("containers", []):
            for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
                pr = c.get(probe) or {}
                for how in ("httpGet", "tcpSocket", "grpc"):
                    if how in pr and port_number(c, pr[how].get("port")) is None:
                        errs.append("Deployment %s container %s: %s port %r is no container port"
                                    % (name(d), c["name"], probe, pr[how].get("port")))

    # --- RBAC: exactly get/list/watch on endpointslices, bound to fulcrum's account only
    for kind in ("ClusterRole", "ClusterRoleBinding"):
        for r in of_kind(docs, kind):
            errs.append("RBAC: %s %s: fulcrum needs no cluster-wide rights" % (kind, name(r)))
    roles = of_kind(docs, "Role")
    if not roles:
        errs.append("RBAC: no Role for EndpointSlice discovery")
    for r in roles:
        rules = r.get("rules") or []
        norm = [{k: sorted(v) if isinstance(v, list) else v for k, v in rule.items()} for rule in rules]
        if norm != [RBAC_RULE]:
            errs.append("RBAC: Role %s must allow exactly get/list/watch on endpointslices in "
                        "discovery.k8s.io and nothing else; it has %s" % (name(r), rules))
    sa = pod_spec(fdep).get("serviceAccountName", "default")
    if sa not in [name(a) for a in of_kind(docs, "ServiceAccount")]:
        errs.append("RBAC: the fulcrum Deployment's ServiceAccount %s is not in the base" % sa)
    bindings = of_kind(docs, "RoleBinding")
    if not bindings:
        errs.append("RBAC: no RoleBinding gives fulcrum's ServiceAccount the Role")
    for b in bindings:
        ref = b.get("roleRef", {})
        if ref.get("kind") != "Role" or ref.get("name") not in [name(r) for r in roles]:
            errs.append("RBAC: RoleBinding %s refers to %s %s, not the Role of this base"
                        % (name(b), ref.get("kind"), ref.get("name")))
        subjects = [(s.get("kind"), s.get("name"), s.get("namespace", ns(b))) for s in b.get("subjects") or []]
        if subjects != [("ServiceAccount", sa, ns(fdep))]:
            errs.append("RBAC: RoleBinding %s must bind fulcrum's ServiceAccount %s/%s only; it binds %s"
                        % (name(b), ns(fdep), sa, subjects))

    # --- every Deployment: security, resources, stop sequence
    for d in deps:
        ps = pod_spec(d)
        grace = ps.get("terminationGracePeriodSeconds", 30)
        for c in ps.get("containers", []):
            where = "Deployment %s container %s" % (name(d), c["name"])
            sc = c.get("securityContext") or {}
            psc = ps.get("securityContext") or {}
            if not sc.get("runAsNonRoot", psc.get("runAsNonRoot")):
                errs.append("%s: runAsNonRoot is not true" % where)
            if sc.get("runAsUser", psc.get("runAsUser")) == 0:
                errs.append("%s: runAsUser 0 (root)" % where)
            if sc.get("readOnlyRootFilesystem") is not True:
                errs.append("%s: readOnlyRootFilesystem is not true" % where)
            if sc.get("allowPrivilegeEscalation") is not False:
                errs.append("%s: allowPrivilegeEscalation is not false" % where)
            res = c.get("resources") or {}
            for part, key in (("requests", "cpu"), ("requests", "memory"), ("limits", "memory")):
                if key not in (res.get(part) or {}):
                    errs.append("%s: resources.%s.%s is not set" % (where, part, key))
            pre = (c.get("lifecycle") or {}).get("preStop")
            cmd = command_of(pre)
            if "fulcrumctl" in cmd and " drain " in " %s " % cmd:
                errs += check_hook_timing(where, cmd, c, grace, fdep["spec"].get("replicas", 1))
        if name(d) == FULCRUM:
            errs += check_fulcrum_pod(d, facts, grace)

    # --- the Services of fulcrum
    lbs = [s for s in of_kind(docs, "Service") if s["spec"].get("type") == "LoadBalancer"
           and fdep in matched.get(("Service", name(s)), [])]
    if not lbs:
        errs.append("no Service of type LoadBalancer selects the fulcrum pods")
    fc = next((c for c in pod_spec(fdep).get("containers", []) if c["name"] == FULCRUM), None)
    for s in lbs:
        for p in s["spec"].get("ports", []):
            n = port_number(fc or {}, p.get("targetPort", p.get("port")))
            if facts and n == facts["control_port"]:
                errs.append("Service %s: exposes the control port %s through the load balancer" % (name(s), n))
            elif facts and n is not None and n not in facts["bind_ports"]:
                errs.append("Service %s: targetPort %s is no listener of fulcrum.cfg %s"
                            % (name(s), n, facts["bind_ports"]))
    pdbs = [p for p in of_kind(docs, "PodDisruptionBudget")
            if fdep in matched.get(("PodDisruptionBudget", name(p)), [])]
    if not pdbs:
        errs.append("no PodDisruptionBudget selects the fulcrum pods")
    for p in pdbs:
        mina = p["spec"].get("minAvailable")
        if isinstance(mina, int) and mina >= fdep["spec"].get("replicas", 1):
            errs.append("PodDisruptionBudget %s: minAvailable %d leaves no disruption for %d replicas"
                        % (name(p), mina, fdep["spec"].get("replicas", 1)))
    if not any(c.get("lifecycle", {}).get("preStop") and "fulcrumctl" in command_of(c["lifecycle"]["preStop"])
               for d in deps if d is not fdep for c in pod_spec(d).get("containers", [])):
        errs.append("no example app Deployment whose preStop hook calls fulcrumctl drain --wait")
    if facts:
        for d in deps:
            if d is not fdep:
                errs += check_hooks_access(d, fdep, facts)
        errs += check_network_policy(docs, fdep, fc, facts, [d for d in deps if d is not fdep])
    return errs


def secret_of(volume):
    return (volume.get("secret") or {}).get("secretName")


def mount_of(container, vols, path):
    """(mount, volume) of the container's mount that holds file path; (None, None)."""
    best = None
    for m in container.get("volumeMounts", []):
        mp = m["mountPath"].rstrip("/") + "/"
        if path.startswith(mp) and (best is None or len(mp) > len(best["mountPath"])):
            best = m
    return (best, vols.get(best["name"], {})) if best else (None, None)


def check_hooks_access(d, fdep, facts):
    """An app whose hooks call fulcrumctl: https with a CA from a Secret, and a token file
    of the tokens Secret that holds one key whose scope is not admin."""
    errs = []
    ps = pod_spec(d)
    vols = {v["name"]: v for v in ps.get("volumes", [])}
    fvols = {v["name"]: v for v in pod_spec(fdep).get("volumes", [])}
    fc = next((c for c in pod_spec(fdep).get("containers", []) if c["name"] == FULCRUM), {})
    _, tv = mount_of(fc, fvols, (facts["token_dir"] or "/nonexistent") + "/x")
    token_secret = secret_of(tv or {})
    for c in ps.get("containers", []):
        where = "Deployment %s container %s" % (name(d), c["name"])
        cmds = [command_of(c.get(h)) for h in ("readinessProbe", "livenessProbe", "startupProbe")]
        cmds += [command_of((c.get("lifecycle") or {}).get(h)) for h in ("preStop", "postStart")]
        calls = [x for x in cmds if "fulcrumctl" in x]
        if not calls:
            continue
        env = {e["name"]: e.get("value") for e in c.get("env", [])}
        server = env.get("FULCRUM_CONTROL") or ""
        if not server.startswith("https://") and not all("-s https://" in x for x in calls):
            errs.append("%s: the hooks call the control API over %s, not https (the token would "
                        "cross the network in plain text)" % (where, server or "the default"))
        for x in calls:
            for call in x.split("fulcrumctl")[1:]:
                ca = option(shlex.split(call.replace(";", " ; ")), "--cacert")
                m, v = mount_of(c, vols, ca or "/nonexistent/x")
                if not ca:
                    errs.append("%s: a fulcrumctl call without --cacert (the control API's "
                                "certificate would not be verified)" % where)
                elif not m or not ("secret" in v or "configMap" in v):
                    errs.append("%s: --cacert %s is not on a Secret or ConfigMap volume" % (where, ca))
        tf = env.get("FULCRUM_TOKEN_FILE")
        m, v = mount_of(c, vols, tf or "/nonexistent/x")
        if not tf or not m or secret_of(v) != token_secret:
            errs.append("%s: FULCRUM_TOKEN_FILE %s is not a file of the tokens Secret %s that "
                        "fulcrum reads at control.token_dir" % (where, tf, token_secret))
        elif not v["secret"].get("items"):
            errs.append("%s: the whole tokens Secret %s is mounted (the admin token too); "
                        "mount only the hooks key with items" % (where, token_secret))
    for v in ps.get("volumes", []):
        if token_secret and secret_of(v) == token_secret:
            for it in v["secret"].get("items") or [{"key": k} for k in facts["tokens"]]:
                scope = facts["tokens"].get(it.get("key"), "admin")
                if scope == "admin":
                    errs.append("Deployment %s: volume %s gives the app pods the token %r of scope "
                                "admin" % (name(d), v["name"], it.get("key")))
    return errs


def check_network_policy(docs, fdep, fc, facts, apps):
    """A NetworkPolicy on the fulcrum pods: data ports from anywhere, the control port only
    from the app pods (by label) and the monitoring namespace."""
    errs = []
    labels = template_labels(fdep)
    pols = [p for p in of_kind(docs, "NetworkPolicy") if ns(p) == ns(fdep)
            and selects(p["spec"].get("podSelector", {}).get("matchLabels", {}), labels)]
    if not pols:
        return ["no NetworkPolicy selects the fulcrum pods (the control port is open to every pod)"]
    ctl = facts["control_port"]
    data = [p for p in facts["bind_ports"]]
    from_app = from_monitoring = False
    open_ports = set()
    for p in pols:
        if "Ingress" not in (p["spec"].get("policyTypes") or ["Ingress"]):
            errs.append("NetworkPolicy %s: policyTypes has no Ingress" % name(p))
        for rule in p["spec"].get("ingress") or []:
            ports = rule.get("ports")
            nums = {port_number(fc or {}, x.get("port")) for x in ports} if ports else None
            peers = rule.get("from") or []
            if not peers:
                open_ports |= nums if nums is not None else {"all"}
                continue
            if nums is not None and ctl not in nums:
                continue
            for peer in peers:
                pod = (peer.get("podSelector") or {}).get("matchLabels")
                nsel = peer.get("namespaceSelector")
                if pod is not None and nsel is None and peer.get("podSelector") and \
                        any(selects(pod, template_labels(a)) for a in apps):
                    from_app = True
                elif nsel is not None and pod is None and not peer.get("podSelector") and \
                        (nsel.get("matchLabels") or {}) == {"kubernetes.io/metadata.name": "monitoring"} and \
                        not nsel.get("matchExpressions"):
                    from_monitoring = True
                else:
                    errs.append("NetworkPolicy %s: admits the control port from %s (only the app pods "
                                "by label and the monitoring namespace may reach it)" % (name(p), peer))
    if "all" in open_ports or ctl in open_ports:
        errs.append("NetworkPolicy: a rule without from admits the control port %s from anywhere" % ctl)
    for port in data:
        if "all" not in open_ports and port not in open_ports:
            errs.append("NetworkPolicy: data port %s is not admitted from anywhere" % port)
    if not from_app:
        errs.append("NetworkPolicy: does not admit the control port from the app pods (their hooks)")
    if not from_monitoring:
        errs.append("NetworkPolicy: does not admit the control port from the monitoring namespace")
    return errs


def check_hook_timing(where, cmd, c, grace, replicas):
    """An app's preStop that drains itself: it must wait, on every replica, and the drain,
    the removal and the app's own graceful stop must fit in the grace period."""
    words = shlex.split(cmd.replace(";", " ; "))
    steps, cur = [], []
    for w in words:
        if w in (";", "&&", "||"):
            steps.append(cur)
            cur = []
        else:
            cur.append(w)
    steps.append(cur)
    drain = next(s for s in steps if "fulcrumctl" in s and "drain" in s)
    if "--wait" not in drain:
        return ["%s: the preStop drain has no --wait (the app would stop with requests in flight)" % where]
    wt = option(drain, "--wait-timeout")
    if wt is None:
        return ["%s: the preStop drain has no --wait-timeout (it would wait on the pool's "
                "drain_timeout_s, which the manifest cannot see)" % where]
    errs = []
    if "--all" not in drain:
        errs.append("%s: the preStop drain does not use --all (it would drain on one fulcrum replica only)" % where)
    total = int(wt)
    for s in steps:
        if "fulcrumctl" in s and ("remove" in s or "delete" in s):
            # with --all, one call per fulcrum replica, one after another
            total += int(option(s, "--timeout") or 30) * (replicas if "--all" in s else 1)
    app = [str(x) for x in (c.get("command") or []) + (c.get("args") or [])]
    if any("gunicorn" in a for a in app):
        total += int(option(app, "--graceful-timeout") or 30)
    if total + GRACE_MARGIN_S > grace:
        errs.append("%s: the stop sequence takes up to %d s (drain + remove + graceful stop) + %d s "
                    "margin, more than terminationGracePeriodSeconds %d" % (where, total, GRACE_MARGIN_S, grace))
    return errs


def check_fulcrum_pod(d, facts, grace):
    errs = []
    ps = pod_spec(d)
    if d["spec"].get("replicas", 1) < 2:
        errs.append("Deployment %s: replicas %s; the edge needs at least 2" % (name(d), d["spec"].get("replicas", 1)))
    c = next((c for c in ps.get("containers", []) if c["name"] == FULCRUM), None)
    if not c:
        return errs + ["Deployment %s: no container named %s" % (name(d), FULCRUM)]
    for probe, path in (("readinessProbe", "/readyz"), ("livenessProbe", "/healthz")):
        hg = (c.get(probe) or {}).get("httpGet")
        if not hg:
            errs.append("fulcrum: %s is not an httpGet of %s" % (probe, path))
            continue
        if hg.get("path") != path:
            errs.append("fulcrum: %s path is %s, not %s" % (probe, hg.get("path"), path))
        if facts and port_number(c, hg.get("port")) != facts["control_port"]:
            errs.append("fulcrum: %s port %r is not the control listener's port %s"
                        % (probe, hg.get("port"), facts["control_port"]))
    if facts:
        for p in facts["bind_ports"]:
            if not any(cp.get("containerPort") == p for cp in c.get("ports", [])):
                errs.append("fulcrum: listener port %d of fulcrum.cfg is not a container port" % p)
    # the stop sequence: preStop sleep while endpoints go, then SIGTERM and the drain
    pre = (c.get("lifecycle") or {}).get("preStop") or {}
    sleep = None
    if "sleep" in pre:
        sleep = int(pre["sleep"].get("seconds", 0))
    else:
        words = (pre.get("exec") or {}).get("command", [])
        if words and str(words[0]).rsplit("/", 1)[-1] == "sleep" and len(words) == 2:
            sleep = int(words[1])
    if sleep is None or sleep < 3:
        errs.append("fulcrum: preStop must sleep (at least 3 s) so the endpoints are removed before "
                    "SIGTERM closes the listeners; it is %s" % (pre or "absent"))
    elif facts and sleep + facts["shutdown_timeout_s"] + GRACE_MARGIN_S > grace:
        errs.append("fulcrum: preStop sleep %d s + shutdown_timeout_s %d s + %d s margin does not fit "
                    "in terminationGracePeriodSeconds %d" % (sleep, facts["shutdown_timeout_s"],
                                                            GRACE_MARGIN_S, grace))
    # volumes: state_dir writable on an emptyDir, TLS from a Secret where the config reads it
    vols = {v["name"]: v for v in ps.get("volumes", [])}
    mounts = c.get("volumeMounts", [])
    if facts:
        if not facts["control_tls"]:
            errs.append("fulcrum: the control listener has no tls with certificates (the tokens "
                        "would cross the pod network in plain text)")
        for probe in ("readinessProbe", "livenessProbe"):
            scheme = ((c.get(probe) or {}).get("httpGet") or {}).get("scheme", "HTTP")
            if facts["control_tls"] and scheme != "HTTPS":
                errs.append("fulcrum: %s scheme is %s but the control listener speaks TLS" % (probe, scheme))
        if not facts["token_dir"]:
            errs.append("fulcrum: control.token_dir is not set (the scoped tokens come from it)")
        else:
            m = next((m for m in mounts if m["mountPath"].rstrip("/") == facts["token_dir"].rstrip("/")), None)
            v = vols.get(m["name"], {}) if m else {}
            if not m or "secret" not in v or v["secret"].get("items"):
                errs.append("fulcrum: control.token_dir %s is not a whole Secret mounted there"
                            % facts["token_dir"])
        if not any(sc == "admin" for sc in facts["tokens"].values()) or \
                not any(sc != "admin" for sc in facts["tokens"].values()):
            errs.append("fulcrum: control.tokens must name an admin token and a narrower one for "
                        "the hooks; it has %s" % facts["tokens"])
        # the state dir is the emptyDir's mount or a directory inside it (fulcrum refuses a
        # state dir writable by others, which an emptyDir's root is, and makes its own 0700)
        sd = facts["state_dir"].rstrip("/")
        m = next((m for m in mounts if sd == m["mountPath"].rstrip("/") or
                  sd.startswith(m["mountPath"].rstrip("/") + "/")), None)
        if not m or "emptyDir" not in vols.get(m["name"], {}) or m.get("readOnly"):
            errs.append("fulcrum: state_dir %s is not in a writable emptyDir mount (the root filesystem "
                        "is read-only)" % facts["state_dir"])
        for f in facts["tls_files"]:
            m = next((m for m in mounts if f.startswith(m["mountPath"].rstrip("/") + "/")), None)
            if not m or "secret" not in vols.get(m["name"], {}):
                errs.append("fulcrum: TLS file %s of fulcrum.cfg is not on a Secret volume" % f)
    return errs


# ---- self-test: each known mistake must be caught

def dep(docs, n):
    return next(d for d in of_kind(docs, "Deployment") if name(d) == n)


def container(docs, n):
    return pod_spec(dep(docs, n))["containers"][0]


def app_name(docs):
    return next(name(d) for d in of_kind(docs, "Deployment") if name(d) != FULCRUM)


def lb(docs):
    return next(s for s in of_kind(docs, "Service") if s["spec"].get("type") == "LoadBalancer")


def set_config(docs, pattern, repl):
    for cm in of_kind(docs, "ConfigMap"):
        if "fulcrum.cfg" in cm.get("data", {}):
            cm["data"]["fulcrum.cfg"] = re.sub(pattern, repl, cm["data"]["fulcrum.cfg"])


def set_prestop(docs, n, old, new):
    cmd = container(docs, n)["lifecycle"]["preStop"]["exec"]["command"]
    cmd[-1] = cmd[-1].replace(old, new)
    assert new in cmd[-1], "mutation did not apply: %s" % old


def drop(docs, kind):
    docs[:] = [d for d in docs if d.get("kind") != kind]


MUTATIONS = [
    ("Service selector that matches nothing", "selects no Deployment",
     lambda D: lb(D)["spec"]["selector"].update({"app.kubernetes.io/name": "fulcrm"})),
    ("PDB selector that matches nothing", "selects no Deployment",
     lambda D: of_kind(D, "PodDisruptionBudget")[0]["spec"]["selector"]["matchLabels"].update(
         {"app.kubernetes.io/name": "nope"})),
    ("Deployment selector not in its template", "does not match its pod template",
     lambda D: dep(D, FULCRUM)["spec"]["selector"]["matchLabels"].update({"tier": "x"})),
    ("named targetPort that no container has", "is no container port",
     lambda D: lb(D)["spec"]["ports"][0].update({"targetPort": "htps"})),
    ("readiness probe on a port name that does not exist", "is no container port",
     lambda D: container(D, FULCRUM)["readinessProbe"]["httpGet"].update({"port": "ctrl"})),
    ("Role with an extra verb", "RBAC",
     lambda D: of_kind(D, "Role")[0]["rules"][0]["verbs"].append("create")),
    ("Role with an extra resource", "RBAC",
     lambda D: of_kind(D, "Role")[0]["rules"][0]["resources"].append("pods")),
    ("Role on the core group", "RBAC",
     lambda D: of_kind(D, "Role")[0]["rules"][0].update({"apiGroups": [""]})),
    ("Role with a second rule", "RBAC",
     lambda D: of_kind(D, "Role")[0]["rules"].append({"apiGroups": [""], "resources": ["secrets"], "verbs": ["get"]})),
    ("Role with a wildcard verb", "RBAC",
     lambda D: of_kind(D, "Role")[0]["rules"][0].update({"verbs": ["*"]})),
    ("a ClusterRole", "RBAC",
     lambda D: D.append({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
                         "metadata": {"name": "x"}, "rules": [RBAC_RULE]})),
    ("RoleBinding to another account", "RBAC",
     lambda D: of_kind(D, "RoleBinding")[0]["subjects"][0].update({"name": "default"})),
    ("RoleBinding to a second account", "RBAC",
     lambda D: of_kind(D, "RoleBinding")[0]["subjects"].append(
         {"kind": "ServiceAccount", "name": "flask-example", "namespace": "fulcrum"})),
    ("grace period too short for fulcrum", "terminationGracePeriodSeconds",
     lambda D: pod_spec(dep(D, FULCRUM)).update({"terminationGracePeriodSeconds": 30})),
    ("preStop sleep too long", "terminationGracePeriodSeconds",
     lambda D: container(D, FULCRUM)["lifecycle"]["preStop"]["exec"]["command"].__setitem__(1, "40")),
    ("no preStop sleep", "preStop must sleep",
     lambda D: container(D, FULCRUM)["lifecycle"].pop("preStop")),
    ("shutdown_timeout_s too long for the grace period", "terminationGracePeriodSeconds",
     lambda D: set_config(D, r"shutdown_timeout_s = \d+", "shutdown_timeout_s = 60")),
    ("app drain longer than its grace period", "terminationGracePeriodSeconds",
     lambda D: set_prestop(D, app_name(D), "--wait-timeout 25", "--wait-timeout 60")),
    ("app grace period too short", "terminationGracePeriodSeconds",
     lambda D: pod_spec(dep(D, app_name(D))).update({"terminationGracePeriodSeconds": 20})),
    ("app drain without --wait", "no --wait",
     lambda D: set_prestop(D, app_name(D), "--wait --wait-timeout", "--wait-timeout")),
    ("app removal without a time limit", "terminationGracePeriodSeconds",
     lambda D: set_prestop(D, app_name(D), "--all --timeout 3 remove", "--all remove")),
    ("app drain on one replica only", "does not use --all",
     lambda D: set_prestop(D, app_name(D), "--all drain", "drain")),
    ("runAsNonRoot false", "runAsNonRoot",
     lambda D: (pod_spec(dep(D, FULCRUM))["securityContext"].update({"runAsNonRoot": False}),
                container(D, FULCRUM)["securityContext"].update({"runAsNonRoot": False}))),
    ("root user", "runAsUser 0",
     lambda D: container(D, app_name(D))["securityContext"].update({"runAsUser": 0})),
    ("writable root filesystem", "readOnlyRootFilesystem",
     lambda D: container(D, app_name(D))["securityContext"].update({"readOnlyRootFilesystem": False})),
    ("privilege escalation allowed", "allowPrivilegeEscalation",
     lambda D: container(D, FULCRUM)["securityContext"].pop("allowPrivilegeEscalation")),
    ("readiness on /healthz", "not /readyz",
     lambda D: container(D, FULCRUM)["readinessProbe"]["httpGet"].update({"path": "/healthz"})),
    ("liveness on /readyz", "not /healthz",
     lambda D: container(D, FULCRUM)["livenessProbe"]["httpGet"].update({"path": "/readyz"})),
    ("probe on a data port", "not the control listener",
     lambda D: container(D, FULCRUM)["livenessProbe"]["httpGet"].update({"port": "https"})),
    ("a single fulcrum replica", "replicas",
     lambda D: dep(D, FULCRUM)["spec"].update({"replicas": 1})),
    ("no LoadBalancer Service", "LoadBalancer",
     lambda D: lb(D)["spec"].update({"type": "ClusterIP"})),
    ("control port through the load balancer", "control port",
     lambda D: lb(D)["spec"]["ports"][0].update({"targetPort": "control"})),
    ("no resource limits", "resources.limits.memory",
     lambda D: container(D, FULCRUM)["resources"].pop("limits")),
    ("state_dir not on an emptyDir", "state_dir",
     lambda D: set_config(D, r'state_dir = "[^"]+"', 'state_dir = "/var/lib/elsewhere"')),
    ("TLS not from a Secret", "not on a Secret volume",
     lambda D: set_config(D, r"/etc/fulcrum/tls/", "/etc/ssl/private/")),
    ("listener port not in the container", "not a container port",
     lambda D: set_config(D, r'bind = "0\.0\.0\.0:8443"', 'bind = "0.0.0.0:8444"')),
    ("no PodDisruptionBudget", "PodDisruptionBudget",
     lambda D: drop(D, "PodDisruptionBudget")),
    ("no example app with a drain hook", "no example app",
     lambda D: container(D, app_name(D))["lifecycle"].pop("preStop")),
    ("control listener without TLS", "control listener has no tls",
     lambda D: set_config(D, r"tls = \{ certificates = \( \{ cert = \"/etc/fulcrum/control-tls/tls\.crt\";"
                             r"\s*key = \"/etc/fulcrum/control-tls/tls\.key\"; \} \); \};", "")),
    ("readiness probe over plain http", "scheme is HTTP",
     lambda D: container(D, FULCRUM)["readinessProbe"]["httpGet"].pop("scheme")),
    ("token_dir not mounted from the tokens Secret", "token_dir",
     lambda D: next(m for m in container(D, FULCRUM)["volumeMounts"] if m["name"] == "tokens").update(
         {"mountPath": "/etc/fulcrum/other"})),
    ("only an admin token", "control.tokens",
     lambda D: set_config(D, r'scope = "(backends|read)"', 'scope = "admin"')),
    ("hooks over http", "not https",
     lambda D: next(e for e in container(D, app_name(D))["env"] if e["name"] == "FULCRUM_CONTROL").update(
         {"value": "http://fulcrum-control.fulcrum.svc.cluster.local:9000"})),
    ("a hook without --cacert", "without --cacert",
     lambda D: set_prestop(D, app_name(D), "--cacert /etc/fulcrum/control-ca/ca.crt --all drain", "--all drain")),
    ("the app mounts the whole tokens Secret", "whole tokens Secret",
     lambda D: next(v for v in pod_spec(dep(D, app_name(D)))["volumes"] if v["name"] == "hooks-token")[
         "secret"].pop("items")),
    ("the app mounts the admin token", "of scope admin",
     lambda D: next(v for v in pod_spec(dep(D, app_name(D)))["volumes"] if v["name"] == "hooks-token")[
         "secret"]["items"].append({"key": "admin", "path": "admin"})),
    ("the app's token file is not from the tokens Secret", "FULCRUM_TOKEN_FILE",
     lambda D: next(e for e in container(D, app_name(D))["env"] if e["name"] == "FULCRUM_TOKEN_FILE").update(
         {"value": "/tmp/token"})),
    ("no NetworkPolicy", "no NetworkPolicy",
     lambda D: drop(D, "NetworkPolicy")),
    ("control port from every pod", "from anywhere",
     lambda D: of_kind(D, "NetworkPolicy")[0]["spec"]["ingress"][0].pop("ports")),
    ("control port from every namespace", "admits the control port from",
     lambda D: of_kind(D, "NetworkPolicy")[0]["spec"]["ingress"][1]["from"].append({"namespaceSelector": {}})),
    ("control port from pods of any namespace with the app label", "admits the control port from",
     lambda D: of_kind(D, "NetworkPolicy")[0]["spec"]["ingress"][1]["from"][0].update({"namespaceSelector": {}})),
    ("the app pods not admitted to the control port", "from the app pods",
     lambda D: of_kind(D, "NetworkPolicy")[0]["spec"]["ingress"][1]["from"][0]["podSelector"].update(
         {"matchLabels": {"app.kubernetes.io/name": "flask"}})),
    ("monitoring not admitted to the control port", "monitoring namespace",
     lambda D: of_kind(D, "NetworkPolicy")[0]["spec"]["ingress"][1]["from"].pop(1)),
    ("data ports not admitted", "data port",
     lambda D: of_kind(D, "NetworkPolicy")[0]["spec"]["ingress"].pop(0)),
]


def self_test(docs):
    bad = 0
    base = check(docs)
    if base:
        print("self-test: the base itself fails:\n  " + "\n  ".join(base))
        return 1
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


def main():
    args = sys.argv[1:]
    if len(args) == 2 and args[0] == "--self-test":
        return self_test(load(args[1]))
    if len(args) == 2 and args[0] == "--config":
        text = fulcrum_config(load(args[1]))
        if text is None:
            print("no fulcrum.cfg in the rendered base", file=sys.stderr)
            return 1
        sys.stdout.write(text)
        return 0
    if len(args) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    errs = check(load(args[0]))
    for e in errs:
        print("check_k8s: " + e)
    print("check_k8s: %s" % ("%d problem(s)" % len(errs) if errs else "all checks pass"))
    return 1 if errs else 0


if __name__ == "__main__":
    sys.exit(main())
