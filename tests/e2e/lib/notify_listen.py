#!/usr/bin/env python3
"""notify_listen.py: a stand-in for systemd's notification socket. Binds a unix
datagram socket at PATH (or an abstract one for '@name') and appends each datagram it
receives to OUT as one line: the receive time (CLOCK_MONOTONIC, microseconds), the
sender's pid as the kernel vouches for it (what systemd's NotifyAccess=main checks), and
the datagram with its newlines shown as '|':
    "1234567 pid=42 RELOADING=1|MONOTONIC_USEC=1234500"
With PROBE_PORT, each READY=1 is followed at once by a TCP connect to
127.0.0.1:PROBE_PORT and " probe=ok" or " probe=refused" on its line: readiness must
not come before the listener accepts. Runs until SIGTERM/SIGINT.

usage: notify_listen.py PATH OUT [PROBE_PORT]
"""
import signal
import socket
import sys
import time


def main():
    path, out = sys.argv[1], sys.argv[2]
    probe = int(sys.argv[3]) if len(sys.argv) > 3 else 0
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    # the sender's credentials, as systemd reads them (SO_PASSCRED)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
    s.bind("\0" + path[1:] if path.startswith("@") else path)
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
    with open(out, "a", buffering=1) as f:
        while True:
            data, anc, _, _ = s.recvmsg(65536, socket.CMSG_SPACE(12))
            pid = 0
            for level, kind, cdata in anc:
                if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
                    pid = int.from_bytes(cdata[0:4], sys.byteorder)
            text = data.decode("utf-8", "replace").rstrip("\n").replace("\n", "|")
            now = time.monotonic_ns() // 1000
            if probe and "READY=1" in text.split("|"):
                try:
                    socket.create_connection(("127.0.0.1", probe), timeout=2).close()
                    text += " probe=ok"
                except OSError:
                    text += " probe=refused"
            f.write("%d pid=%d %s\n" % (now, pid, text))


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        pass
