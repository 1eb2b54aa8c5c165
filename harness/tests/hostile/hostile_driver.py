#!/usr/bin/env python3
"""Hostile stand-in drivers for harness/tests/hostile.rs: usage `hostile_driver.py MODE`.

Every mode passes the contract check (`hello`, an unknown op answered `unsupported`) and answers
`socket`, `close` and `exit`; then it misbehaves in one way:

  garbage     answers `socket` with a line that is not JSON
  wrong-id    answers `socket` with the id of another request
  huge-line   answers `socket` with one line of 100 MB (no JSON, one end of line)
  no-reply    reads `socket` and never answers it (still reads stdin, ends at EOF)
  fork        starts a child at `hello` that keeps stdout and stderr open and sleeps; at
              `socket` the driver itself exits without answering
  die-after-close
              behaves until a `close`; the next request after it makes it abort (SIGABRT) with
              a libzmq-like assertion on stderr, like libzmq 4.3.4 after hwm/counts-messages-not-frames;
              only the first process to close dies (it creates the file $HOSTILE_MARK)
  abort-at-exit-after-cut
              answers `send_burst` as a burst cut short by its deadline (half the messages
              taken, `stopped: timeout`); asked to `exit` after such a burst of messages of more
              than one frame, it aborts (SIGABRT) with a libzmq-like assertion on stderr, like
              libzmq after a multipart burst cut short when the connection ends (JB-01)

Each process (and the fork child) appends its pid to $HOSTILE_PIDS if set.
"""
import json
import os
import sys
import time

MODE = sys.argv[1]


def note_pid(pid):
    if os.environ.get("HOSTILE_PIDS"):
        with open(os.environ["HOSTILE_PIDS"], "a") as f:
            f.write(f"{pid}\n")


def reply(req, **fields):
    sys.stdout.write(json.dumps({"id": req.get("id"), **fields}) + "\n")
    sys.stdout.flush()


def first_to_die():
    """Whether this process is the first to die: it creates $HOSTILE_MARK (O_EXCL)."""
    try:
        os.close(os.open(os.environ["HOSTILE_MARK"], os.O_CREAT | os.O_EXCL | os.O_WRONLY))
        return True
    except (KeyError, FileExistsError):
        return False


note_pid(os.getpid())
sockets = 0
closed = False
cut_parts = 0
for line in sys.stdin:
    req = json.loads(line)
    op = req.get("op")
    if closed and MODE == "die-after-close" and first_to_die():
        sys.stderr.write("Assertion failed: !_pipe (src/session_base.cpp:260)\n")
        sys.stderr.flush()
        os.abort()
    if op == "hello":
        if MODE == "fork" and os.fork() == 0:
            note_pid(os.getpid())
            time.sleep(3600)
            os._exit(0)
        reply(req, result="ok", implementation="hostile-" + MODE, version="0.1.0",
              library="none", library_version="0", protocol_version=1,
              socket_types=["PULL", "PUSH"], options=[], mechanisms=["NULL"], zmtp=["3.0"],
              ops=["hello", "socket", "close", "exit"]
              + (["send_burst"] if MODE == "abort-at-exit-after-cut" else []))
    elif op == "socket":
        if MODE == "garbage":
            sys.stdout.write("this is not a reply {{{\n")
            sys.stdout.flush()
        elif MODE == "wrong-id":
            reply({"id": req["id"] + 1000}, result="ok", socket="s1")
        elif MODE == "huge-line":
            chunk = "x" * (1 << 20)
            for _ in range(100):
                sys.stdout.write(chunk)
            sys.stdout.write("\n")
            sys.stdout.flush()
        elif MODE == "no-reply":
            pass
        elif MODE == "fork":
            os._exit(0)
        else:
            sockets += 1
            reply(req, result="ok", socket=f"s{sockets}")
    elif op == "close":
        closed = True
        reply(req, result="ok")
    elif op == "send_burst" and MODE == "abort-at-exit-after-cut":
        count, first = req.get("count", 0), req.get("first_seq", 0)
        cut_parts = max(cut_parts, len(req.get("prefix_hex", [])) + req.get("parts", 1))
        taken = count // 2
        reply(req, result="ok", accepted=taken, would_block=0, errors=0, first_error=None,
              first_would_block_seq=None, last_accepted_seq=first + taken - 1 if taken else None,
              stopped="timeout", elapsed_us=1000, max_send_us=1000)
    elif op == "exit":
        reply(req, result="ok")
        if MODE == "abort-at-exit-after-cut" and cut_parts > 1:
            sys.stderr.write("Resource temporarily unavailable (src/session_base.cpp:233)\n")
            sys.stderr.flush()
            os.abort()
        break
    else:
        reply(req, result="unsupported", message=f"unknown op {op}")
