"""A minimal client for strongSwan's vici protocol (pure standard library).

swanctl has no command to unload one connection, and the lab needs that to
keep a single tunnel in each datacenter-side charon (see `datacenter.py`).
The wire format is strongSwan's `src/libcharon/plugins/vici/README.md`:
a 4-byte length, then a packet type, then a message of typed elements.
"""

from __future__ import annotations

import socket
import struct
from typing import Any

_CMD_REQUEST, _CMD_RESPONSE, _CMD_UNKNOWN = 0, 1, 2
_EVENT_REGISTER, _EVENT_UNREGISTER, _EVENT_CONFIRM, _EVENT_UNKNOWN, _EVENT = 3, 4, 5, 6, 7
_SECTION_START, _SECTION_END, _KEY_VALUE, _LIST_START, _LIST_ITEM, _LIST_END = 1, 2, 3, 4, 5, 6


class ViciError(RuntimeError):
    """The daemon refused a command, or the socket failed."""


def encode(msg: dict[str, Any]) -> bytes:
    out = bytearray()
    for key, value in msg.items():
        k = key.encode()
        if isinstance(value, dict):
            out += bytes([_SECTION_START, len(k)]) + k + encode(value) + bytes([_SECTION_END])
        elif isinstance(value, (list, tuple)):
            out += bytes([_LIST_START, len(k)]) + k
            for item in value:
                v = str(item).encode()
                out += bytes([_LIST_ITEM]) + struct.pack("!H", len(v)) + v
            out += bytes([_LIST_END])
        else:
            v = (("yes" if value else "no") if isinstance(value, bool) else str(value)).encode()
            out += bytes([_KEY_VALUE, len(k)]) + k + struct.pack("!H", len(v)) + v
    return bytes(out)


def decode(data: bytes) -> dict[str, Any]:
    stack: list[dict[str, Any]] = [{}]
    current_list: list[str] | None = None
    i = 0
    while i < len(data):
        kind = data[i]
        i += 1
        if kind == _SECTION_END:
            stack.pop()
            continue
        if kind == _LIST_END:
            current_list = None
            continue
        if kind == _LIST_ITEM:
            (n,) = struct.unpack_from("!H", data, i)
            assert current_list is not None
            current_list.append(data[i + 2 : i + 2 + n].decode(errors="replace"))
            i += 2 + n
            continue
        klen = data[i]
        key = data[i + 1 : i + 1 + klen].decode()
        i += 1 + klen
        if kind == _SECTION_START:
            section: dict[str, Any] = {}
            stack[-1][key] = section
            stack.append(section)
        elif kind == _KEY_VALUE:
            (n,) = struct.unpack_from("!H", data, i)
            stack[-1][key] = data[i + 2 : i + 2 + n].decode(errors="replace")
            i += 2 + n
        elif kind == _LIST_START:
            current_list = []
            stack[-1][key] = current_list
        else:
            raise ViciError(f"unknown vici element type {kind}")
    return stack[0]


class Session:
    """One connection to a charon's vici socket."""

    def __init__(self, path: str, timeout: float = 5.0):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        try:
            self.sock.connect(path)
        except OSError as e:
            self.sock.close()
            raise ViciError(f"cannot connect to {path}: {e}") from None

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _send(self, kind: int, name: str, body: bytes = b"") -> None:
        n = name.encode()
        payload = bytes([kind, len(n)]) + n + body
        self.sock.sendall(struct.pack("!I", len(payload)) + payload)

    def _recv(self) -> tuple[int, bytes]:
        head = self._read(4)
        (length,) = struct.unpack("!I", head)
        payload = self._read(length)
        return payload[0], payload[1:]

    def _read(self, n: int) -> bytes:
        buf = bytearray()
        while len(buf) < n:
            chunk = self.sock.recv(n - len(buf))
            if not chunk:
                raise ViciError("vici socket closed")
            buf += chunk
        return bytes(buf)

    def request(self, command: str, msg: dict[str, Any] | None = None) -> dict[str, Any]:
        """A command without streamed events; raises ViciError when it fails."""
        self._send(_CMD_REQUEST, command, encode(msg or {}))
        kind, body = self._recv()
        if kind == _CMD_UNKNOWN:
            raise ViciError(f"charon does not know the command {command!r}")
        if kind != _CMD_RESPONSE:
            raise ViciError(f"unexpected vici packet type {kind}")
        reply = decode(body)
        if reply.get("success") == "no":
            raise ViciError(f"{command}: {reply.get('errmsg', 'failed')}")
        return reply

    def streamed(
        self, command: str, event: str, msg: dict[str, Any] | None = None
    ) -> list[dict[str, Any]]:
        """A command whose results come as events (list-sas, list-conns)."""
        ev = event.encode()
        self._send(_EVENT_REGISTER, event)
        if self._recv()[0] != _EVENT_CONFIRM:
            raise ViciError(f"cannot register for {event!r}")
        self._send(_CMD_REQUEST, command, encode(msg or {}))
        items: list[dict[str, Any]] = []
        while True:
            kind, body = self._recv()
            if kind == _EVENT:
                n = body[0]
                if body[1 : 1 + n] == ev:
                    items.append(decode(body[1 + n :]))
            elif kind == _CMD_RESPONSE:
                break
            else:
                raise ViciError(f"unexpected vici packet type {kind}")
        self._send(_EVENT_UNREGISTER, event)
        self._recv()
        return items
