#!/usr/bin/env python3
"""deps_check.py: every arrow between the source folders points down the layers.

An arrow A -> B exists when an object file built from folder A has an undefined symbol
that an object of folder B defines (nm on the objects the Makefile builds), or when a
.c/.h of folder A includes a header that folder B owns. Arrows inside a folder are
allowed; an arrow to a folder that is not strictly below in LAYERS (or, for a folder
with an ALLOWED set, not in that set) is reported as file:symbol or file:include and
makes the check fail, and so does a cycle between the files of a folder in
CYCLES_CHECKED (every folder); a folder left out of it would have its cycles printed
as information.

Usage: tools/deps_check.py [BUILD_DIR]   (default: build; the objects must exist)
"""
import os
import re
import subprocess
import sys

# Layer of each folder: a folder may use only folders of a lower number.
LAYERS = {
    "util": 0,
    "proto": 1,
    "tls": 2,
    "core": 3,
    "lb": 4,
    "health": 4,
    "control": 5,
}
# Folders apart from the stack: the only folders they may use.
ALLOWED = {
    "cli": {"util", "proto"},
}
FOLDERS = list(LAYERS) + list(ALLOWED)
# Folders whose files must not call each other in a circle (by their symbols): the data
# path reads in one direction, from the worker's accept down to the sockets.
CYCLES_CHECKED = {"util", "proto", "tls", "core", "lb", "health", "control", "cli"}

# Owner of each header of include/ whose owner is not the folder of the .c of the same
# name (e.g. one header declaring the API of several files).
HEADER_OWNER = {
    # The config's types (enums and plain structs, no code) are read by every layer (the
    # log level, a listener's TLS section); the config's code (config.h) is core's.
    "config-t.h": "util",
    "health-t.h": "core",
    "health.h": "core",
    "health_state.h": "core",
    "http.h": "proto",
    "sock_io.h": "lb",
    "tls-t.h": "tls",
    "conn.h": "lb",
    "ctl.h": "control",
    "ctl_api.h": "control",
    "ctl_http.h": "control",
    "ctl_journal.h": "control",
    "ctl_metrics.h": "control",
    "ctl_notify.h": "control",
    "ctl_page.h": "control",
    "ctl_ready.h": "control",
    "ctl_store.h": "control",
    "discovery.h": "control",
    "k8s.h": "control",
    "cluster_store.h": "control",
    "cluster_replica.h": "control",
    "cluster_write.h": "control",
    "cluster_rollback.h": "control",
    "etcd_json.h": "control",
    "fulcrumctl.h": "cli",
}

INCLUDE_RE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def sources(root):
    """Every .c and .h of the layer folders: {relative path: folder}."""
    out = {}
    for folder in FOLDERS:
        d = os.path.join(root, folder)
        if not os.path.isdir(d):
            continue
        for dirpath, _, names in os.walk(d):
            for n in names:
                if n.endswith((".c", ".h")):
                    out[os.path.relpath(os.path.join(dirpath, n), root)] = folder
    return out


def header_owners(root, srcs):
    """{header basename: folder} for include/ and the folders' own headers."""
    owners = {}
    by_base = {}
    for path, folder in srcs.items():
        base = os.path.basename(path)
        if path.endswith(".h"):
            owners[base] = folder
        else:
            by_base[base[:-2]] = folder
    errors = []
    inc = os.path.join(root, "include")
    for n in sorted(os.listdir(inc)):
        if not n.endswith(".h"):
            continue
        if n in HEADER_OWNER:
            owners[n] = HEADER_OWNER[n]
        elif n[:-2] in by_base:
            owners[n] = by_base[n[:-2]]
        else:
            errors.append("include/%s: no owner (add it to HEADER_OWNER in %s)"
                          % (n, os.path.relpath(__file__, root)))
    return owners, errors


def order():
    """The layer table as text: util < proto < ... with equal layers in braces."""
    ranks = sorted(set(LAYERS.values()))
    parts = []
    for r in ranks:
        names = sorted(k for k, v in LAYERS.items() if v == r)
        parts.append(names[0] if len(names) == 1 else "{%s}" % ", ".join(names))
    return " < ".join(parts)


def allowed(a, b):
    """True when folder a may use folder b."""
    if a == b:
        return True
    if a in ALLOWED:
        return b in ALLOWED[a]
    if b in ALLOWED:
        return False
    return LAYERS[b] < LAYERS[a]


def nm_symbols(objs):
    """{obj: (defined set, undefined set)} from one nm run."""
    res = {o: (set(), set()) for o in objs}
    if not objs:
        return res
    p = subprocess.run(["nm", "-A", "-P"] + objs, capture_output=True, text=True, check=True)
    for line in p.stdout.splitlines():
        head, _, rest = line.partition(": ")
        fields = rest.split()
        if head not in res or len(fields) < 2:
            continue
        sym, kind = fields[0], fields[1]
        if kind == "U":
            res[head][1].add(sym)
        elif kind.isupper():
            res[head][0].add(sym)
    return res


def sccs(graph):
    """Strongly connected components of more than one node (Tarjan, iterative)."""
    index, low, on, stack, out = {}, {}, set(), [], []
    counter = [0]
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = counter[0]; counter[0] += 1
        stack.append(start); on.add(start)
        while work:
            v, it = work[-1]
            w = next(it, None)
            if w is not None:
                if w not in index:
                    index[w] = low[w] = counter[0]; counter[0] += 1
                    stack.append(w); on.add(w)
                    work.append((w, iter(sorted(graph.get(w, ())))))
                elif w in on:
                    low[v] = min(low[v], index[w])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[v])
            if low[v] == index[v]:
                comp = []
                while True:
                    w = stack.pop(); on.discard(w); comp.append(w)
                    if w == v:
                        break
                if len(comp) > 1:
                    out.append(sorted(comp))
    return out


def main():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    build = sys.argv[1] if len(sys.argv) > 1 else "build"
    if not os.path.isabs(build):
        build = os.path.join(root, build)
    srcs = sources(root)
    owners, errors = header_owners(root, srcs)
    bad = []

    # Include arrows, from the folders' files and from the headers of include/.
    incs = dict(srcs)
    for n in os.listdir(os.path.join(root, "include")):
        if n.endswith(".h") and n in owners:
            incs[os.path.join("include", n)] = owners[n]
    for path, folder in sorted(incs.items()):
        with open(os.path.join(root, path), encoding="utf-8", errors="replace") as f:
            text = f.read()
        for inc in INCLUDE_RE.findall(text):
            base = os.path.basename(inc)
            to = owners.get(base)
            if to is None:
                continue  # a generated or system header
            if not allowed(folder, to):
                bad.append("%s: #include \"%s\" (%s -> %s)" % (path, inc, folder, to))

    # Symbol arrows.
    objs = {}
    missing = []
    for path, folder in srcs.items():
        if path.endswith(".c"):
            o = os.path.join(build, path[:-2] + ".o")
            if os.path.exists(o):
                objs[o] = (path, folder)
            else:
                missing.append(o)
    gen = os.path.join(build, "gen", "status_page.o")
    if os.path.exists(gen):
        objs[gen] = ("gen/status_page.c", "control")
    if missing:
        errors.append("objects missing (run make first): " + ", ".join(sorted(missing)[:5])
                      + (" ..." if len(missing) > 5 else ""))
    syms = nm_symbols(sorted(objs))
    definer = {}
    for o, (defs, _) in syms.items():
        for s in defs:
            definer.setdefault(s, o)
    file_graph = {}
    folder_arrows = {}
    for o, (_, undef) in sorted(syms.items()):
        path, folder = objs[o]
        for s in sorted(undef):
            d = definer.get(s)
            if d is None:
                continue
            dpath, dfolder = objs[d]
            if dfolder != folder:
                folder_arrows.setdefault(folder, set()).add(dfolder)
            if dfolder == folder and dpath != path:
                file_graph.setdefault(folder, {}).setdefault(path, set()).add(dpath)
            if not allowed(folder, dfolder):
                bad.append("%s: %s (defined in %s; %s -> %s)" % (path, s, dpath, folder, dfolder))

    verbose = os.environ.get("DEPS_VERBOSE")
    if verbose:
        for a in sorted(folder_arrows):
            print("deps-check: info: %s -> %s" % (a, " ".join(sorted(folder_arrows[a]))))
    cycles = []
    for folder in sorted(file_graph):
        for cyc in sccs(file_graph[folder]):
            if folder in CYCLES_CHECKED:
                cycles.append(cyc)
            else:
                print("deps-check: info: file cycle inside %s/: %s" % (folder, " ".join(cyc)))
    sys.stdout.flush()
    for e in errors:
        print("deps-check: error: " + e, file=sys.stderr)
    for b in bad:
        print("deps-check: upward arrow: " + b, file=sys.stderr)
    for cyc in cycles:
        print("deps-check: file cycle (files that call each other in a circle): " + " ".join(cyc),
              file=sys.stderr)
    if bad or errors or cycles:
        print("deps-check: FAILED (%d arrows against the layers: %s; cli may use %s; "
              "%d file cycles inside %s)"
              % (len(bad), order(),
                 ", ".join(sorted(ALLOWED["cli"])), len(cycles),
                 ", ".join(sorted(CYCLES_CHECKED))), file=sys.stderr)
        return 1
    print("deps-check: ok (%d objects, %d sources)" % (len(objs), len(srcs)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
