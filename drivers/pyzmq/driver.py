#!/usr/bin/env python3
"""ZMTP conformance harness driver for pyzmq (libzmq underneath).

The reference driver: spec/driver-protocol.md, in about 350 lines of stdlib + pyzmq.
JSON requests arrive one per line on stdin, one JSON reply per line goes to stdout,
logs go to stderr. Copy this file to write a driver for another library.

Shape (the ZeroMQ application rules every driver follows):
- one zmq.Context for the process; every socket is used by this one thread only;
- idle: zmq.poll over stdin and the monitor sockets, 20 ms timeout, and a ZMQ_EVENTS read
  on every socket each turn, so libzmq processes pending commands (e.g. a bound SUB's
  subscriptions) without a busy loop;
- SIGINT/SIGTERM set a flag; on the flag, on "exit" and on EOF every socket is closed
  (libzmq honours each one's LINGER), the context is terminated, and we exit 0;
- "zap" binds a REP socket at inproc://zeromq.zap.01 (RFC 27) that the same poll services, so
  the ZAP requests libzmq sends while a PLAIN/CURVE handshake waits are answered at once.
"""
import errno
import json
import os
import signal
import struct
import sys
import time

import zmq

PROTOCOL_VERSION = 1
TICK_MS = 20
OPS = ["hello", "socket", "setsockopt", "getsockopt", "bind", "connect", "disconnect",
       "unbind", "send", "send_part", "send_burst", "recv", "drain", "events", "close", "exit", "zap",
       "echo", "ping_pong"]
SOCKET_TYPES = ["PAIR", "PUB", "SUB", "REQ", "REP", "DEALER", "ROUTER", "PULL", "PUSH",
                "XPUB", "XSUB", "STREAM"]
# option name -> kind: "int", "bool" or "hex" (binary values travel as hex strings)
OPTIONS = dict([(n, "int") for n in (
    "sndhwm rcvhwm linger reconnect_ivl reconnect_ivl_max connect_timeout heartbeat_ivl "
    "heartbeat_ttl heartbeat_timeout handshake_ivl maxmsgsize sndtimeo rcvtimeo sndbuf rcvbuf "
    "backlog tcp_keepalive tcp_keepalive_idle tcp_keepalive_cnt tcp_keepalive_intvl").split()]
    + [(n, "bool") for n in (
        "immediate req_relaxed req_correlate router_mandatory router_handover xpub_nodrop "
        "xpub_verbose xpub_verboser xpub_manual invert_matching probe_router conflate ipv6 "
        "plain_server curve_server").split()]
    + [(n, "hex") for n in (
        "subscribe unsubscribe routing_id plain_username plain_password zap_domain "
        "curve_publickey curve_secretkey curve_serverkey").split()])
HAS_CURVE = zmq.has("curve")
CURVE_KEYS = ("curve_publickey", "curve_secretkey", "curve_serverkey")   # 32 octets, hex
EVENT_NAMES = {getattr(zmq, "EVENT_" + n.upper()): n for n in [
    "connected", "connect_delayed", "connect_retried", "listening", "bind_failed",
    "accepted", "accept_failed", "closed", "close_failed", "disconnected", "monitor_stopped",
    "handshake_failed_no_detail", "handshake_succeeded", "handshake_failed_protocol",
    "handshake_failed_auth"] if hasattr(zmq, "EVENT_" + n.upper())}
ERRNO_NAMES = {getattr(zmq, n): n for n in [
    "EAGAIN", "EINVAL", "EFSM", "ETERM", "EHOSTUNREACH", "ENOTSUP", "EMTHREAD",
    "ENOCOMPATPROTO", "EADDRINUSE", "EADDRNOTAVAIL", "ECONNREFUSED", "ENOTSOCK", "EPROTO",
    "EPROTONOSUPPORT", "ENOENT", "EMSGSIZE", "ENOTCONN", "ENOBUFS", "EINTR", "ENODEV",
    "EMFILE", "ENOMEM", "EFAULT"] if hasattr(zmq, n)}

# ---- burst payload (spec section "Burst payload") -------------------------------------
MAGIC = b"ZTB1"
HDR = 24          # magic 4 | seq u64 | index u16 | count u16 | topic_len u16 | 0 u16 | len u32
MAX_TOPIC = 1024
PATTERN = bytes(range(256)) * 2   # padding octet at frame offset k is (k + seq) mod 256


def padding(start, length, seq):
    out = bytearray()
    while length > 0:
        phase, n = (start + seq) % 256, min(length, 256)
        out += PATTERN[phase:phase + n]
        start, length = start + n, length - n
    return bytes(out)


def burst_frame(topic, seq, index, count, size):
    topic = topic if index == 0 else b""
    minimum = len(topic) + HDR
    length = max(size, minimum)
    hdr = MAGIC + struct.pack(">QHHHHI", seq, index, count, len(topic), 0, length)
    return topic + hdr + padding(minimum, length - minimum, seq)


def classify(parts):
    """-> ("burst", seq, topic) | ("partial", seq) | ("malformed", seq) | ("other",)"""
    if not parts:
        return ("other",)
    f0 = parts[0]
    for t in range(0, min(len(f0) - HDR, MAX_TOPIC) + 1):
        if f0[t:t + 4] == MAGIC and struct.unpack_from(">H", f0, t + 16)[0] == t:
            break
    else:
        return ("other",)
    seq, _, count = struct.unpack_from(">QHH", f0, t + 4)
    if len(parts) != count:
        return ("partial", seq)
    for i, f in enumerate(parts):
        tl = t if i == 0 else 0
        if len(f) < tl + HDR or f[tl:tl + 4] != MAGIC:
            return ("malformed", seq)
        s, idx, cnt, tlen, rsv, flen = struct.unpack_from(">QHHHHI", f, tl + 4)
        if (s, idx, cnt, tlen, rsv, flen) != (seq, i, count, tl, 0, len(f)) or \
                f[tl + HDR:] != padding(tl + HDR, len(f) - tl - HDR, seq):
            return ("malformed", seq)
    return ("burst", seq, f0[:t])


# ---- ZAP handler (RFC 27) for the "zap" op ----------------------------------------------
ZAP_ENDPOINT = "inproc://zeromq.zap.01"


def text_or_hex(cred, name):
    if cred.get(name + "_hex") is not None:
        return bytes.fromhex(cred[name + "_hex"])
    if isinstance(cred.get(name), str):
        return cred[name].encode()
    raise Failure("EINVAL", "a plain credential needs %s or %s_hex" % (name, name))


class ZapPolicy:
    """What the handler accepts (spec section "zap"); answer() builds one reply."""

    def __init__(self, req):
        plain, curve = req.get("plain", []), req.get("curve")
        if not isinstance(plain, list) or not all(isinstance(c, dict) for c in plain):
            raise Failure("EINVAL", "plain must be a list of {username, password}")
        self.plain = [(text_or_hex(c, "username"), text_or_hex(c, "password")) for c in plain]
        self.curve_any = curve == "any"
        if curve is None or self.curve_any:
            self.curve_keys = []
        elif isinstance(curve, list):
            self.curve_keys = [bytes.fromhex(k) for k in curve]
            if any(len(k) != 32 for k in self.curve_keys):
                raise Failure("EINVAL", "curve keys are 32 octets")
        else:
            raise Failure("EINVAL", "curve must be \"any\" or a list of keys")
        self.null = bool(req.get("null", False))
        texts = {"300": b"Temporary failure", "400": b"Invalid credentials",
                 "500": b"Internal error"}
        status = req.get("refuse_status", "400")
        if status not in texts:
            raise Failure("EINVAL", "refuse_status must be \"300\", \"400\" or \"500\"")
        self.refuse = (status.encode(), texts[status])
        self.stats = {"requests": 0, "accepted": 0, "refused": 0}

    def decide(self, mech, creds):
        if mech == b"NULL" and not creds and self.null:
            return b"200", b"OK", b""
        if mech == b"PLAIN" and len(creds) == 2 and tuple(creds) in self.plain:
            return b"200", b"OK", creds[0]
        if mech == b"CURVE" and len(creds) == 1 and len(creds[0]) == 32 and \
                (self.curve_any or creds[0] in self.curve_keys):
            return b"200", b"OK", creds[0].hex().encode()
        if mech in (b"NULL", b"PLAIN", b"CURVE"):
            return self.refuse[0], self.refuse[1], b""
        return b"400", b"Unsupported mechanism", b""

    def answer(self, req):
        self.stats["requests"] += 1
        rid = req[1] if len(req) > 1 else b""
        if len(req) >= 6 and req[0] == b"1.0":
            status, text, user = self.decide(req[5], req[6:])
        else:
            status, text, user = b"500", b"Malformed ZAP request", b""
        self.stats["accepted" if status == b"200" else "refused"] += 1
        log("ZAP request %s mechanism %r -> %s %s" % (
            rid.hex(), req[5] if len(req) > 5 else b"", status.decode(), text.decode()))
        return [b"1.0", rid, status, text, user, b""]


class Drain:
    """Folds received messages into the drain report (spec section "drain")."""

    def __init__(self, strip_prefix, other_limit):
        self.strip, self.other_limit = strip_prefix, other_limit
        self.seen, self.max_seq, self.keys_truncated = set(), None, False
        self.burst = {"count": 0, "seq_runs": [], "runs_truncated": False, "duplicates": 0,
                      "regressions": 0, "partial": 0, "malformed": 0,
                      "bad_samples_hex": [], "topics": {}}
        self.messages, self.other, self.other_hex, self.prefixes = 0, 0, [], {}

    def bump(self, d, key):
        if key in d or len(d) < 64:
            d[key] = d.get(key, 0) + 1
        else:
            self.keys_truncated = True

    def push(self, parts):
        self.messages += 1
        if self.strip:
            self.bump(self.prefixes, ",".join(p.hex() for p in parts[:self.strip]))
        body, b = parts[self.strip:], self.burst
        kind = classify(body) if body or not self.strip else ("other",)
        if kind[0] == "burst":
            seq = kind[1]
            b["count"] += 1
            self.bump(b["topics"], kind[2].hex())
            b["duplicates"] += seq in self.seen
            self.seen.add(seq)
            b["regressions"] += self.max_seq is not None and seq <= self.max_seq
            self.max_seq = seq if self.max_seq is None else max(self.max_seq, seq)
            runs = b["seq_runs"]
            if runs and runs[-1][1] + 1 == seq:
                runs[-1][1] = seq
            elif len(runs) >= 10000:
                b["runs_truncated"] = True
            else:
                runs.append([seq, seq])
        elif kind[0] in ("partial", "malformed"):
            b[kind[0]] += 1
            if len(b["bad_samples_hex"]) < 4:
                b["bad_samples_hex"].append([p[:256].hex() for p in parts])
        else:
            self.other += 1
            if len(self.other_hex) < self.other_limit:
                self.other_hex.append([p.hex() for p in parts])

    def report(self, stopped, elapsed_us):
        return {"messages": self.messages, "stopped": stopped, "elapsed_us": elapsed_us,
                "burst": self.burst, "other": self.other, "other_hex": self.other_hex,
                "prefixes": self.prefixes, "keys_truncated": self.keys_truncated}


# ---- the driver -----------------------------------------------------------------------
class Unsupported(Exception):
    pass


class Failure(Exception):
    def __init__(self, code, message):
        super().__init__(message)
        self.code = code


def errno_name(e):
    return ERRNO_NAMES.get(e.errno) or errno.errorcode.get(e.errno, "E%d" % (e.errno or 0))


def uint(req, name, default=None):
    """A non-negative integer field (DRV-11: an ill-typed field is EINVAL)."""
    v = req.get(name, default)
    if not isinstance(v, int) or isinstance(v, bool) or v < 0:
        raise Failure("EINVAL", "%s must be a non-negative integer, not %r" % (name, v))
    return v


class Driver:
    def __init__(self):
        self.ctx = zmq.Context()
        self.sockets = {}   # handle -> {"sock", "mon", "events", "dropped"}
        self.zap = None     # (REP socket, ZapPolicy) once "zap" installed a handler
        self.next = 0
        self.stop = False
        self.t0 = time.monotonic()

    def sock(self, req):
        if not isinstance(req.get("socket"), str):
            raise Failure("EINVAL", "socket must be a socket handle (a string)")
        s = self.sockets.get(req["socket"])
        if s is None:
            raise Failure("ENOTSOCK", "no socket %r" % req.get("socket"))
        return s

    def service(self, timeout_ms=0, extra=()):
        """One poll turn over the monitors (+ extra items); touches every socket."""
        items = [(s["mon"], zmq.POLLIN) for s in self.sockets.values()] + list(extra)
        if self.zap:
            items.append((self.zap[0], zmq.POLLIN))
        ready = dict(zmq.zmq_poll(items, timeout_ms)) if items else {}
        if not items and timeout_ms:
            time.sleep(timeout_ms / 1000.0)
        while self.zap:   # answer ZAP requests: libzmq's handshake waits for them
            try:
                req = self.zap[0].recv_multipart(zmq.NOBLOCK)
            except zmq.Again:
                break
            self.zap[0].send_multipart(self.zap[1].answer(req))
        for s in self.sockets.values():
            s["sock"].getsockopt(zmq.EVENTS)   # lets libzmq process pending commands
            while True:
                try:
                    ev = s["mon"].recv_multipart(zmq.NOBLOCK)
                except zmq.Again:
                    break
                event, value = struct.unpack("=Hi", ev[0][:6])
                if len(s["events"]) >= 10000:
                    s["events"].pop(0)
                    s["dropped"] += 1
                s["events"].append({
                    "event": EVENT_NAMES.get(event, "event_%d" % event), "value": value,
                    "endpoint": ev[1].decode("utf-8", "replace") if len(ev) > 1 else "",
                    "at_us": int((time.monotonic() - self.t0) * 1e6)})
        return ready

    def wait(self, sock, flag, deadline):
        left = deadline - time.monotonic()
        if left <= 0 or self.stop:
            return False
        self.service(min(TICK_MS, int(left * 1000) + 1), [(sock, flag)])
        return True

    def send_parts(self, sock, parts, dontwait, deadline):
        while True:
            try:
                sock.send_multipart(parts, zmq.NOBLOCK)
                return True
            except zmq.Again:
                if dontwait or not self.wait(sock, zmq.POLLOUT, deadline):
                    return False

    def recv_parts(self, sock, deadline):
        while True:
            try:
                return sock.recv_multipart(zmq.NOBLOCK)
            except zmq.Again:
                if not self.wait(sock, zmq.POLLIN, deadline):
                    return None

    def op_hello(self, req):
        mechs = ["NULL", "PLAIN"] + (["CURVE"] if HAS_CURVE else [])
        options = sorted(n for n in OPTIONS if HAS_CURVE or not n.startswith("curve_"))
        return {"implementation": "pyzmq", "version": "0.1.0", "library": "libzmq",
                "library_version": zmq.zmq_version(), "binding": "pyzmq",
                "binding_version": zmq.pyzmq_version(), "protocol_version": PROTOCOL_VERSION,
                "socket_types": SOCKET_TYPES, "options": options, "mechanisms": mechs,
                "zmtp": ["3.0", "3.1"], "ops": OPS,
                "notes": ["options are passed to libzmq unchanged; no library default is changed",
                          "security options apply in the order set: plain_username/password "
                          "make a socket a PLAIN client even after plain_server, "
                          "curve_serverkey a CURVE client even after curve_server",
                          "a PLAIN server authenticates only through ZAP (op zap); a CURVE "
                          "server without a ZAP handler accepts every client key"]}

    def op_socket(self, req):
        ty = req.get("type")
        if not isinstance(ty, str):
            raise Failure("EINVAL", "type must be a socket type name (a string)")
        if ty not in SOCKET_TYPES:
            raise Unsupported("socket type %r is not supported" % ty)
        self.next += 1
        handle = "s%d" % self.next
        sock = self.ctx.socket(getattr(zmq, ty))
        sock.monitor("inproc://monitor-" + handle, zmq.EVENT_ALL)  # now: miss no event
        mon = self.ctx.socket(zmq.PAIR)
        mon.setsockopt(zmq.LINGER, 0)
        mon.connect("inproc://monitor-" + handle)
        self.sockets[handle] = {"sock": sock, "mon": mon, "events": [], "dropped": 0}
        return {"socket": handle}

    def option(self, req):
        name = req.get("option")
        if name not in OPTIONS or not hasattr(zmq, name.upper()) or \
                (name.startswith("curve_") and not HAS_CURVE):
            raise Unsupported("option %r is not supported" % name)
        return name, OPTIONS[name], getattr(zmq, name.upper())

    def op_setsockopt(self, req):
        s = self.sock(req)
        name, kind, num = self.option(req)
        v = req.get("value")
        if kind == "hex" and isinstance(v, str):
            v = bytes.fromhex(v)
        elif kind == "bool" and v in (True, False, 0, 1):
            v = int(v)
        elif kind != "int" or not isinstance(v, int) or isinstance(v, bool):
            raise Failure("EINVAL", "bad value for %s: %r" % (name, v))
        s["sock"].setsockopt(num, v)
        return {}

    def op_getsockopt(self, req):
        s = self.sock(req)
        name, kind, num = self.option(req)
        if name in CURVE_KEYS:   # pyzmq's 255-octet buffer: libzmq wants exactly 32 or 41
            raise Unsupported("pyzmq cannot read %s back" % name)
        v = s["sock"].getsockopt(num)
        return {"value": v.hex() if kind == "hex" else bool(v) if kind == "bool" else v}

    def endpoint_op(self, req, name):
        s = self.sock(req)["sock"]
        getattr(s, name)(req["endpoint"])
        if name == "bind":
            return {"endpoint": s.getsockopt(zmq.LAST_ENDPOINT).decode()}
        return {}

    def op_send(self, req):
        s = self.sock(req)["sock"]
        parts = [bytes.fromhex(p) for p in req["parts_hex"]]
        if not parts:
            raise Failure("EINVAL", "parts_hex must not be empty")
        dontwait = bool(req.get("dontwait", False))
        deadline = time.monotonic() + uint(req, "timeout_ms", 1000) / 1000.0
        if self.send_parts(s, parts, dontwait, deadline):
            return {}
        return ("would_block" if dontwait else "timeout", {})

    def op_send_part(self, req):
        s = self.sock(req)["sock"]
        part = bytes.fromhex(req["part_hex"])
        flags = zmq.NOBLOCK | (zmq.SNDMORE if req.get("more", False) else 0)
        dontwait = bool(req.get("dontwait", False))
        deadline = time.monotonic() + uint(req, "timeout_ms", 1000) / 1000.0
        while True:
            try:
                s.send(part, flags)
                return {}
            except zmq.Again:
                if dontwait:
                    return ("would_block", {})
                if not self.wait(s, zmq.POLLOUT, deadline):
                    return ("timeout", {})

    def op_send_burst(self, req):
        s = self.sock(req)["sock"]
        topic = bytes.fromhex(req.get("topic_hex", ""))
        prefix = [bytes.fromhex(p) for p in req.get("prefix_hex", [])]
        size, nparts = uint(req, "size", 0), uint(req, "parts", 1)
        if not 1 <= nparts <= 1024 or len(topic) > MAX_TOPIC or MAGIC in topic \
                or size > 16 << 20:
            raise Failure("EINVAL", "bad burst parameters")
        dontwait = bool(req.get("dontwait", False))
        stop_wb = bool(req.get("stop_on_would_block", True))
        start = time.monotonic()
        deadline = start + uint(req, "timeout_ms", 10000) / 1000.0
        r = {"accepted": 0, "would_block": 0, "errors": 0, "first_error": None,
             "first_would_block_seq": None, "last_accepted_seq": None, "stopped": "complete",
             "max_send_us": 0, "waited": 0}
        first = uint(req, "first_seq", 0)
        for seq in range(first, first + uint(req, "count")):
            if self.stop:
                r["stopped"] = "interrupted"
                break
            parts = prefix + [burst_frame(topic, seq, i, nparts, size) for i in range(nparts)]
            t = time.monotonic()
            try:
                # One NOBLOCK attempt first: EAGAIN there means the send waited (DRV-71).
                ok = self.send_parts(s, parts, True, deadline)
                if not ok and not dontwait:
                    r["waited"] += 1
                    ok = self.send_parts(s, parts, False, deadline)
            except zmq.ZMQError as e:
                r["errors"] += 1
                r["first_error"] = {"seq": seq, "code": errno_name(e), "message": str(e)}
                r["stopped"] = "error"
                break
            finally:
                r["max_send_us"] = max(r["max_send_us"], int((time.monotonic() - t) * 1e6))
            if ok:
                r["accepted"] += 1
                r["last_accepted_seq"] = seq
            elif dontwait:
                r["would_block"] += 1
                if r["first_would_block_seq"] is None:
                    r["first_would_block_seq"] = seq
                if stop_wb or time.monotonic() >= deadline:
                    r["stopped"] = "would_block" if stop_wb else "timeout"
                    break
            else:
                r["stopped"] = "interrupted" if self.stop else "timeout"
                break
        r["elapsed_us"] = int((time.monotonic() - start) * 1e6)
        return r

    def op_recv(self, req):
        s = self.sock(req)["sock"]
        parts = self.recv_parts(s, time.monotonic() + uint(req, "timeout_ms", 1000) / 1000.0)
        if parts is None:
            return ("timeout", {})
        return {"parts_hex": [p.hex() for p in parts]}

    def op_drain(self, req):
        s = self.sock(req)["sock"]
        start = last = time.monotonic()
        deadline = start + uint(req, "timeout_ms", 5000) / 1000.0
        quiet = uint(req, "quiet_ms", 200) / 1000.0
        max_messages = uint(req, "max_messages", 2 ** 64 - 1)
        acc = Drain(uint(req, "strip_prefix", 0), uint(req, "other_limit", 16))
        while True:
            now, until = time.monotonic(), min(deadline, last + quiet)
            stopped = ("interrupted" if self.stop else "max_messages" if acc.messages >= max_messages
                       else "timeout" if now >= deadline else "quiet" if now >= until else None)
            if stopped:
                break
            parts = self.recv_parts(s, until)
            if parts is not None:
                acc.push(parts)
                last = time.monotonic()
        rep = acc.report(stopped, int((time.monotonic() - start) * 1e6))
        return ("ok" if acc.messages else "timeout", rep)

    def round_trip_reply(self, done, r, start):
        """echo/ping_pong: ok once something was done, error if a library error came first,
        else timeout (DRV-69, DRV-70)."""
        r["elapsed_us"] = int((time.monotonic() - start) * 1e6)
        if done:
            return ("ok", r)
        if r["first_error"]:
            raise Failure(r["first_error"]["code"], r["first_error"]["message"])
        return ("timeout", r)

    def op_echo(self, req):
        """Send each received message back unchanged, count times (DRV-69)."""
        s = self.sock(req)["sock"]
        count = uint(req, "count")
        if not 1 <= count <= 1000000:
            raise Failure("EINVAL", "count must be 1..1000000")
        start = time.monotonic()
        deadline = start + uint(req, "timeout_ms", 10000) / 1000.0
        r = {"served": 0, "stopped": "complete", "first_error": None}
        while r["served"] < count:
            try:
                parts = self.recv_parts(s, deadline)
                if parts is not None and self.send_parts(s, parts, False, deadline):
                    r["served"] += 1
                    continue
            except zmq.ZMQError as e:
                r["first_error"] = {"code": errno_name(e), "message": str(e)}
                r["stopped"] = "error"
                break
            r["stopped"] = "interrupted" if self.stop else "timeout"
            break
        return self.round_trip_reply(r["served"], r, start)

    def op_ping_pong(self, req):
        """count round trips of size octets, each timed here in nanoseconds (DRV-70)."""
        s = self.sock(req)["sock"]
        count, size = uint(req, "count"), uint(req, "size", 0)
        if not 1 <= count <= 100000 or size > 16 << 20:
            raise Failure("EINVAL", "count must be 1..100000 and size at most 16 MiB")
        start = time.monotonic()
        deadline = start + uint(req, "timeout_ms", 10000) / 1000.0
        base = bytes(range(256)) * ((size + 511) // 256)
        r = {"round_trips": 0, "rtt_ns": [], "mismatched": 0, "stopped": "complete",
             "first_error": None}
        for i in range(count):
            payload = base[i % 256:i % 256 + size]
            t = time.perf_counter_ns()
            try:
                reply = None
                if self.send_parts(s, [payload], False, deadline):
                    reply = self.recv_parts(s, deadline)
            except zmq.ZMQError as e:
                r["first_error"] = {"code": errno_name(e), "message": str(e)}
                r["stopped"] = "error"
                break
            if reply is None:
                r["stopped"] = "interrupted" if self.stop else "timeout"
                break
            r["rtt_ns"].append(time.perf_counter_ns() - t)
            r["round_trips"] += 1
            if reply != [payload]:
                r["mismatched"] += 1
        return self.round_trip_reply(r["round_trips"], r, start)

    def op_events(self, req):
        s = self.sock(req)
        deadline = time.monotonic() + uint(req, "timeout_ms", 0) / 1000.0
        while not s["events"] and time.monotonic() < deadline and not self.stop:
            self.service(TICK_MS)
        self.service()
        events, s["events"], dropped, s["dropped"] = s["events"], [], s["dropped"], 0
        return ("ok" if events else "timeout", {"events": events, "dropped": dropped})

    def op_close(self, req):
        s = self.sock(req)
        if req.get("linger_ms") is not None:
            s["sock"].setsockopt(zmq.LINGER, int(req["linger_ms"]))
        t = time.monotonic()
        del self.sockets[req["socket"]]
        close(s)
        return {"elapsed_ms": int((time.monotonic() - t) * 1000)}

    def op_zap(self, req):
        """Install, replace or remove the ZAP handler (spec DRV-48)."""
        old = self.zap[1].stats if self.zap else {"requests": 0, "accepted": 0, "refused": 0}
        replaced = self.zap is not None
        if req.get("remove"):
            if self.zap:
                self.service()
                self.zap[0].close(linger=0)
                self.zap = None
            return dict(old, replaced=replaced)
        policy = ZapPolicy(req)
        if self.zap:
            self.service()
            self.zap = (self.zap[0], policy)
        else:
            sock = self.ctx.socket(zmq.REP)
            sock.setsockopt(zmq.LINGER, 0)   # a driver-internal helper
            sock.bind(ZAP_ENDPOINT)
            self.zap = (sock, policy)
        return dict(old, replaced=replaced)

    def handle(self, line):
        """-> (reply dict, exit?)"""
        try:
            req = json.loads(line)
        except ValueError as e:
            return {"id": None, "result": "error", "code": "EPROTO", "message": str(e)}, False
        rid = req.get("id") if isinstance(req, dict) else None
        if not isinstance(req, dict) or not isinstance(rid, int) or isinstance(rid, bool) \
                or rid < 0 or not isinstance(req.get("op"), str):
            return {"id": None, "result": "error", "code": "EPROTO",
                    "message": "a request is an object with an integer id and a string op"}, False
        op = req["op"]
        if op not in OPS:
            return {"id": rid, "result": "unsupported", "message": "unknown op %r" % op}, False
        if op == "exit":
            return {"id": rid, "result": "ok"}, True
        try:
            if op in ("bind", "connect", "disconnect", "unbind"):
                out = self.endpoint_op(req, op)
            else:
                out = getattr(self, "op_" + op)(req)
            result, fields = out if isinstance(out, tuple) else ("ok", out)
        except Unsupported as e:
            result, fields = "unsupported", {"message": str(e)}
        except Failure as e:
            result, fields = "error", {"code": e.code, "message": str(e)}
        except zmq.ZMQError as e:
            result, fields = "error", {"code": errno_name(e), "message": str(e)}
        except (KeyError, ValueError, TypeError) as e:
            result, fields = "error", {"code": "EINVAL", "message": "bad request: %r" % (e,)}
        return dict(fields, id=rid, result=result), False

    def run(self):
        def on_signal(signum, frame):
            self.stop = True
        signal.signal(signal.SIGINT, on_signal)
        signal.signal(signal.SIGTERM, on_signal)
        log("pyzmq %s, libzmq %s, pid %d" % (zmq.pyzmq_version(), zmq.zmq_version(), os.getpid()))
        buf = b""
        while not self.stop:
            ready = self.service(TICK_MS, [(sys.stdin.fileno(), zmq.POLLIN)])
            if not ready.get(sys.stdin.fileno()):
                continue
            chunk = os.read(sys.stdin.fileno(), 65536)
            if not chunk:
                log("EOF on stdin, shutting down")
                break
            buf += chunk
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                if not line.strip():
                    continue
                reply, exit_now = self.handle(line.decode("utf-8", "replace"))
                sys.stdout.write(json.dumps(reply) + "\n")
                sys.stdout.flush()
                if exit_now:
                    self.stop = True
                    break
        if self.stop:
            log("shutting down")
        for s in self.sockets.values():   # close honouring each socket's LINGER
            close(s)
        if self.zap:
            self.zap[0].close(linger=0)
        self.ctx.term()


def close(s):
    # Stop the monitor first: libzmq sends monitor events with a blocking send, so a
    # monitor whose reading end is gone would wedge libzmq's threads.
    s["sock"].monitor(None, 0)
    s["sock"].close()
    s["mon"].close()


def log(msg):
    sys.stderr.write("pyzmq driver: %s\n" % msg)
    sys.stderr.flush()


if __name__ == "__main__":
    Driver().run()
    sys.exit(0)
