#!/usr/bin/env python3
"""request_path.py: which source files one plain HTTP request passes through, and
whether its calls go one way (issue 18: "a newcomer follows a plain HTTP request in at
most 7 .c files, in one direction").

Reads the per-thread traces that tools/request_tracer.c wrote (TRACE_DIR/trace.*) from
a fulcrum built with -finstrument-functions, takes the worker thread's last connection
(from its on_accept to the end of its client_free), maps every function entered to the
file that defines it (addr2line; a header's static inline function to its header), and
prints:
- the .c files and headers entered;
- the calls between files (by name, through a table or a libev callback alike) and
  whether they form a cycle: one direction means no file calls, however far round, a
  file that called it. A cycle is listed with the calls that make it;
- the lb/ files in reading order (each before every file it calls);
- the request's path: the lb/ files on the call stack whenever the request crosses a
  socket (the accept, every read and write of the client's and the backend's socket,
  its backend connection attached, the close). The other lb/ files on the trace answer a call and
  return (masks, counters, copies of the head) and are read like library calls.
With --check, exits 1 when the calls form a cycle. With -v, every function entered;
with --brief, only the counts, the verdict and the path.

Usage: tools/request_path.py BINARY TRACE_DIR [-v] [--check] [--brief]
"""
import collections
import glob
import os
import re
import subprocess
import sys

# Where a request crosses a socket: the accept (the first function of the segment),
# the socket calls of include/sock_io.h (plain reads and writes, both sides), its
# backend connection attached (a new one, or one from the idle pool) and the close.
SOCKET_POINTS = {"sock_read", "sock_write", "sock_writev", "upstream_attach", "client_close"}


def inline_homes():
    """{function: header} for the static inline functions of include/: gcc emits their
    out-of-line copies in the .c that uses them, where addr2line may place them."""
    homes = {}
    for h in sorted(glob.glob("include/*.h")):
        for m in re.finditer(r"static inline[^(;{]*?\b(\w+)\s*\(", open(h).read()):
            homes.setdefault(m.group(1), h)
    return homes


def symbolize(binary, addrs):
    """{addr: (function, file relative to the tree)} through addr2line."""
    out = subprocess.run(["addr2line", "-f", "-e", binary] + addrs,
                         capture_output=True, text=True, check=True).stdout.split("\n")
    root = os.getcwd() + "/"
    homes = inline_homes()
    where = {}
    for i, a in enumerate(addrs):
        fn, f = out[2 * i], out[2 * i + 1].split(":")[0].replace(root, "")
        where[a] = (fn, homes.get(fn, f))
    return where


def connection_segment(events, where):
    """The events from the last connection's on_accept to the end of the last client_free
    (its own: the connections before it were closed first, or, queued behind one, the
    one it waited for ends in it too)."""
    starts = [i for i, (kind, a) in enumerate(events) if kind == "E" and where[a][0] == "on_accept"]
    if not starts:
        return None
    seg = events[starts[-1]:]
    ends = [i for i, (kind, a) in enumerate(seg) if kind == "X" and where[a][0] == "client_free"]
    return seg[:ends[-1] + 1] if ends else seg


def cycles(edges):
    """The strongly connected components of more than one file (Tarjan)."""
    graph = collections.defaultdict(set)
    for a, b in edges:
        graph[a].add(b)
    index, low, stack, on, found = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(sorted(comp))

    for v in sorted(set(graph) | {b for s in graph.values() for b in s}):
        if v not in index:
            visit(v)
    return found


def reading_order(files, edges, first_seen):
    """files ordered so that each comes before every file it calls (the graph is acyclic),
    ties by first entry."""
    callers = {f: {a for a, b in edges if b == f and a in files} for f in files}
    order, done = [], set()
    while len(order) < len(files):
        ready = [f for f in files if f not in done and callers[f] <= done]
        f = min(ready, key=lambda x: first_seen[x])
        order.append(f)
        done.add(f)
    return order


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("-")]
    if len(args) < 2:
        sys.exit(__doc__)
    binary, trace_dir = args
    verbose, check, brief = "-v" in sys.argv, "--check" in sys.argv, "--brief" in sys.argv
    for name in sorted(glob.glob(os.path.join(trace_dir, "trace.*"))):
        events = [line.split() for line in open(name) if line.count(" ") == 1]
        where = symbolize(binary, sorted({a for _, a in events}))
        seg = connection_segment(events, where)
        if seg is None:
            continue  # not the worker thread
        stack, edges, first_seen, path = [], collections.defaultdict(set), {}, set()
        for kind, a in seg:
            if kind == "E":
                fn, f = where[a]
                first_seen.setdefault(f, len(first_seen))
                if stack and stack[-1][1] != f:
                    edges[(stack[-1][1], f)].add(f"{stack[-1][0]} -> {fn}")
                stack.append((fn, f))
                if len(stack) == 1 or fn in SOCKET_POINTS:
                    path |= {g for _, g in stack if g.startswith("lb/")}
            elif stack:
                stack.pop()
        entered = collections.Counter(where[a][1] for kind, a in seg if kind == "E")
        cfiles = sorted(f for f in entered if f.endswith(".c"))
        headers = sorted(f for f in entered if f.endswith(".h"))
        by_folder = collections.Counter(f.split("/")[0] for f in cfiles)
        print(f"{len(cfiles)} .c files ({', '.join(f'{k} {v}' for k, v in sorted(by_folder.items()))}), "
              f"{len(headers)} headers with inline functions, {len(edges)} calling pairs of files")
        loops = cycles(edges)
        if loops:
            print("NOT one direction: these files call each other, however far round:")
            for comp in loops:
                print("  " + " ".join(comp))
                for (a, b), calls in sorted(edges.items()):
                    if a in comp and b in comp:
                        print(f"    {a} -> {b}: {', '.join(sorted(calls))}")
        else:
            print("one direction: no file calls a file that called it, however far round "
                  "(by name, through a table or a libev callback alike)")
        lb = [f for f in cfiles if f.startswith("lb/")]
        if not loops:
            order = reading_order(lb, edges, first_seen)
        if not loops and not brief:
            print(f"{len(lb)} lb/ files, in reading order (each before the files it calls):")
            for f in order:
                callees = sorted(b for a, b in edges if a == f and b.startswith("lb/"))
                print(f"  {f}" + (f" -> {' '.join(callees)}" if callees else ""))
        path_files = [f for f in (order if not loops else lb) if f in path]
        print(f"the request's path: {len(path_files)} lb/ files on the call stack whenever it "
              f"crosses a socket: {' '.join(path_files)}")
        if verbose:
            calls = collections.Counter(where[a] for kind, a in seg if kind == "E")
            for (fn, f), n in sorted(calls.items(), key=lambda kv: (kv[0][1], kv[0][0])):
                print(f"    {f} {fn} x{n}")
        sys.exit(1 if check and loops else 0)
    sys.exit("request_path: no worker thread trace with an on_accept in " + trace_dir)


if __name__ == "__main__":
    main()
