"""alog.py: queries over fulcrum's JSON access log (one object per line).
  alog.py FILE count [KEY=VALUE ...]       number of entries matching all filters
  alog.py FILE group KEY [KEY=VALUE ...]   JSON {value: count} of KEY over matching entries
  alog.py FILE last [KEY=VALUE ...]        the last matching entry, as JSON ("null" if none)
  alog.py FILE check-fields F1,F2,...      exit 1 unless every entry has these fields
Values compare as strings; KEY~=TEXT matches when TEXT is a substring."""
import json
import sys


def entries(path):
    try:
        f = open(path, encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return
    with f:
        for n, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            try:
                yield json.loads(line)
            except ValueError:
                print("alog: %s:%d: not JSON: %.120s" % (path, n, line), file=sys.stderr)


def match(e, filters):
    for f in filters:
        if "~=" in f:
            k, v = f.split("~=", 1)
            if v not in str(e.get(k, "")):
                return False
        else:
            k, v = f.split("=", 1)
            if str(e.get(k)) != v:
                return False
    return True


def main(argv):
    path, cmd, args = argv[1], argv[2], argv[3:]
    if cmd == "count":
        print(sum(1 for e in entries(path) if match(e, args)))
    elif cmd == "group":
        key, filters = args[0], args[1:]
        out = {}
        for e in entries(path):
            if match(e, filters):
                v = str(e.get(key))
                out[v] = out.get(v, 0) + 1
        print(json.dumps(out, sort_keys=True))
    elif cmd == "last":
        last = None
        for e in entries(path):
            if match(e, args):
                last = e
        print(json.dumps(last))
    elif cmd == "check-fields":
        need = args[0].split(",")
        bad = 0
        for e in entries(path):
            missing = [k for k in need if k not in e]
            if missing:
                bad += 1
                print("alog: entry without %s: %s" % (",".join(missing), json.dumps(e)[:300]),
                      file=sys.stderr)
        return 1 if bad else 0
    else:
        print("alog: unknown command %s" % cmd, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
