#!/usr/bin/env python3
"""A hostile ZMTP endpoint for harness/tests/hostile.rs (`zmtp-harness probe` against it).

Usage: endpoint.py MODE [ARG]. It listens on 127.0.0.1 (a free port), prints `PORT <n>` on
stdout, appends its pid to $HOSTILE_PIDS if set, and serves every connection in a thread:

  crash-on HEX   a small NULL PULL endpoint (greeting, READY, PING/PONG, ERROR to a peer of an
                 invalid socket type) that exits at once, status 3, when the octets it received
                 after the greeting contain HEX: a crash on a chosen input
  never-read     accepts every connection and never reads or writes (a hung process)
  slow MS        the small PULL endpoint, writing one octet every MS milliseconds
  close-all      closes every connection as soon as it is accepted
  garbage        a valid greeting, then 64 octets of 0xff instead of a handshake

It ends when its stdin closes (the test owns it) or on SIGTERM.
"""
import os
import socket
import struct
import sys
import threading
import time

MODE = sys.argv[1]
ARG = sys.argv[2] if len(sys.argv) > 2 else ""
SOCKET_TYPE = b"PULL"
VALID_PEERS = {b"PUSH"}


def greeting():
    return (b"\xff" + b"\x00" * 8 + b"\x7f" + b"\x03\x00" + b"NULL".ljust(20, b"\x00")
            + b"\x00" + b"\x00" * 31)


def command(name, data=b""):
    body = bytes([len(name)]) + name + data
    if len(body) > 255:
        return b"\x06" + struct.pack(">Q", len(body)) + body
    return b"\x04" + bytes([len(body)]) + body


def ready():
    prop = b"Socket-Type"
    return command(b"READY", bytes([len(prop)]) + prop + struct.pack(">I", len(SOCKET_TYPE))
                   + SOCKET_TYPE)


def send(conn, data):
    if MODE == "slow":
        for i in range(len(data)):
            conn.sendall(data[i:i + 1])
            time.sleep(int(ARG or "10") / 1000.0)
    else:
        conn.sendall(data)


class Closed(Exception):
    pass


class Reader:
    def __init__(self, conn):
        self.conn = conn
        self.seen = b""  # everything after the greeting, for crash-on

    def exact(self, n, after_greeting=True):
        out = b""
        while len(out) < n:
            chunk = self.conn.recv(n - len(out))
            if not chunk:
                raise Closed()
            out += chunk
            if after_greeting:
                self.seen += chunk
                if MODE == "crash-on" and bytes.fromhex(ARG) in self.seen:
                    os._exit(3)
        return out

    def frame(self):
        flags = self.exact(1)[0]
        if flags & 0x02:
            size = struct.unpack(">Q", self.exact(8))[0]
            if size >> 63:
                raise Closed()
        else:
            size = self.exact(1)[0]
        if size > 1 << 20:
            raise Closed()
        return flags, self.exact(size)


def properties(data):
    props = {}
    i = 0
    while i < len(data):
        n = data[i]
        name = data[i + 1:i + 1 + n]
        i += 1 + n
        (vlen,) = struct.unpack(">I", data[i:i + 4])
        props[name.lower()] = data[i + 4:i + 4 + vlen]
        i += 4 + vlen
    return props


def serve(conn):
    r = Reader(conn)
    send(conn, greeting())
    theirs = r.exact(64, after_greeting=False)
    if theirs[0] != 0xff or theirs[9] & 1 == 0 or theirs[12:16] != b"NULL":
        return
    if MODE == "garbage":
        conn.sendall(b"\xff" * 64)
        return
    flags, body = r.frame()
    if not flags & 0x04 or body[1:1 + body[0]] != b"READY":
        return
    peer_type = properties(body[1 + body[0]:]).get(b"socket-type", b"")
    if peer_type not in VALID_PEERS:
        send(conn, command(b"ERROR", bytes([19]) + b"invalid socket type"))
        return
    send(conn, ready())
    while True:
        flags, body = r.frame()
        if flags & 0x04 and body[1:1 + body[0]] == b"PING":
            ctx = body[1 + body[0] + 2:][:16]
            send(conn, command(b"PONG", ctx))


def handle(conn):
    try:
        if MODE == "close-all":
            return
        if MODE == "never-read":
            held.append(conn)
            return
        serve(conn)
    except (Closed, OSError, IndexError, struct.error):
        pass
    finally:
        if MODE != "never-read":
            try:
                conn.close()
            except OSError:
                pass


held = []
if os.environ.get("HOSTILE_PIDS"):
    with open(os.environ["HOSTILE_PIDS"], "a") as f:
        f.write(f"{os.getpid()}\n")
listener = socket.socket()
listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
listener.bind(("127.0.0.1", 0))
listener.listen(64)
print(f"PORT {listener.getsockname()[1]}", flush=True)


def accept_loop():
    while True:
        conn, _ = listener.accept()
        threading.Thread(target=handle, args=(conn,), daemon=True).start()


threading.Thread(target=accept_loop, daemon=True).start()
sys.stdin.read()  # ends when the test closes our stdin or kills us
os._exit(0)
