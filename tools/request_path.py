#!/usr/bin/env python3
"""request_path.py: which source files one plain HTTP request passes through.

Reads the per-thread traces that tools/request_tracer.c wrote (TRACE_DIR/trace.*) from
a fulcrum built with -finstrument-functions, takes the worker thread's last connection
(from its on_accept to the end of its client_free), maps every function entered to the
file that defines it (addr2line), and prints: the .c files and headers entered, how many
times control moved from one file to another, and how many of those moves went back to
a file already left (the measure of issue 18: "a newcomer follows a plain HTTP request
in at most 7 .c files, in one direction"); and the lb/ files control passes through
(those that call another lb/ file, or that the loop entered first), with the pairs of lb/
files that called each other. With -v, every function and its calls.

Usage: tools/request_path.py BINARY TRACE_DIR [-v]
"""
import collections
import glob
import os
import subprocess
import sys


def symbolize(binary, addrs):
    """{addr: (function, file relative to the tree)} through addr2line."""
    out = subprocess.run(["addr2line", "-f", "-e", binary] + addrs,
                         capture_output=True, text=True, check=True).stdout.split("\n")
    root = os.getcwd() + "/"
    return {a: (out[2 * i], out[2 * i + 1].split(":")[0].replace(root, ""))
            for i, a in enumerate(addrs)}


def connection_segment(events, where):
    """The events of the last connection: its on_accept to the end of its client_free."""
    starts = [i for i, (kind, a) in enumerate(events) if kind == "E" and where[a][0] == "on_accept"]
    if not starts:
        return None
    seg = events[starts[-1]:]
    for i, (kind, a) in enumerate(seg):
        if kind == "X" and where[a][0] == "client_free":
            return seg[:i + 1]
    return seg


def data_path_spine(calls, first):
    """The lb/ files control passes through: the one the loop entered first, and every
    lb/ file that called into another lb/ file; an lb/ file that only answers calls
    (masks, counters, copies of the head) is read like a library call. Also the pairs of
    lb/ files that called each other on this path."""
    lb = {(a, b) for a, b in calls if a.startswith("lb/") and b.startswith("lb/")}
    spine = sorted({a for a, _ in lb} | ({first} if first.startswith("lb/") else set()))
    pairs = sorted({tuple(sorted(p)) for p in lb if (p[1], p[0]) in lb})
    return spine, pairs


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    binary, trace_dir, verbose = sys.argv[1], sys.argv[2], "-v" in sys.argv[3:]
    for name in sorted(glob.glob(os.path.join(trace_dir, "trace.*"))):
        events = [line.split() for line in open(name) if line.count(" ") == 1]
        where = symbolize(binary, sorted({a for _, a in events}))
        seg = connection_segment(events, where)
        if seg is None:
            continue  # not the worker thread
        stack, at, calls = [], [], set()
        for kind, a in seg:
            if kind == "E":
                if stack and stack[-1] != where[a][1]:
                    calls.add((stack[-1], where[a][1]))
                stack.append(where[a][1])
                at.append(stack[-1])
            else:
                if stack:
                    stack.pop()
                if stack:
                    at.append(stack[-1])
        moves = [f for i, f in enumerate(at) if i == 0 or at[i - 1] != f]
        seen, back = set(), 0
        for f in moves:
            back += f in seen
            seen.add(f)
        entered = collections.Counter(where[a][1] for kind, a in seg if kind == "E")
        cfiles = sorted(f for f in entered if f.endswith(".c"))
        headers = sorted(f for f in entered if f.endswith(".h"))
        by_folder = collections.Counter(f.split("/")[0] for f in cfiles)
        print(f"{len(cfiles)} .c files ({', '.join(f'{k} {v}' for k, v in sorted(by_folder.items()))}):")
        for f in cfiles:
            print(f"  {f}")
        print(f"{len(headers)} headers with inline functions: {' '.join(headers)}")
        print(f"{len(moves) - 1} moves between files, {back} of them back to a file already left")
        spine, pairs = data_path_spine(calls, at[0] if at else "")
        print(f"{len(spine)} lb/ files the request passes through (the rest of lb/ on the path "
              f"only answers calls): {' '.join(spine)}")
        print("lb/ files that call each other (either way, by name or through a table): "
              + (", ".join(f"{a} <-> {b}" for a, b in pairs) or "none"))
        if verbose:
            calls = collections.Counter(where[a] for kind, a in seg if kind == "E")
            for (fn, f), n in sorted(calls.items(), key=lambda kv: (kv[0][1], kv[0][0])):
                print(f"    {f} {fn} x{n}")
        return
    sys.exit("request_path: no worker thread trace with an on_accept in " + trace_dir)


if __name__ == "__main__":
    main()
