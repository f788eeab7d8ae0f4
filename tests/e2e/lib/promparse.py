"""promparse.py: a strict reader of the Prometheus text exposition format 0.0.4.
  promparse.py check FILE    exit 1 (reasons on stderr) unless FILE follows the format:
                             every line a comment or `name{labels} value`; HELP and TYPE
                             at most once per family and before its samples; a family's
                             samples together; no series twice; label values escaped;
                             counters >= 0; histogram buckets cumulative, le increasing,
                             ending in +Inf equal to _count, with a _sum
  promparse.py json FILE     the samples as JSON {"name{k=\"v\",...}": value}, labels sorted
Used by t_metrics.sh (and where promtool is missing, instead of it)."""
import json
import math
import re
import sys

NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
LABEL = r"[a-zA-Z_][a-zA-Z0-9_]*"
TYPES = ("counter", "gauge", "histogram", "summary", "untyped")


def parse_labels(text, where):
    """`k="v",k2="v2"` -> list of (k, v); raises ValueError on any malformation."""
    out = []
    i = 0
    while i < len(text):
        m = re.match(LABEL, text[i:])
        if not m:
            raise ValueError("%s: bad label name at %r" % (where, text[i:]))
        k = m.group(0)
        i += len(k)
        if text[i:i + 2] != '="':
            raise ValueError("%s: label %s without =\"" % (where, k))
        i += 2
        v = []
        while True:
            if i >= len(text):
                raise ValueError("%s: unterminated value of label %s" % (where, k))
            c = text[i]
            if c == "\\":
                nxt = text[i + 1:i + 2]
                if nxt not in ("\\", '"', "n"):
                    raise ValueError("%s: bad escape \\%s in label %s" % (where, nxt, k))
                v.append("\n" if nxt == "n" else nxt)
                i += 2
                continue
            if c == "\n":
                raise ValueError("%s: raw newline in label %s" % (where, k))
            if c == '"':
                i += 1
                break
            v.append(c)
            i += 1
        out.append((k, "".join(v)))
        if i < len(text):
            if text[i] != ",":
                raise ValueError("%s: expected , after label %s" % (where, k))
            i += 1
            if i == len(text):
                break  # a trailing comma is allowed by the format
    names = [k for k, _ in out]
    if len(set(names)) != len(names):
        raise ValueError("%s: a label appears twice" % where)
    return out


def parse_value(s, where):
    if s in ("+Inf", "-Inf", "NaN"):
        return float(s.replace("Inf", "inf").replace("NaN", "nan"))
    if not re.fullmatch(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?", s):
        raise ValueError("%s: bad value %r" % (where, s))
    return float(s)


def family_of(name, types):
    for suffix in ("_bucket", "_sum", "_count"):
        if name.endswith(suffix) and types.get(name[:-len(suffix)]) in ("histogram", "summary"):
            return name[:-len(suffix)]
    return name


def parse(text):
    """Returns (samples, types, errors): samples as a list of (name, labels, value)."""
    errors, samples = [], []
    types, helps, seen_series = {}, {}, set()
    finished, current = set(), None
    if text and not text.endswith("\n"):
        errors.append("the last line has no newline")
    for n, line in enumerate(text.split("\n")[:-1] if text.endswith("\n") else text.split("\n"), 1):
        where = "line %d" % n
        if line == "":
            errors.append("%s: empty line" % where)
            continue
        if line.startswith("#"):
            m = re.fullmatch(r"# (HELP|TYPE) (%s)(?: (.*))?" % NAME, line)
            if not m:
                if re.match(r"#\s*(HELP|TYPE)", line):
                    errors.append("%s: malformed %s" % (where, line))
                continue
            kind, name, rest = m.group(1), m.group(2), m.group(3) or ""
            if name in finished or name == current:
                errors.append("%s: %s of %s after its samples" % (where, kind, name))
            if kind == "TYPE":
                if name in types:
                    errors.append("%s: second TYPE for %s" % (where, name))
                if rest not in TYPES:
                    errors.append("%s: unknown type %r" % (where, rest))
                types[name] = rest
            else:
                if name in helps:
                    errors.append("%s: second HELP for %s" % (where, name))
                if re.search(r"\\[^\\n]", rest):
                    errors.append("%s: bad escape in HELP" % where)
                helps[name] = rest
            continue
        m = re.fullmatch(r"(%s)(?:\{(.*)\})? ([^ ]+)(?: (-?\d+))?" % NAME, line)
        if not m:
            errors.append("%s: not a sample: %r" % (where, line))
            continue
        name, ltext, vtext = m.group(1), m.group(2) or "", m.group(3)
        try:
            labels = parse_labels(ltext, where)
            value = parse_value(vtext, where)
        except ValueError as e:
            errors.append(str(e))
            continue
        fam = family_of(name, types)
        if fam not in types:
            errors.append("%s: sample of %s before (or without) its TYPE" % (where, fam))
        if fam != current:
            if current is not None:
                finished.add(current)
            if fam in finished:
                errors.append("%s: samples of %s are not together" % (where, fam))
            current = fam
        key = (name, tuple(sorted(labels)))
        if key in seen_series:
            errors.append("%s: series %s%s twice" % (where, name, dict(labels)))
        seen_series.add(key)
        if types.get(fam) == "counter" and not (value >= 0):
            errors.append("%s: counter %s is %s" % (where, name, vtext))
        samples.append((name, labels, value))
    errors += check_histograms(samples, types)
    return samples, types, errors


def check_histograms(samples, types):
    errors = []
    groups = {}
    for name, labels, value in samples:
        fam = family_of(name, types)
        if types.get(fam) != "histogram":
            continue
        rest = tuple(sorted((k, v) for k, v in labels if k != "le"))
        g = groups.setdefault((fam, rest), {"buckets": [], "sum": None, "count": None})
        if name == fam + "_bucket":
            le = dict(labels).get("le")
            if le is None:
                errors.append("%s%s: bucket without le" % (fam, dict(rest)))
                continue
            g["buckets"].append((le, value))
        elif name == fam + "_sum":
            g["sum"] = value
        elif name == fam + "_count":
            g["count"] = value
        else:
            errors.append("%s: sample %s is not _bucket/_sum/_count" % (fam, name))
    for (fam, rest), g in groups.items():
        what = "%s%s" % (fam, dict(rest))
        b = g["buckets"]
        if not b or b[-1][0] != "+Inf":
            errors.append("%s: buckets do not end with le=\"+Inf\"" % what)
            continue
        les = [parse_value(le, what) for le, _ in b]
        if any(les[i] >= les[i + 1] for i in range(len(les) - 1)):
            errors.append("%s: le not increasing: %s" % (what, [le for le, _ in b]))
        counts = [v for _, v in b]
        if any(counts[i] > counts[i + 1] for i in range(len(counts) - 1)):
            errors.append("%s: buckets not cumulative: %s" % (what, counts))
        if g["count"] is None or g["count"] != counts[-1]:
            errors.append("%s: _count %s != +Inf bucket %s" % (what, g["count"], counts[-1]))
        if g["sum"] is None or math.isnan(g["sum"]):
            errors.append("%s: no _sum" % what)
    return errors


def series_key(name, labels):
    return name + "{" + ",".join('%s="%s"' % (k, v) for k, v in sorted(labels)) + "}"


def main():
    if len(sys.argv) != 3 or sys.argv[1] not in ("check", "json"):
        sys.exit(__doc__)
    text = open(sys.argv[2], encoding="utf-8").read()
    samples, _, errors = parse(text)
    if sys.argv[1] == "check":
        for e in errors:
            print("promparse: " + e, file=sys.stderr)
        print("promparse: %d samples, %d errors" % (len(samples), len(errors)))
        sys.exit(1 if errors else 0)
    print(json.dumps({series_key(n, l): v for n, l, v in samples}, sort_keys=True))


if __name__ == "__main__":
    main()
