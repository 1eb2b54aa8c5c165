#!/usr/bin/env python3
"""A hostile stand-in driver for harness/tests/hostile.rs: a JeroMQ wedged by JQ-12, seen
from the harness. It passes the contract check (hello, unknown op), answers `socket` and
`bind` (with a real listening socket whose connections it never serves: they wait in the
kernel's backlog), and then stops answering anything. It ignores SIGTERM and the end of its
stdin, so only SIGKILL ends it. Each process appends its pid to $HOSTILE_PIDS."""
import json
import os
import signal
import socket
import sys
import time

signal.signal(signal.SIGTERM, signal.SIG_IGN)
if os.environ.get("HOSTILE_PIDS"):
    with open(os.environ["HOSTILE_PIDS"], "a") as f:
        f.write(f"{os.getpid()}\n")

listeners = []


def reply(req, **fields):
    sys.stdout.write(json.dumps({"id": req.get("id"), **fields}) + "\n")
    sys.stdout.flush()


def wedge():
    while True:  # stdin is no longer read: EOF goes unnoticed too
        time.sleep(3600)


for line in sys.stdin:
    req = json.loads(line)
    op = req.get("op")
    if op == "hello":
        reply(req, result="ok", implementation="wedged", version="0.1.0", library="none",
              library_version="0", protocol_version=1, socket_types=["PULL", "PUSH"],
              options=[], mechanisms=["NULL"], zmtp=["3.0"],
              ops=["hello", "socket", "bind", "close", "exit"])
    elif op == "socket":
        reply(req, result="ok", socket=f"s{len(listeners) + 1}")
    elif op == "bind":
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        s.listen(16)
        listeners.append(s)
        reply(req, result="ok", endpoint="tcp://127.0.0.1:%d" % s.getsockname()[1])
        wedge()
    elif op in ("close", "exit", "recv", "send"):
        wedge()
    else:
        reply(req, result="unsupported", message=f"unknown op {op}")
