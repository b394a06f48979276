"""A minimal openclaw gateway client for the tests that act as another machine: a TCP connection through a SOCKS5
proxy (a tailnet peer's tailscaled), HTTP and the gateway's WebSocket protocol, and a new device identity (Ed25519)
in the connect request, as a TUI, a node or the Control UI sends it (openclaw 2026.9.6: dist/message-handler-*.mjs,
dist/device-auth-*.mjs; docs/tailscale.md "Userspace networking" names what this measures). Standard library plus
`cryptography` (an ansible-core dependency, so the controller has it)."""
import base64
import hashlib
import json
import os
import socket
import struct

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat


def socks5(proxy, dest_host, dest_port, timeout=30):
    """A TCP connection to dest_host:dest_port made by the SOCKS5 server at proxy (host, port), no auth."""
    s = socket.create_connection(proxy, timeout=timeout)
    s.sendall(b"\x05\x01\x00")
    if s.recv(2) != b"\x05\x00":
        raise OSError("SOCKS5: no-auth refused")
    host = dest_host.encode()
    s.sendall(b"\x05\x01\x00\x03" + bytes([len(host)]) + host + struct.pack(">H", dest_port))
    head = _read(s, 4)
    if head[1] != 0:
        raise ConnectionRefusedError("SOCKS5: connect to %s:%d failed (reply %d)" % (dest_host, dest_port, head[1]))
    # the bound address (IPv4, IPv6, or a name with its length first) and port, unused
    length = {1: 4, 4: 16}.get(head[3]) or _read(s, 1)[0]
    _read(s, length + 2)
    return s


def _read(s, n):
    out = b""
    while len(out) < n:
        chunk = s.recv(n - len(out))
        if not chunk:
            raise ConnectionError("connection closed after %d of %d bytes" % (len(out), n))
        out += chunk
    return out


def http_get(sock, host, path="/", headers=None):
    """(status, headers text, body) of one GET on an open connection (Connection: close)."""
    lines = ["GET %s HTTP/1.1" % path, "Host: %s" % host, "Connection: close"]
    lines += ["%s: %s" % kv for kv in (headers or {}).items()]
    sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
    data = b""
    while True:
        try:
            chunk = sock.recv(65536)
        except socket.timeout:
            break
        if not chunk:
            break
        data += chunk
    head, _sep, body = data.partition(b"\r\n\r\n")
    first = head.split(b"\r\n", 1)[0].decode(errors="replace")
    status = int(first.split()[1]) if first.startswith("HTTP/") else 0
    return status, head.decode(errors="replace"), body.decode(errors="replace")


class Refused(ConnectionError):
    """The gateway answered the WebSocket upgrade with an HTTP error: .status, .head, .body."""

    def __init__(self, head, body):
        super(Refused, self).__init__("no WebSocket upgrade: %s %s" % (head.split("\r\n", 1)[0], body[:500]))
        self.status = int(head.split()[1]) if head.startswith("HTTP/") else 0
        self.head, self.body = head, body


class WebSocket(object):
    def __init__(self, sock, host, path="/", headers=None):
        self.sock = sock
        key = base64.b64encode(os.urandom(16)).decode()
        lines = ["GET %s HTTP/1.1" % path, "Host: %s" % host, "Upgrade: websocket", "Connection: Upgrade",
                 "Sec-WebSocket-Key: %s" % key, "Sec-WebSocket-Version: 13"]
        lines += ["%s: %s" % kv for kv in (headers or {}).items()]
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = sock.recv(1)
            if not chunk:
                raise ConnectionError("closed during the WebSocket handshake: %r" % head)
            head += chunk
        if not head.startswith(b"HTTP/1.1 101"):
            raise Refused(head.decode(errors="replace"), sock.recv(4096).decode(errors="replace"))
        self.closed = None

    def send(self, obj):
        payload = json.dumps(obj).encode()
        mask = os.urandom(4)
        n = len(payload)
        head = b"\x81" + (bytes([0x80 | n]) if n < 126 else bytes([0x80 | 126]) + struct.pack(">H", n) if n < 65536
                          else bytes([0x80 | 127]) + struct.pack(">Q", n))
        self.sock.sendall(head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))

    def recv(self):
        """The next JSON message, or None once the server closed (self.closed = (code, reason))."""
        while True:
            b0, b1 = _read(self.sock, 2)
            n = b1 & 0x7F
            if n == 126:
                n = struct.unpack(">H", _read(self.sock, 2))[0]
            elif n == 127:
                n = struct.unpack(">Q", _read(self.sock, 8))[0]
            data = _read(self.sock, n)
            op = b0 & 0x0F
            if op == 8:
                self.closed = (struct.unpack(">H", data[:2])[0] if len(data) >= 2 else None, data[2:].decode(errors="replace"))
                return None
            if op in (1, 2):
                return json.loads(data.decode())


def b64url(raw):
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def connect_new_device(ws, token, client_id="openclaw-tui", mode="cli", role="operator",
                       scopes=("operator.read", "operator.write"), platform="linux"):
    """Answer the gateway's challenge with a connect request of a brand-new device (a fresh Ed25519 key) that holds
    the gateway token. Returns (device id, the gateway's response frame): ok with a hello-ok payload when the
    gateway paired the device itself, an error (NOT_PAIRED, details.requestId) when it waits for approval."""
    challenge = None
    while challenge is None:
        msg = ws.recv()
        if msg is None:
            raise ConnectionError("closed before the challenge: %r" % (ws.closed,))
        if msg.get("event") == "connect.challenge":
            challenge = msg["payload"]
    key = Ed25519PrivateKey.generate()
    raw = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    device_id = hashlib.sha256(raw).hexdigest()
    signed_at = challenge["ts"]
    text = "|".join(["v3", device_id, client_id, mode, role, ",".join(scopes), str(signed_at), token,
                     challenge["nonce"], platform.lower(), ""])
    ws.send({"type": "req", "id": "1", "method": "connect", "params": {
        "minProtocol": 4, "maxProtocol": 4,
        "client": {"id": client_id, "version": "2026.9.6", "platform": platform, "mode": mode},
        "role": role, "scopes": list(scopes), "auth": {"token": token},
        "device": {"id": device_id, "publicKey": b64url(raw), "signature": b64url(key.sign(text.encode())),
                   "signedAt": signed_at, "nonce": challenge["nonce"]}}})
    while True:
        msg = ws.recv()
        if msg is None:
            raise ConnectionError("closed without an answer to connect: %r" % (ws.closed,))
        if msg.get("type") == "res" and msg.get("id") == "1":
            return device_id, msg
