#!/usr/bin/env bash
# t_readme.sh: the README stays a front door and every doc link leads somewhere. Fails
# when README.md has 150 lines or more; when its first 12 lines lack `make demo` or
# `make test`; when a relative markdown link (or its #anchor) in README.md, docs/*.md,
# docs/internals/*.md, deploy/**/README.md or bench/README.md names a file or heading
# that does not exist; when the README shows `fulcrumctl SUBCOMMAND` that fulcrumctl's
# own help does not list; or `make TARGET` that the Makefile does not have; or when a
# tracked text file holds merge conflict markers. Then each
# rule is shown to fail on a mutated copy, so none of them can pass vacuously.
# e2e: pairs
. "$(dirname "$0")/../lib/lib.sh"
. "$E2E_DIR/ctl_lib.sh"

step "fulcrumctl's subcommands, from its help"
"$FULCRUMCTL" help >"$T/ctl-help.txt" 2>&1 || fail "fulcrumctl help failed: $(cat "$T/ctl-help.txt")"

# check [--as REL FILE]...: runs the checker on the repository, with the content of REL
# (a path in it) taken from FILE instead. Exit 0 when every rule holds.
check() {
	"$PY" - "$REPO_DIR" "$T/ctl-help.txt" "$@" <<'EOF'
import glob, os, re, sys

root, helpfile = sys.argv[1], sys.argv[2]
overrides = {}
args = sys.argv[3:]
while args:
    assert args[0] == "--as" and len(args) >= 3, "usage: --as REL FILE"
    overrides[os.path.normpath(args[1])] = args[2]
    args = args[3:]
errors = []

def read(rel):
    rel = os.path.normpath(rel)
    with open(overrides.get(rel, os.path.join(root, rel)), encoding="utf-8") as f:
        return f.read()

def exists(rel):
    rel = os.path.normpath(rel)
    return rel in overrides or os.path.exists(os.path.join(root, rel))

def prose_and_code(text):
    """Splits markdown into (prose lines, code texts): fenced and 4-space indented
    lines are code (a line ending in a backslash joined with the next), and so is every
    `inline span` of the other lines (a span may wrap onto the next line)."""
    prose, code, para, fenced, pending = [], [], [], False, None
    for line in text.split("\n") + [""]:
        if line.lstrip().startswith("```"):
            fenced = not fenced
            continue
        if fenced or line.startswith("    ") or line.startswith("\t"):
            if pending is not None:
                line, pending = pending + " " + line.strip(), None
            if line.rstrip().endswith("\\"):
                pending = line.rstrip()[:-1]
            else:
                code.append(line)
            continue
        if pending is not None:
            code.append(pending)
            pending = None
        prose.append(line)
        para.append(line)
        if not line.strip():
            code.extend(re.findall(r"`([^`]+)`", " ".join(para)))
            para = []
    return prose, code

def slug(heading):
    """GitHub's anchor for a heading: link text kept, markup dropped, lower case,
    punctuation removed, spaces to hyphens."""
    h = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading)
    h = h.replace("`", "").replace("*", "").strip().lower()
    h = re.sub(r"[^\w\- ]", "", h)
    return h.replace(" ", "-")

def anchors(rel):
    seen, out = {}, set()
    fenced = False
    for line in read(rel).split("\n"):
        if line.lstrip().startswith("```"):
            fenced = not fenced
            continue
        m = None if fenced else re.match(r"#{1,6}\s+(.*?)\s*#*\s*$", line)
        if m:
            s = slug(m.group(1))
            n = seen.get(s, 0)
            seen[s] = n + 1
            out.add(s if n == 0 else "%s-%d" % (s, n))
    return out

# 1. Length and the first lines.
readme = read("README.md")
lines = readme.split("\n")
if readme.endswith("\n"):
    lines = lines[:-1]
if len(lines) >= 150:
    errors.append("README.md has %d lines (must stay under 150)" % len(lines))
head = "\n".join(lines[:12])
for cmd in ("make demo", "make test"):
    if cmd not in head:
        errors.append("README.md: '%s' is not in its first 12 lines" % cmd)

# 2. Relative links and their anchors.
docs = ["README.md"] + sorted(
    os.path.relpath(p, root) for pat in ("docs/*.md", "docs/internals/*.md", "deploy/**/README.md", "bench/README.md")
    for p in glob.glob(os.path.join(root, pat), recursive=True))
for rel in docs:
    prose, _ = prose_and_code(read(rel))
    for n, line in enumerate(prose):
        for target in re.findall(r"\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)", line):
            if re.match(r"[A-Za-z][A-Za-z0-9+.-]*:", target):
                continue  # http:, https:, mailto:
            path, _, frag = target.partition("#")
            dest = os.path.normpath(os.path.join(os.path.dirname(rel), path)) if path else rel
            if not exists(dest):
                errors.append("%s: link to %s: no such file %s" % (rel, target, dest))
            elif frag and dest.endswith(".md") and frag not in anchors(dest):
                errors.append("%s: link to %s: %s has no heading #%s" % (rel, target, dest, frag))

# 3. fulcrumctl subcommands shown in the README are ones fulcrumctl lists.
helptext = open(helpfile).read()
subs = set()
for line in helptext.split("\n"):
    m = re.match(r"  ([a-z][a-z-]*(?: \| [a-z][a-z-]*)*)(?:\s|$)", line)
    if m:
        subs.update(m.group(1).split(" | "))
    subs.update(re.findall(r"alias: ([a-z][a-z-]*)", line))
if not {"drain", "backends", "set"} <= subs:
    errors.append("could not read the subcommands from fulcrumctl help (got %s)" % sorted(subs))
valued = {"-s", "--token-file", "--timeout", "--cacert", "--cert", "--key", "--docker-socket"}
_, code = prose_and_code(readme)
shown = 0
for text in code:
    for m in re.finditer(r"(?:^|[\s/])fulcrumctl(?=\s|$)(.*)", text):
        toks = m.group(1).split()
        i = 0
        while i < len(toks) and toks[i].startswith("-"):
            i += 2 if toks[i] in valued else 1
        if i >= len(toks) or toks[i] in ("#", ";", "&&", "|", "||"):
            continue
        shown += 1
        if toks[i] not in subs:
            errors.append("README.md: 'fulcrumctl ... %s': not a subcommand fulcrumctl lists (%s)"
                          % (toks[i], " ".join(sorted(subs))))

# 4. make targets named in the README exist.
targets = set()
for line in read("Makefile").split("\n"):
    m = re.match(r"\.PHONY\s*:(.*)", line)
    if m:
        targets.update(m.group(1).split())
        continue
    m = re.match(r"([A-Za-z0-9_.-]+(?:[ \t]+[A-Za-z0-9_.-]+)*)[ \t]*:(?![:=])", line)
    if m:
        targets.update(t for t in m.group(1).split() if not t.startswith("."))
for text in code:
    for m in re.finditer(r"(?:^|[\s;&(])make(?=\s|$)(.*)", text):
        toks = m.group(1).split()
        i = 0
        while i < len(toks):
            t = toks[i]
            if re.match(r"[A-Za-z_][A-Za-z0-9_]*=", t):
                i += 1
            elif t in ("-C", "-f"):
                i += 2
            elif t.startswith("-"):
                i += 1
            elif re.match(r"[a-z][a-z0-9_.-]*$", t):
                if t not in targets:
                    errors.append("README.md: 'make %s': no such target in the Makefile" % t)
                i += 1
            else:
                break

# 5. no tracked text file holds a merge's conflict markers (a merge once committed them
# into docs/architecture.md, and no other rule read that part)
import subprocess
tracked = subprocess.run(["git", "-C", root, "ls-files", "-z"], capture_output=True,
                         check=True).stdout.decode().split("\0")
if len(tracked) < 100:
    errors.append("git ls-files listed %d files: not the repository" % len(tracked))
marker = re.compile(r"^(<{7} |>{7} |={7}$)", re.M)
for rel in sorted(set(t for t in tracked if t) | set(overrides)):
    try:
        text = read(rel)
    except (UnicodeDecodeError, FileNotFoundError, IsADirectoryError):
        continue  # binary, or a deleted file not committed yet
    m = marker.search(text)
    if m:
        errors.append("%s:%d: a merge conflict marker" % (rel, text.count("\n", 0, m.start()) + 1))

if shown == 0:
    errors.append("README.md shows no fulcrumctl command (the tour has one)")
for e in errors:
    print(e)
sys.exit(1 if errors else 0)
EOF
}

step "the repository as it is"
check >"$T/check.out" 2>&1 || fail "$(cat "$T/check.out")"

# must_fail NAME WHY [--as REL FILE]...: the checker must refuse this mutation, saying WHY.
must_fail() {
	local name=$1 why=$2 rc=0
	shift 2
	check "$@" >"$T/mut.out" 2>&1 || rc=$?
	[ "$rc" = 1 ] || fail "mutation '$name' was not caught (exit $rc): $(cat "$T/mut.out")"
	grep -q -- "$why" "$T/mut.out" || fail "mutation '$name': expected '$why' in: $(cat "$T/mut.out")"
}

step "each rule fails on a mutated copy"
R=$REPO_DIR/README.md
{ cat "$R"; for _ in $(seq 1 150); do echo; done; } >"$T/long.md"
must_fail "150 lines" "must stay under 150" --as README.md "$T/long.md"
{ for _ in $(seq 1 12); do echo; done; cat "$R"; } >"$T/late.md"
must_fail "make demo too late" "'make demo' is not in its first 12" --as README.md "$T/late.md"
{ cat "$R"; echo "See [the guide](docs/no-such-guide.md)."; } >"$T/badlink.md"
must_fail "broken link" "no such file docs/no-such-guide.md" --as README.md "$T/badlink.md"
{ cat "$R"; echo "See [keys](docs/configuration.md#no-such-section)."; } >"$T/badanchor.md"
must_fail "broken anchor" "has no heading #no-such-section" --as README.md "$T/badanchor.md"
{ cat "$R"; echo; echo "    build/fulcrumctl -s http://127.0.0.1:9000 --all undrain flask web-3"; } >"$T/badctl.md"
must_fail "unknown fulcrumctl subcommand" "'fulcrumctl ... undrain'" --as README.md "$T/badctl.md"
{ cat "$R"; echo "Then \`make PREFIX=/opt installl\`."; } >"$T/badmake.md"
must_fail "unknown make target" "'make installl'" --as README.md "$T/badmake.md"
{ cat "$REPO_DIR/docs/operations.md"; echo "Back to [the README](../README.md#kubernetes-and-docker)."; } >"$T/badops.md"
must_fail "broken anchor in docs/" "docs/operations.md: link to ../README.md#kubernetes-and-docker" \
	--as docs/operations.md "$T/badops.md"
{ cat "$REPO_DIR/docs/cluster.md"; printf '<<<<<<< HEAD\nours\n=======\ntheirs\n>>>>>>> branch\n'; } >"$T/conflict.md"
must_fail "merge conflict markers" "docs/cluster.md:[0-9]*: a merge conflict marker" \
	--as docs/cluster.md "$T/conflict.md"
