#!/usr/bin/env python3
"""Writes vectors/curve/boxes.json: CurveZMQ commands (RFC 26, spec/zmtp.md appendix C) whose
boxes are real, for fixed keys and nonces, computed with PyNaCl (libsodium) -- an implementation
independent of the harness's Rust one (dryoc), which checks them in
harness/tests/curve_vectors.rs: it rebuilds every command octet for octet and opens every box.

Run from the repository root, in a throwaway venv (see requirements.txt):
    /tmp/nacl/bin/python tools/curve-vectors/generate.py
"""
import hashlib
import json
import struct
import sys

import nacl
from nacl.bindings import (crypto_box, crypto_box_open, crypto_scalarmult_base,
                           crypto_secretbox)

OUT = "vectors/curve/boxes.json"

# The permanent pairs of the curve families' cases (generated with pyzmq's zmq.curve_keypair()).
SERVER_SECRET = bytes.fromhex("4babbef551f3ff4d6948cb5143ebd2b4b94c6128b5e24f634bfdefb63fd6ebaf")
CLIENT_SECRET = bytes.fromhex("567b62ab8f6701eac404e463f3e324930b7302cc82a9587cc13565f3fee356d1")


def fixed(label, n=32):
    """Fixed test material: the first n octets of SHA-256 of a label."""
    return hashlib.sha256(label.encode()).digest()[:n]


S, s = crypto_scalarmult_base(SERVER_SECRET), SERVER_SECRET
C, c = crypto_scalarmult_base(CLIENT_SECRET), CLIENT_SECRET
ct_sec = fixed("curve-vectors client transient")
st_sec = fixed("curve-vectors server transient")
Ct, St = crypto_scalarmult_base(ct_sec), crypto_scalarmult_base(st_sec)
COOKIE_KEY = fixed("curve-vectors cookie key")
WELCOME_NONCE = fixed("curve-vectors welcome nonce", 16)
COOKIE_NONCE = fixed("curve-vectors cookie nonce", 16)
VOUCH_NONCE = fixed("curve-vectors vouch nonce", 16)


def prop(name, value):
    return bytes([len(name)]) + name + struct.pack(">I", len(value)) + value


CLIENT_MD = prop(b"Socket-Type", b"DEALER")
SERVER_MD = prop(b"Socket-Type", b"ROUTER")


def box(msg, prefix, tail, to_pk, from_sk):
    return crypto_box(msg, prefix + tail, to_pk, from_sk)


def frame(name, data):
    body = bytes([len(name)]) + name + data
    if len(body) > 255:
        return bytes([0x06]) + struct.pack(">Q", len(body)) + body
    return bytes([0x04, len(body)]) + body


def short(n):
    return struct.pack(">Q", n)


vectors = []


def add(id, description, requirements, sender, octets, result="valid", error=None, notes=None,
        opened=None):
    v = {"id": id, "description": description, "requirements": requirements, "from": sender,
         "hex": octets.hex(), "result": result}
    if opened is not None:
        v["plaintext"] = opened.hex()
    if error:
        v["error"] = error
    if notes:
        v["notes"] = notes
    vectors.append(v)


# HELLO: version, 72 zero octets, C', short nonce 1, box of 64 zeros from C' to S.
hello_box = box(bytes(64), b"CurveZMQHELLO---", short(1), S, ct_sec)
hello_data = b"\x01\x00" + bytes(72) + Ct + short(1) + hello_box
add("curve-hello", "HELLO of the client transient key, short nonce 1", ["CURVE-01", "CURVE-02",
    "CURVE-03", "CURVE-16", "CURVE-24"], "client", frame(b"HELLO", hello_data), opened=bytes(64))

# WELCOME: long nonce, box of S' + cookie from S to C'; cookie = nonce + secretbox(C' + s').
cookie = COOKIE_NONCE + crypto_secretbox(Ct + st_sec, b"COOKIE--" + COOKIE_NONCE, COOKIE_KEY)
welcome_plain = St + cookie
welcome_data = WELCOME_NONCE + box(welcome_plain, b"WELCOME-", WELCOME_NONCE, Ct, s)
add("curve-welcome", "WELCOME: S' and the cookie (C' and s' under the cookie key)",
    ["CURVE-04", "CURVE-16", "CURVE-25", "CURVE-26"], "server", frame(b"WELCOME", welcome_data),
    opened=welcome_plain)

# INITIATE: cookie, short nonce 2, box of C + vouch + metadata from C' to S'.
vouch = VOUCH_NONCE + box(Ct + S, b"VOUCH---", VOUCH_NONCE, St, c)
initiate_plain = C + vouch + CLIENT_MD
initiate_data = cookie + short(2) + box(initiate_plain, b"CurveZMQINITIATE", short(2), St, ct_sec)
add("curve-initiate", "INITIATE: the cookie, then C, the vouch (C' and S from C to S') and "
    "Socket-Type DEALER", ["CURVE-05", "CURVE-16", "CURVE-28", "CURVE-29"], "client",
    frame(b"INITIATE", initiate_data), opened=initiate_plain)

# READY: short nonce 1, box of the server's metadata from S' to C'.
ready_data = short(1) + box(SERVER_MD, b"CurveZMQREADY---", short(1), Ct, st_sec)
add("curve-ready", "READY: Socket-Type ROUTER", ["CURVE-06", "CURVE-16", "CURVE-30"], "server",
    frame(b"READY", ready_data), opened=SERVER_MD)

# MESSAGEs: flags octet + frame data, client nonces continue at 3, server's at 2.
def message(sender, nonce, flags, payload):
    prefix = b"CurveZMQMESSAGEC" if sender == "client" else b"CurveZMQMESSAGES"
    keys = (St, ct_sec) if sender == "client" else (Ct, st_sec)
    plain = bytes([flags]) + payload
    return frame(b"MESSAGE", short(nonce) + box(plain, prefix, short(nonce), *keys)), plain


m, p = message("client", 3, 0x01, b"part one")
add("curve-message-client-more", "MESSAGE from the client: first frame of two, MORE inside the "
    "box", ["CURVE-07", "CURVE-16", "CURVE-22", "CURVE-31"], "client", m, opened=p)
m, p = message("client", 4, 0x00, b"part two")
add("curve-message-client-last", "MESSAGE from the client: last frame", ["CURVE-07", "CURVE-17",
    "CURVE-22", "CURVE-31"], "client", m, opened=p)
m, p = message("server", 2, 0x00, b"")
add("curve-message-server-empty", "MESSAGE from the server: an empty frame (a 33-octet body)",
    ["CURVE-07", "CURVE-16", "CURVE-22", "CURVE-31"], "server", m, opened=p)

# Invalid: boxes that must not open for the receiver.
bad = bytearray(frame(b"HELLO", hello_data))
bad[-1] ^= 1
add("curve-hello-flipped-box", "HELLO whose last box octet is flipped", ["CURVE-15", "CURVE-24"],
    "client", bytes(bad), result="invalid", error="CURVE-24")
other = fixed("curve-vectors other server")
wrong = WELCOME_NONCE + box(welcome_plain, b"WELCOME-", WELCOME_NONCE, Ct, other)
add("curve-welcome-other-server", "WELCOME sealed by another server permanent key",
    ["CURVE-35"], "server", frame(b"WELCOME", wrong), result="invalid", error="CURVE-35")
lying = VOUCH_NONCE + box(Ct + crypto_scalarmult_base(other), b"VOUCH---", VOUCH_NONCE, St, c)
lie_data = cookie + short(2) + box(C + lying + CLIENT_MD, b"CurveZMQINITIATE", short(2), St, ct_sec)
add("curve-initiate-vouch-other-server", "INITIATE whose vouch names another server key S",
    ["CURVE-39"], "client", frame(b"INITIATE", lie_data), result="invalid", error="CURVE-39")
m, _ = message("client", 3, 0x00, b"replayed")
m2, _ = message("client", 2, 0x00, b"replayed")
add("curve-message-nonce-not-increasing", "MESSAGE from the client with short nonce 2, the "
    "INITIATE's (after the valid INITIATE)", ["CURVE-17", "CURVE-18"], "client", m2,
    result="invalid", error="CURVE-18")

# Sanity: PyNaCl opens what it sealed.
assert crypto_box_open(hello_box, b"CurveZMQHELLO---" + short(1), Ct, s) == bytes(64)

doc = {
    "family": "curve-boxes",
    "description": "CurveZMQ commands with real boxes for fixed keys and nonces (spec/zmtp.md "
                   "appendix C). Replay in order: HELLO, WELCOME, INITIATE, READY, then the "
                   "MESSAGEs; `valid` ones open to `plaintext`, `invalid` ones must be refused "
                   "with the requirement in `error`.",
    "generator": "tools/curve-vectors/generate.py, PyNaCl %s (libsodium)" % nacl.__version__,
    "keys": {
        "server_public": S.hex(), "server_secret": s.hex(),
        "client_public": C.hex(), "client_secret": c.hex(),
        "server_transient_public": St.hex(), "server_transient_secret": st_sec.hex(),
        "client_transient_public": Ct.hex(), "client_transient_secret": ct_sec.hex(),
        "cookie_key": COOKIE_KEY.hex(),
        "other_secret": other.hex(),
    },
    "nonces": {"welcome": WELCOME_NONCE.hex(), "cookie": COOKIE_NONCE.hex(),
               "vouch": VOUCH_NONCE.hex()},
    "metadata": {"client": CLIENT_MD.hex(), "server": SERVER_MD.hex()},
    "number_of_vectors": len(vectors),
    "vectors": vectors,
}
with open(OUT, "w") as f:
    json.dump(doc, f, indent=2)
    f.write("\n")
print("wrote %s: %d vectors" % (OUT, len(vectors)), file=sys.stderr)
