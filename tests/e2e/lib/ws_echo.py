"""ws_echo.py: WebSocket echo server and client (python3-websockets).
  ws_echo.py server --port P          echoes every message back
  ws_echo.py client --url ws://... --messages N [--ca FILE --sni NAME]
      sends N messages (text and binary), checks each echo; prints "ok N" or exits 1.
      wss:// URLs verify the server against --ca, under the name --sni."""
import argparse
import asyncio
import os
import ssl
import sys

import websockets


async def echo(ws, path=None):
    async for msg in ws:
        await ws.send(msg)


async def serve(port):
    async with websockets.serve(echo, "127.0.0.1", port, max_size=None):
        await asyncio.Future()


async def client(url, n, timeout, ca=None, sni=None):
    tls = {}
    if url.startswith("wss:"):
        tls = {"ssl": ssl.create_default_context(cafile=ca), "server_hostname": sni}
    async with websockets.connect(url, open_timeout=timeout, close_timeout=timeout,
                                  max_size=None, **tls) as ws:
        for i in range(n):
            msg = ("message %d through fulcrum" % i) if i % 2 == 0 else os.urandom(1000 + i * 70000)
            await ws.send(msg)
            got = await asyncio.wait_for(ws.recv(), timeout)
            if got != msg:
                print("mismatch on message %d: sent %d bytes, got %d" % (i, len(msg), len(got)))
                return 1
    print("ok %d" % n)
    return 0


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("server")
    p.add_argument("--port", type=int, required=True)
    p = sub.add_parser("client")
    p.add_argument("--url", required=True)
    p.add_argument("--messages", type=int, default=3)
    p.add_argument("--timeout", type=float, default=5.0)
    p.add_argument("--ca")
    p.add_argument("--sni")
    a = ap.parse_args()
    if a.cmd == "server":
        asyncio.run(serve(a.port))
        return 0
    try:
        return asyncio.run(client(a.url, a.messages, a.timeout, a.ca, a.sni))
    except Exception as e:  # noqa: BLE001 - the test wants the reason
        print("error: %s: %s" % (type(e).__name__, e))
        return 1


if __name__ == "__main__":
    sys.exit(main())
