"""check_dockerfile.py: static checks of deploy/k8s/Dockerfile, for a machine without a
Docker engine (the image cannot be built here) and without hadolint.

  check_dockerfile.py DOCKERFILE CONTEXT             the checks; exits 1 on any problem
  check_dockerfile.py --self-test DOCKERFILE CONTEXT  each known mistake must be caught
  check_dockerfile.py --copies DOCKERFILE STAGE         the COPY sources (from the context) of
                                                      STAGE, one per line
  check_dockerfile.py --libs DOCKERFILE BINARY...      the runtime stage installs the Debian
                                                      package of every library BINARY needs

Checks: every stage starts FROM debian:bookworm(-slim); every COPY source exists in the
build context (or, with --from, names an earlier stage); every package that apt-get
installs is a real Debian package (apt-cache show); the stages that are not "build" get
no compiler or -dev package; every stage after "build" ends as a non-root USER; the last
stage (the default image) is fulcrum's, with its ENTRYPOINT."""
import glob
import os
import re
import shlex
import subprocess
import sys

BUILD_ONLY = re.compile(r"(-dev$|^gcc|^g\+\+|^clang|^make$|^pkg-config$|^build-essential$)")
KNOWN = {}


def instructions(text):
    """(line number, INSTRUCTION, rest) with continuations joined and comments dropped."""
    out, buf, start = [], "", 0
    for n, line in enumerate(text.splitlines(), 1):
        s = line.strip()
        if not buf and (not s or s.startswith("#")):
            continue
        if not buf:
            start = n
        if s.endswith("\\"):
            buf += s[:-1] + " "
            continue
        buf += s
        word, _, rest = buf.partition(" ")
        out.append((start, word.upper(), rest.strip()))
        buf = ""
    return out


def apt_packages(run):
    """Packages named by every `apt-get install` in a RUN line."""
    pkgs = []
    for part in re.split(r"&&|;|\|\|", run):
        words = shlex.split(part)
        if "apt-get" in words and "install" in words:
            for w in words[words.index("install") + 1:]:
                if not w.startswith("-"):
                    pkgs.append(w.split("=")[0])
    return pkgs


def prefetch(pkgs):
    """Looks the packages up in one apt-cache call (each call takes seconds)."""
    todo = sorted(set(p for p in pkgs if p not in KNOWN))
    if not todo:
        return
    r = subprocess.run(["apt-cache", "policy"] + todo, stdout=subprocess.PIPE,
                       stderr=subprocess.DEVNULL, text=True)
    current = None
    for line in r.stdout.splitlines():
        m = re.match(r"^(\S+):$", line)
        if m:
            current = m.group(1)
        elif current and line.strip().startswith("Candidate:"):
            KNOWN[current] = line.split(":", 1)[1].strip() != "(none)"
    for p in todo:
        KNOWN.setdefault(p, False)


def debian_package(p):
    prefetch([p])
    return KNOWN[p]


def check(text, context):
    errs = []
    prefetch([p for _, ins, rest in instructions(text) if ins == "RUN" for p in apt_packages(rest)])
    stages = []             # dicts: name, user, entrypoint, packages
    for n, ins, rest in instructions(text):
        where = "line %d" % n
        if ins == "FROM":
            m = re.match(r"(\S+)(?:\s+AS\s+(\S+))?$", rest, flags=re.I)
            image = m.group(1) if m else rest
            if not re.match(r"^debian:bookworm(-slim)?$", image):
                errs.append("%s: FROM %s: the stages are Debian bookworm" % (where, image))
            stages.append({"name": (m.group(2) if m and m.group(2) else str(len(stages))).lower(),
                           "user": None, "entrypoint": None, "line": n})
            continue
        if not stages:
            if ins != "ARG":
                errs.append("%s: %s before the first FROM" % (where, ins))
            continue
        st = stages[-1]
        if ins == "COPY" or ins == "ADD":
            words = shlex.split(rest)
            frm = None
            while words and words[0].startswith("--"):
                if words[0].startswith("--from="):
                    frm = words[0].split("=", 1)[1].lower()
                words = words[1:]
            if len(words) < 2:
                errs.append("%s: %s needs a source and a destination" % (where, ins))
                continue
            for src in words[:-1]:
                if frm is not None:
                    if frm not in [s["name"] for s in stages[:-1]]:
                        errs.append("%s: COPY --from=%s: no earlier stage of that name" % (where, frm))
                elif not glob.glob(os.path.join(context, src)):
                    errs.append("%s: COPY source %s does not exist in the build context %s"
                                % (where, src, context))
        elif ins == "RUN":
            for p in apt_packages(rest):
                if not debian_package(p):
                    errs.append("%s: apt-get install %s: no such Debian package (apt-cache show)" % (where, p))
                elif st["name"] != "build" and BUILD_ONLY.search(p):
                    errs.append("%s: stage %s installs %s, a build-time package, in a runtime image"
                                % (where, st["name"], p))
        elif ins == "USER":
            st["user"] = rest.split(":")[0]
        elif ins == "ENTRYPOINT":
            st["entrypoint"] = rest
    if not stages:
        return errs + ["no FROM"]
    if stages[0]["name"] != "build":
        errs.append("the first stage is not named build")
    for st in stages[1:]:
        if st["user"] in (None, "0", "root"):
            errs.append("stage %s (line %d) runs as root: end it with USER and a non-root id"
                        % (st["name"], st["line"]))
    last = stages[-1]
    if last["name"] != "fulcrum" or not last["entrypoint"] or "fulcrum" not in last["entrypoint"]:
        errs.append("the last stage (the default image) is not fulcrum with ENTRYPOINT fulcrum")
    return errs


MUTATIONS = [
    ("COPY of a file that does not exist", "does not exist",
     lambda t: t.replace("COPY deploy/docker/example_app.py", "COPY deploy/docker/no_such_app.py")),
    ("a package name Debian does not have", "no such Debian package",
     lambda t: t.replace(" libcjson1 ca-certificates \\\n && rm -rf /var/lib/apt/lists/* \\\n && groupadd --gid 10001 fulcrum",
                         " libcjson1 libcjson7 ca-certificates \\\n && rm -rf /var/lib/apt/lists/* \\\n && groupadd --gid 10001 fulcrum")),
    ("a -dev package in the runtime image", "build-time package",
     lambda t: t.replace("      libev4 libssl3", "      libev-dev libssl3")),
    ("the runtime image as root", "runs as root",
     lambda t: t[:t.rindex("USER 10001:10001")] + "USER root" + t[t.rindex("USER 10001:10001") + len("USER 10001:10001"):]),
    ("COPY --from a stage that does not exist", "no earlier stage",
     lambda t: t.replace("COPY --from=build /build/fulcrum ", "COPY --from=builder /build/fulcrum ")),
    ("not Debian bookworm", "Debian bookworm",
     lambda t: t.replace("FROM debian:bookworm-slim AS fulcrum", "FROM ubuntu:24.04 AS fulcrum")),
]


def self_test(text, context):
    base = check(text, context)
    if base:
        print("self-test: the Dockerfile itself fails:\n  " + "\n  ".join(base))
        return 1
    bad = 0
    for what, expect, mutate in MUTATIONS:
        t = mutate(text)
        if t == text:
            print("self-test: mutation did not apply: %s" % what)
            bad += 1
            continue
        errs = check(t, context)
        if any(expect in e for e in errs):
            print("self-test: caught: %s: %s" % (what, next(e for e in errs if expect in e)))
        else:
            bad += 1
            print("self-test: NOT CAUGHT: %s (got %s)" % (what, errs))
    print("self-test: %d of %d mistakes caught" % (len(MUTATIONS) - bad, len(MUTATIONS)))
    return 1 if bad else 0


def runtime_libs(text, binaries):
    """Every shared library the binaries link directly (ELF NEEDED, found through ldd and
    mapped to its package with dpkg -S) must come from a package the last stage installs
    (or libc6, which the base image has)."""
    stage_pkgs, errs = set(), []
    for n, ins, rest in instructions(text):
        if ins == "FROM":
            stage_pkgs = set()
        elif ins == "RUN":
            stage_pkgs.update(apt_packages(rest))
    for b in binaries:
        needed = re.findall(r"NEEDED\s+(\S+)", subprocess.run(["objdump", "-p", b], stdout=subprocess.PIPE,
                                                              text=True, check=True).stdout)
        paths = dict(re.findall(r"^\s*(\S+) => (\S+)", subprocess.run(["ldd", b], stdout=subprocess.PIPE,
                                                                      text=True).stdout, flags=re.M))
        for lib in needed:
            path = paths.get(lib)
            if not path:
                errs.append("%s: library %s not found by ldd" % (b, lib))
                continue
            r = subprocess.run(["dpkg", "-S", os.path.realpath(path)], stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL, text=True)
            if r.returncode != 0:
                r = subprocess.run(["dpkg", "-S", path], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
            pkg = r.stdout.split(":")[0] if r.returncode == 0 else None
            if pkg is None:
                errs.append("%s: %s (%s) belongs to no Debian package" % (b, lib, path))
            elif pkg != "libc6" and pkg not in stage_pkgs:
                errs.append("%s needs %s from package %s, which the runtime stage does not install"
                            % (os.path.basename(b), lib, pkg))
            else:
                print("check_dockerfile: %s: %s from %s" % (os.path.basename(b), lib, pkg))
    return errs


def copies(text, stage):
    """The build-context sources the stage copies in."""
    cur, out = None, []
    for n, ins, rest in instructions(text):
        if ins == "FROM":
            m = re.search(r"\s+AS\s+(\S+)$", rest, flags=re.I)
            cur = m.group(1).lower() if m else None
        elif ins == "COPY" and cur == stage:
            words = shlex.split(rest)
            if any(w.startswith("--from=") for w in words):
                continue
            words = [w for w in words if not w.startswith("--")]
            out += words[:-1]
    return out


def main():
    a = sys.argv[1:]
    if len(a) == 3 and a[0] == "--copies":
        print("\n".join(copies(open(a[1]).read(), a[2])))
        return 0
    if len(a) >= 3 and a[0] == "--libs":
        errs = runtime_libs(open(a[1]).read(), a[2:])
        for e in errs:
            print("check_dockerfile: " + e)
        return 1 if errs else 0
    test = a and a[0] == "--self-test"
    if test:
        a = a[1:]
    if len(a) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    text = open(a[0]).read()
    if test:
        return self_test(text, a[1])
    errs = check(text, a[1])
    for e in errs:
        print("check_dockerfile: " + e)
    print("check_dockerfile: %s" % ("%d problem(s)" % len(errs) if errs else "all checks pass"))
    return 1 if errs else 0


if __name__ == "__main__":
    sys.exit(main())
