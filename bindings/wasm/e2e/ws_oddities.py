#!/usr/bin/env python3
"""ws_oddities.py PORT — a WebSocket server that misbehaves on purpose, for pike-wasm's
error tests (stdlib only; RFC 6455 handshake). Per request path:

  /text     sends a text message (a relay never does: SMB is binary)
  /close    closes cleanly (1000) at once: EOF before any SMB reply
  /notsmb   sends an HTTP response's bytes as binary data, then waits: not SMB
"""
import base64
import hashlib
import socketserver
import struct
import sys
import time

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def frame(opcode, payload):
    n = len(payload)
    head = bytes([0x80 | opcode])
    if n < 126:
        head += bytes([n])
    elif n < 1 << 16:
        head += bytes([126]) + struct.pack(">H", n)
    else:
        head += bytes([127]) + struct.pack(">Q", n)
    return head + payload


class Handler(socketserver.StreamRequestHandler):
    def handle(self):
        request = self.rfile.readline().decode("latin-1").split()
        key = None
        while (line := self.rfile.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            if name.strip().lower() == "sec-websocket-key":
                key = value.strip().encode()
        if len(request) < 2 or key is None:
            return
        accept = base64.b64encode(hashlib.sha1(key + GUID).digest()).decode()
        self.wfile.write(("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                          f"Connection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n\r\n").encode())
        path = request[1]
        if path == "/text":
            self.wfile.write(frame(0x1, b"hello"))
        elif path == "/close":
            self.wfile.write(frame(0x8, struct.pack(">H", 1000)))
            return  # the server closes TCP right after its close frame (RFC 6455 7.1.1)
        elif path == "/notsmb":
            self.wfile.write(frame(0x2, b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n"))
        self.wfile.flush()
        time.sleep(5)  # let the client see it before the TCP connection goes


class Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True


if __name__ == "__main__":
    with Server(("127.0.0.1", int(sys.argv[1])), Handler) as s:
        s.serve_forever()
