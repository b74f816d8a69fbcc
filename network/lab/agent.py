"""Listeners and probes that run on the hosts (standard library only).

This file is also sent as-is to real hosts (`python3 - ARGS < agent.py`), so it
imports nothing from crossnet.

    serve --name N --tcp 22,443 --udp 53    listeners (the lab starts one per host)
    tcp HOST PORT[,PORT...] [--source ADDR] connect, read the banner (ports probed at once)
    udp HOST PORT [--source ADDR]           one datagram there and back
    send HOST PORT --bytes N [--mbps R]     stream N bytes (paced at R Mbit/s), compare SHA-256

The listeners (`serve`) import only what they need until a transfer arrives: the
lab starts one per host (36 in the largest bench topology), so each MiB counts
(docs/lab.md, memory). The lab runs them with `python3 -I -S` (AGENT_PYTHON).

A TCP listener greets with `crossnet-lab <name> <port>`; a client that then
sends `SINK\\n` streams data and gets `<count> <sha256>` back at EOF; anything
else is echoed. Probe commands print one JSON object and exit 0.
"""

from __future__ import annotations

import argparse
import socket
import socketserver
import sys
import threading
import time

# typing only for the checkers: importing it costs each listener 0.6 MiB
# (mypy reads a constant named TYPE_CHECKING as true).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

CHUNK = 64 * 1024


def _serve(args: argparse.Namespace) -> int:
    name = args.name
    servers: list[socketserver.BaseServer] = []

    class Tcp(socketserver.BaseRequestHandler):
        def handle(self) -> None:
            sock = self.request
            sock.settimeout(120)
            port = sock.getsockname()[1]
            sock.sendall(f"crossnet-lab {name} {port}\n".encode())
            first = sock.recv(CHUNK)
            if first.startswith(b"SINK\n"):
                import hashlib  # here: a listener that never sinks imports less (docs/lab.md)

                digest = hashlib.sha256()
                digest.update(first[5:])
                count = len(first) - 5
                while data := sock.recv(CHUNK):
                    digest.update(data)
                    count += len(data)
                sock.sendall(f"{count} {digest.hexdigest()}\n".encode())
                return
            data = first
            while data:
                sock.sendall(data)
                data = sock.recv(CHUNK)

    class Udp(socketserver.BaseRequestHandler):
        def handle(self) -> None:
            data, sock = self.request
            port = sock.getsockname()[1]
            sock.sendto(f"crossnet-lab {name} {port} ".encode() + data[:512], self.client_address)

    class TcpServer(socketserver.ThreadingTCPServer):
        allow_reuse_address = True
        daemon_threads = True

    for kind, ports, cls, handler in (
        ("tcp", args.tcp, TcpServer, Tcp),
        ("udp", args.udp, socketserver.ThreadingUDPServer, Udp),
    ):
        for port in _ports(ports):
            try:
                servers.append(cls(("0.0.0.0", port), handler))
            except OSError as e:
                # A real host's own service may hold the port: it answers instead.
                print(f"{kind} {port}: not listening ({e.strerror})", flush=True)
    for s in servers:
        threading.Thread(target=s.serve_forever, daemon=True).start()
    print(f"crossnet-lab agent {name}: tcp {args.tcp or '-'} udp {args.udp or '-'}", flush=True)
    threading.Event().wait()
    return 0


def _ports(text: str | None) -> list[int]:
    return [int(p) for p in (text or "").split(",") if p]


def _connect(host: str, port: int, source: str | None, timeout: float) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    if source:
        sock.bind((source, 0))
    sock.connect((host, port))
    return sock


def _tcp(args: argparse.Namespace) -> dict[str, Any]:
    """One port: its result. Several (`22,443`): {port: result}, probed at once."""
    ports = _ports(args.port)
    if len(ports) == 1:
        return _tcp_one(args.host, ports[0], args.source, args.timeout)
    results: dict[str, dict[str, Any]] = {}
    threads = [
        threading.Thread(
            target=lambda p=p: results.__setitem__(
                str(p), _tcp_one(args.host, p, args.source, args.timeout)
            )
        )
        for p in ports
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return {p: results[str(p)] for p in map(str, ports)}


def _tcp_one(host: str, port: int, source: str | None, timeout: float) -> dict[str, Any]:
    t0 = time.monotonic()
    try:
        with _connect(host, port, source, timeout) as sock:
            ms = round((time.monotonic() - t0) * 1000, 1)
            # The MSS this connection settled on: the SYN-ACK's, after any clamp on the path.
            mss = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_MAXSEG)
            try:
                banner = sock.recv(256).decode(errors="replace").strip()
            except OSError:
                banner = ""  # connected to a service of the host's own, not a lab listener
        return {"ok": True, "banner": banner, "mss": mss, "ms": ms}
    except OSError as e:
        return {"ok": False, "error": type(e).__name__ + ": " + str(e)}


def _udp(args: argparse.Namespace) -> dict[str, Any]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.settimeout(args.timeout)
    try:
        if args.source:
            sock.bind((args.source, 0))
        sock.sendto(b"ping", (args.host, args.port))
        data, _ = sock.recvfrom(1024)
        return {"ok": True, "banner": data.decode(errors="replace").strip()}
    except OSError as e:
        return {"ok": False, "error": type(e).__name__ + ": " + str(e)}
    finally:
        sock.close()


def _send(args: argparse.Namespace) -> dict[str, Any]:
    import hashlib

    digest = hashlib.sha256()
    # Deterministic, incompressible payload: a SHA-256 counter stream.
    block = b"".join(hashlib.sha256(i.to_bytes(4, "big")).digest() for i in range(CHUNK // 32))
    t0 = time.monotonic()
    sent = 0
    try:
        with _connect(args.host, args.port, args.source, args.timeout) as sock:
            sock.recv(256)
            sock.sendall(b"SINK\n")
            while sent < args.bytes:
                piece = block[: min(CHUNK, args.bytes - sent)]
                piece = sent.to_bytes(8, "big") + piece[8:] if len(piece) > 8 else piece
                sock.sendall(piece)
                digest.update(piece)
                sent += len(piece)
                if args.mbps > 0:
                    ahead = t0 + sent * 8 / (args.mbps * 1e6) - time.monotonic()
                    if ahead > 0:
                        time.sleep(ahead)
            sock.shutdown(socket.SHUT_WR)
            reply = b""
            while not reply.endswith(b"\n"):
                chunk = sock.recv(256)
                if not chunk:
                    break
                reply += chunk
        count, _, peer = reply.decode().strip().partition(" ")
        seconds = time.monotonic() - t0
        return {
            "ok": peer == digest.hexdigest() and int(count or -1) == sent,
            "sent": sent,
            "received": int(count or -1),
            "sha256": digest.hexdigest(),
            "peer": peer,
            "seconds": round(seconds, 3),
            "mbps": round(sent * 8 / seconds / 1e6, 1),
        }
    except OSError as e:
        return {
            "ok": False,
            "sent": sent,
            "error": type(e).__name__ + ": " + str(e),
            "seconds": round(time.monotonic() - t0, 3),
        }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="agent")
    sub = parser.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("serve")
    s.add_argument("--name", required=True)
    s.add_argument("--tcp", default="")
    s.add_argument("--udp", default="")
    for cmd in ("tcp", "udp", "send"):
        p = sub.add_parser(cmd)
        p.add_argument("host")
        p.add_argument("port", type=int if cmd != "tcp" else str)
        p.add_argument("--source")
        p.add_argument("--timeout", type=float, default=3.0)
        if cmd == "send":
            p.add_argument("--bytes", type=int, default=50 * 1024 * 1024)
            # Paced, so that one transfer spans a change (a rollout's steps) instead of
            # finishing before it: 0 sends as fast as TCP allows.
            p.add_argument("--mbps", type=float, default=0.0)
    args = parser.parse_args(argv)
    if args.cmd == "serve":
        return _serve(args)
    import json

    result = {"tcp": _tcp, "udp": _udp, "send": _send}[args.cmd](args)
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
