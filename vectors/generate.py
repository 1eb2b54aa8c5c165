#!/usr/bin/env python3
"""Generates the ZMTP golden vectors in vectors/*.json.

This is an independent second implementation of the ZMTP 3.x wire format: every octet is
built here with struct.pack from a structured description, and every expected decoded value
is written here in the language-neutral JSON form (vectors/README.md). Nothing here calls the
Rust codec; the harness (harness/tests/vectors.rs) checks the codec against these files.

    python3 vectors/generate.py           # rewrite vectors/*.json
    python3 vectors/generate.py --check   # exit 1 if any file would change

Python 3 standard library only. The output is deterministic: no clocks, no system randomness
(pseudo-random octets come from SHA-256 of a fixed label).
"""

import argparse
import hashlib
import json
import os
import struct
import sys

SCHEMA_VERSION = 1
HERE = os.path.dirname(os.path.abspath(__file__))

OBS_435 = "libzmq 4.3.5 (pyzmq 27.3.0)"

# Where the spec (spec/zmtp.md, spec/requirements.toml) and the reference codec's Lenient profile
# disagree, the vectors follow the spec. Each such point is one constant here, so that a change
# of decision is a one-line edit followed by `python3 vectors/generate.py`.
#
# A property name with an octet outside META-03 in READY/INITIATE metadata: spec 16.16 lets the
# receiver choose (Strict rejects, Lenient accepts as libzmq does, which never checks name octets).
BAD_PROPERTY_NAME_RESULT = "acceptable"
#
# READY in a message frame during the handshake: NULL-07 says protocol error; spec 16.17 lets the
# Lenient profile accept it, as libzmq does, and reports that as a divergence from NULL-07.
READY_IN_MESSAGE_FRAME_RESULT = "acceptable"
#
# A command between two frames of a message: outside the grammar of spec section 15
# (traffic = *(command / message)); FRAME-16 says a receiver MAY accept it, and spec 16.26 leans
# to accepting. Both codec profiles accept it and the codec has no error kind for it, so the
# vector is "valid". If Strict is to reject it (spec 1.4: Strict "rejects everything outside the
# grammar"), set this to the new error kind: the vector becomes "acceptable". (Then
# stream-ends-in-message-after-command needs a per-profile error, which the format lacks.)
COMMAND_IN_MESSAGE_ERROR = None
OBS_434 = "libzmq 4.3.4 (zmq crate 0.10.0, bundled); asserted by harness/tests/libzmq_wire.rs"

# --------------------------------------------------------------------------------------------
# Encoder (the wire format, written out field by field)
# --------------------------------------------------------------------------------------------

MORE, LONG, COMMAND = 0x01, 0x02, 0x04


def u8(n):
    return struct.pack(">B", n)


def u16(n):
    return struct.pack(">H", n)


def u32(n):
    return struct.pack(">I", n)


def u64(n):
    return struct.pack(">Q", n)


def prng(label, n):
    """n deterministic pseudo-random octets (SHA-256 in counter mode over `label`)."""
    out = b""
    i = 0
    while len(out) < n:
        out += hashlib.sha256(("%s:%d" % (label, i)).encode()).digest()
        i += 1
    return out[:n]


def pattern(n):
    """n octets 00 01 02 ... ff 00 01 ..."""
    return bytes(i % 256 for i in range(n))


def pad_mech(name):
    assert len(name) <= 20
    return name + b"\x00" * (20 - len(name))


def greeting(major=3, minor=1, mech=b"NULL", as_server=0, padding=b"\x00" * 8, sig_end=0x7F,
             filler=b"\x00" * 31, first=0xFF, raw_mech=None):
    mfield = raw_mech if raw_mech is not None else pad_mech(mech)
    assert len(padding) == 8 and len(filler) == 31 and len(mfield) == 20
    out = u8(first) + padding + u8(sig_end) + u8(major) + u8(minor) + mfield + u8(as_server) + filler
    assert len(out) == 64
    return out


def frame(flags, body, long=None, size=None):
    """A frame. `long` forces the size form (default: the LONG bit of `flags`); `size`
    overrides the declared size (a lie)."""
    if long is None:
        long = bool(flags & LONG)
    n = len(body) if size is None else size
    header = u8(flags) + (u64(n) if long else u8(n))
    return header + body


def msg(body, more=False, long=None):
    """A message frame with the minimal size form unless `long` says otherwise."""
    if long is None:
        long = len(body) > 255
    flags = (MORE if more else 0) | (LONG if long else 0)
    return frame(flags, body, long=long)


def cmd_body(name, data=b""):
    return u8(len(name)) + name + data


def cmd(name, data=b"", long=None, flags=None):
    """A command frame with the minimal size form unless `long` says otherwise."""
    body = cmd_body(name, data)
    if long is None:
        long = len(body) > 255
    if flags is None:
        flags = COMMAND | (LONG if long else 0)
    return frame(flags, body, long=long)


def prop(name, value):
    return u8(len(name)) + name + u32(len(value)) + value


def props(pairs):
    return b"".join(prop(n, v) for n, v in pairs)


def message_frames(parts):
    """A multipart message, minimal encodings."""
    out = b""
    for i, p in enumerate(parts):
        out += msg(p, more=i + 1 < len(parts))
    return out


# --------------------------------------------------------------------------------------------
# The language-neutral JSON form (mirrors codec/src/json.rs, written independently)
# --------------------------------------------------------------------------------------------

def hx(b):
    return b.hex()


def esc(b):
    """Octets 0x21..0x7E other than backslash as themselves; everything else as \\xNN."""
    return "".join(chr(c) if 0x21 <= c <= 0x7E and c != 0x5C else "\\x%02x" % c for c in b)


def j_greeting(g):
    mfield = g[12:32]
    return {
        "padding": hx(g[1:9]),
        "signature_end": g[9],
        "version": [g[10], g[11]],
        "mechanism": esc(mfield.rstrip(b"\x00")),
        "as_server": g[32],
        "filler": hx(g[33:64]),
    }


def j_frame(flags, body):
    out = {"more": bool(flags & MORE), "command": bool(flags & COMMAND)}
    if flags & 0xF8:
        out["reserved"] = flags & 0xF8
    out["body"] = hx(body)
    return out


def j_props(pairs):
    return [{"name": esc(n), "value": hx(v)} for n, v in pairs]


def j_ready(pairs):
    return {"command": "READY", "properties": j_props(pairs)}


def j_error(reason):
    return {"command": "ERROR", "reason": esc(reason)}


def j_topic(name, topic):
    return {"command": name, "topic": hx(topic)}


def j_ping(ttl, context):
    return {"command": "PING", "ttl": ttl, "context": hx(context)}


def j_pong(context):
    return {"command": "PONG", "context": hx(context)}


def j_group(name, group):
    return {"command": name, "group": hx(group)}


def j_unknown(name, data):
    return {"command": esc(name), "unknown": True, "data": hx(data)}


def j_plain_hello(user, password):
    return {"command": "HELLO", "mechanism": "PLAIN", "username": esc(user), "password": esc(password)}


def j_plain_welcome():
    return {"command": "WELCOME", "mechanism": "PLAIN"}


def j_plain_initiate(pairs):
    return {"command": "INITIATE", "mechanism": "PLAIN", "properties": j_props(pairs)}


def j_sub(action, form, topic):
    return {"action": action, "form": form, "topic": hx(topic)}


def j_peer(kind, n=None):
    if kind == "zmtp1.0":
        return {"peer": "zmtp1.0"}
    if kind == "zmtp2.0":
        return {"peer": "zmtp2.0", "revision": n}
    return {"peer": "zmtp3", "major": n}


# CURVE layouts (opaque octets; no cryptography)

def curve_hello_data(label, version=(1, 0), padding=None):
    padding = b"\x00" * 72 if padding is None else padding
    key, nonce, box = prng(label + "/C'", 32), prng(label + "/nonce", 8), prng(label + "/box", 80)
    data = u8(version[0]) + u8(version[1]) + padding + key + nonce + box
    j = {"command": "HELLO", "mechanism": "CURVE", "version": list(version), "padding": hx(padding),
         "client_transient_key": hx(key), "nonce": hx(nonce), "signature_box": hx(box)}
    return data, j


def curve_welcome_data(label):
    nonce, box = prng(label + "/nonce", 16), prng(label + "/box", 144)
    return nonce + box, {"command": "WELCOME", "mechanism": "CURVE", "nonce": hx(nonce), "ciphertext": hx(box)}


def curve_initiate_data(label, box_len=144):
    cookie, nonce, box = prng(label + "/cookie", 96), prng(label + "/nonce", 8), prng(label + "/box", box_len)
    return cookie + nonce + box, {"command": "INITIATE", "mechanism": "CURVE", "cookie": hx(cookie),
                                  "nonce": hx(nonce), "ciphertext": hx(box)}


def curve_short_data(name, label, box_len):
    nonce, box = prng(label + "/nonce", 8), prng(label + "/box", box_len)
    return nonce + box, {"command": name.decode(), "mechanism": "CURVE", "nonce": hx(nonce), "ciphertext": hx(box)}


# --------------------------------------------------------------------------------------------
# Vector construction
# --------------------------------------------------------------------------------------------

SOCKET_TYPES = ["PAIR", "PUB", "SUB", "REQ", "REP", "DEALER", "ROUTER", "PULL", "PUSH", "XPUB", "XSUB"]
WITH_IDENTITY = {"REQ", "DEALER", "ROUTER"}


def libzmq_ready_pairs(stype):
    """The metadata libzmq 4.3 sends in READY: Socket-Type, and an empty Identity for REQ,
    DEALER and ROUTER (digest D-10)."""
    pairs = [(b"Socket-Type", stype.encode())]
    if stype in WITH_IDENTITY:
        pairs.append((b"Identity", b""))
    return pairs


class Family:
    def __init__(self, name, description):
        self.name = name
        self.description = description
        self.vectors = []

    def add(self, id, description, requirements, context, result, hex=None, transcript=None,
            expected=None, error=None, notes=None, observed=None, mechanism=None,
            max_frame_size=None, detected_by=None):
        assert result in ("valid", "invalid", "acceptable")
        if result in ("valid", "acceptable"):
            assert expected is not None, id
        if result in ("invalid", "acceptable"):
            assert error is not None, id
        if result == "valid":
            assert error is None, id
        assert (hex is None) != (transcript is None), id
        v = {"id": id, "description": description, "requirements": list(requirements), "context": context}
        if mechanism is not None:
            v["mechanism"] = mechanism
        if max_frame_size is not None:
            v["max_frame_size"] = max_frame_size
        if hex is not None:
            v["hex"] = hx(hex)
        else:
            v["transcript"] = [{"from": side, "hex": hx(octets)} for side, octets in transcript]
        v["result"] = result
        if expected is not None:
            v["expected"] = expected
        if error is not None:
            v["error"] = error
        if detected_by is not None:
            v["detected_by"] = detected_by
        if notes is not None:
            v["notes"] = notes
        if observed is not None:
            v["observed"] = observed
        self.vectors.append(v)

    def document(self):
        return {
            "family": self.name,
            "description": self.description,
            "schema_version": SCHEMA_VERSION,
            "number_of_vectors": len(self.vectors),
            "vectors": self.vectors,
        }


# --------------------------------------------------------------------------------------------
# greeting.json: contexts `greeting` and `detect`
# --------------------------------------------------------------------------------------------

def gen_greeting():
    f = Family("greeting", "The 64-octet ZMTP 3.x greeting (context `greeting`) and peer-version "
               "detection from the first octets (context `detect`).")

    def valid(id, desc, g, reqs=("GREET-01",), notes=None, observed=None):
        f.add(id, desc, reqs, "greeting", "valid", hex=g, expected=j_greeting(g), notes=notes, observed=observed)

    def acceptable(id, desc, g, error, reqs, notes=None):
        f.add(id, desc, reqs, "greeting", "acceptable", hex=g, expected=j_greeting(g), error=error, notes=notes)

    def invalid(id, desc, octets, error, reqs, notes=None, observed=None):
        f.add(id, desc, reqs, "greeting", "invalid", hex=octets, error=error, notes=notes, observed=observed)

    # -- valid ---------------------------------------------------------------------------------
    valid("greeting-null-3-1", "NULL 3.1 greeting in the spec form: zero padding, as-server 0, zero filler",
          greeting(3, 1, b"NULL"), reqs=("GREET-01", "GREET-04", "GREET-06"))
    valid("greeting-null-3-0", "NULL 3.0 greeting", greeting(3, 0, b"NULL"), reqs=("GREET-01", "GREET-06", "VER-02"))
    valid("greeting-libzmq-null-3-1",
          "NULL 3.1 greeting as libzmq sends it: padding is the 1.0 pseudo-length routing-id-size+1 = 1",
          greeting(3, 1, b"NULL", padding=u64(1)), reqs=("GREET-01", "GREET-05", "COMPAT-05"),
          notes="libzmq 4.3.3+ announces minor 1; earlier versions announce 3.0. The padding octets "
                "double as a ZMTP 1.0 identity-frame length for legacy detection.",
          observed=OBS_435)
    valid("greeting-padding-identity-abc",
          "libzmq greeting with routing id \"abc\": padding is u64 BE 4 (identity length + 1)",
          greeting(3, 1, b"NULL", padding=u64(4)), reqs=("GREET-01", "GREET-05", "COMPAT-05"), observed=OBS_435)
    valid("greeting-padding-pseudo-length-255",
          "1.0 pseudo-signature padding for a 255-octet identity: u64 BE 256",
          greeting(3, 1, b"NULL", padding=u64(256)), reqs=("GREET-01", "GREET-05", "COMPAT-05"))
    valid("greeting-padding-nonzero",
          "padding of 0xAA octets: padding is never validated nor interpreted",
          greeting(3, 1, b"NULL", padding=b"\xaa" * 8), reqs=("GREET-01", "GREET-05"),
          notes="libzmq 4.3.5 accepts it [observed].")
    valid("greeting-padding-all-ff", "padding of 0xFF octets (never validated)",
          greeting(3, 1, b"NULL", padding=b"\xff" * 8), reqs=("GREET-01", "GREET-05"))
    valid("greeting-version-3-7", "version 3.7: higher minor versions are valid",
          greeting(3, 7, b"NULL"), reqs=("GREET-01", "VER-01"))
    valid("greeting-version-4-0", "version 4.0: higher major versions are valid (read as 3.x)",
          greeting(4, 0, b"NULL"), reqs=("GREET-01", "VER-01"))
    valid("greeting-version-255-255", "version 255.255", greeting(255, 255, b"NULL"), reqs=("GREET-01", "VER-01"))
    valid("greeting-version-3-255", "version 3.255", greeting(3, 255, b"NULL"), reqs=("GREET-01", "VER-01"))
    valid("greeting-plain-client", "PLAIN 3.1 greeting from a client (as-server 0)",
          greeting(3, 1, b"PLAIN", as_server=0), reqs=("GREET-01", "GREET-08", "MECH-06"))
    valid("greeting-plain-server", "PLAIN 3.1 greeting from a server (as-server 1)",
          greeting(3, 1, b"PLAIN", as_server=1), reqs=("GREET-01", "GREET-08", "MECH-06"))
    valid("greeting-curve-server", "CURVE 3.0 greeting from a server (as-server 1)",
          greeting(3, 0, b"CURVE", as_server=1), reqs=("GREET-01", "GREET-08", "MECH-06"))
    valid("greeting-null-as-server-1",
          "NULL greeting with as-server 1: well-formed at this layer",
          greeting(3, 1, b"NULL", as_server=1), reqs=("GREET-01", "GREET-08", "NULL-02"),
          notes="The greeting grammar allows 0 or 1. That NULL senders send 0 (NULL-01) is a handshake rule "
                "(see transcript-null-as-server-1); libzmq never reads the octet (D-09).")
    valid("greeting-mechanism-gssapi", "GSSAPI mechanism name", greeting(3, 1, b"GSSAPI"),
          reqs=("GREET-01", "GREET-07"))
    valid("greeting-mechanism-all-name-chars",
          "mechanism name using every allowed class: upper case, digits, - _ . +",
          greeting(3, 1, b"X-MY_MECH.2+Z9"), reqs=("GREET-01", "GREET-07"))
    valid("greeting-mechanism-20-chars", "a 20-character mechanism name with no NUL padding at all",
          greeting(3, 1, b"ABCDEFGHIJKLMNOPQRST"), reqs=("GREET-01", "GREET-07"))

    # -- acceptable (Strict rejects, Lenient = libzmq accepts) ----------------------------------
    acceptable("greeting-signature-end-ff",
               "octet 9 is 0xFF: only its low bit matters for version detection",
               greeting(3, 1, b"NULL", sig_end=0xFF), "BadSignatureEnd", ("GREET-03", "GREET-10"),
               notes="libzmq only tests the low bit of octet 9 (1.0 detection); the grammar says 0x7F.")
    acceptable("greeting-signature-end-01", "octet 9 is 0x01 (low bit set)",
               greeting(3, 1, b"NULL", sig_end=0x01), "BadSignatureEnd", ("GREET-03", "GREET-10"))
    acceptable("greeting-mechanism-lowercase", "mechanism \"null\" in lower case",
               greeting(3, 1, b"null"), "InvalidMechanism", ("GREET-07", "MECH-02"),
               notes="Lenient decodes it; the mismatch with a local \"NULL\" is then a handshake matter "
                     "(libzmq compares all 20 octets and closes without ERROR).")
    acceptable("greeting-mechanism-punctuation", "mechanism \"NU!L\" with a character outside A-Z 0-9 - _ . +",
               greeting(3, 1, b"NU!L"), "InvalidMechanism", ("GREET-07", "MECH-02"))
    acceptable("greeting-mechanism-space", "mechanism \"NULL \" with a trailing space before the NUL padding",
               greeting(3, 1, b"NULL "), "InvalidMechanism", ("GREET-07", "MECH-02"))
    acceptable("greeting-mechanism-embedded-nul", "mechanism field \"NU\\0LL\": text after the NUL padding",
               greeting(3, 1, raw_mech=pad_mech(b"NU\x00LL")), "InvalidMechanism", ("GREET-07", "MECH-02"))
    acceptable("greeting-mechanism-empty", "mechanism field of 20 NUL octets (empty name)",
               greeting(3, 1, raw_mech=b"\x00" * 20), "InvalidMechanism", ("GREET-07", "MECH-02"))
    acceptable("greeting-mechanism-high-octet", "mechanism with an octet 0xC3 (not ASCII)",
               greeting(3, 1, b"N\xc3LL"), "InvalidMechanism", ("GREET-07", "MECH-02"))
    acceptable("greeting-as-server-2", "as-server octet 2", greeting(3, 1, b"NULL", as_server=2),
               "InvalidAsServer", ("GREET-08", "GREET-10"), notes="libzmq never reads as-server (D-09).")
    acceptable("greeting-as-server-ff", "as-server octet 0xFF", greeting(3, 1, b"PLAIN", as_server=0xFF),
               "InvalidAsServer", ("GREET-08", "GREET-10"))
    acceptable("greeting-filler-first-nonzero", "filler octet 0 (greeting octet 33) is 0x01",
               greeting(3, 1, b"NULL", filler=b"\x01" + b"\x00" * 30), "NonZeroFiller", ("GREET-09", "GREET-10"),
               notes="libzmq 4.3.5 accepts any filler [observed].")
    acceptable("greeting-filler-last-nonzero", "filler octet 30 (greeting octet 63) is 0xBB",
               greeting(3, 1, b"NULL", filler=b"\x00" * 30 + b"\xbb"), "NonZeroFiller", ("GREET-09", "GREET-10"))
    acceptable("greeting-filler-all-bb", "filler of 31 0xBB octets", greeting(3, 1, b"NULL", filler=b"\xbb" * 31),
               "NonZeroFiller", ("GREET-09", "GREET-10"))

    # -- invalid -------------------------------------------------------------------------------
    good = greeting(3, 1, b"NULL")
    for n, where in [(0, "empty input"), (1, "after the first signature octet"), (9, "inside the signature"),
                     (10, "after the signature"), (11, "after the major version"),
                     (12, "after the minor version"), (20, "inside the mechanism"),
                     (32, "after the mechanism"), (33, "after as-server"), (63, "one octet short")]:
        invalid("greeting-truncated-%d" % n, "greeting cut at %d octets (%s)" % (n, where), good[:n],
                "TruncatedGreeting", ("GREET-01",))
    invalid("greeting-trailing-octet", "a complete greeting followed by one more octet (one-shot parse)",
            good + b"\x04", "TrailingData", ("FRAME-01",))
    invalid("greeting-bad-first-octet-fe", "first octet 0xFE instead of 0xFF", greeting(3, 1, b"NULL", first=0xFE),
            "BadSignatureStart", ("GREET-02",))
    invalid("greeting-bad-first-octet-00", "first octet 0x00", greeting(3, 1, b"NULL", first=0x00),
            "BadSignatureStart", ("GREET-02",))
    invalid("greeting-bad-first-octet-alone", "a lone first octet 0x47 ('G') already fails", b"G",
            "BadSignatureStart", ("GREET-02",),
            notes="A streaming parser rejects it after one octet, without waiting for 64.")
    invalid("greeting-signature-end-7e", "octet 9 is 0x7E: low bit clear means a ZMTP 1.0 identity frame",
            greeting(3, 1, b"NULL", sig_end=0x7E), "LegacyPeer", ("COMPAT-03",))
    invalid("greeting-signature-end-00", "octet 9 is 0x00 (ZMTP 1.0 long identity frame flags)",
            greeting(3, 1, b"NULL", sig_end=0x00), "LegacyPeer", ("COMPAT-03",))
    for major in (0, 1, 2):
        invalid("greeting-major-%d" % major, "major version %d: a ZMTP 2.0 (or older) peer, not 3.x" % major,
                greeting(major, 0, b"NULL"), "LegacyPeer", ("COMPAT-03",))
    invalid("greeting-zmtp2-first-12-octets",
            "the 12 octets a ZMTP 2.0 PULL peer sends (revision 1, socket type 7)",
            b"\xff" + b"\x00" * 7 + b"\x01\x7f\x01\x07", "LegacyPeer", ("COMPAT-03",),
            notes="Fails as soon as octet 10 arrives, before the rest of a greeting.")

    # -- detect ----------------------------------------------------------------------------------
    def detect(id, desc, octets, expected, reqs, notes=None, observed=None):
        f.add(id, desc, reqs, "detect", "valid", hex=octets, expected=expected, notes=notes, observed=observed)

    def detect_short(id, desc, octets, notes=None, observed=None):
        f.add(id, desc, ("GREET-01",), "detect", "invalid", hex=octets, error="TruncatedGreeting", notes=notes,
              observed=observed)

    detect_short("detect-empty", "no octets yet", b"")
    detect("detect-zmtp1-anonymous-identity", "ZMTP 1.0 anonymous identity frame 01 00",
           b"\x01\x00", j_peer("zmtp1.0"), ("COMPAT-01",))
    detect("detect-zmtp1-short-identity", "ZMTP 1.0 short identity frame: length 4 (flags + \"abc\")",
           b"\x04\x00abc", j_peer("zmtp1.0"), ("COMPAT-01",))
    detect("detect-zmtp1-first-octet-only", "one octet other than 0xFF is enough to decide ZMTP 1.0",
           b"\x01", j_peer("zmtp1.0"), ("COMPAT-01",))
    detect("detect-zmtp1-long-identity", "ZMTP 1.0 long identity frame: 0xFF, u64 BE 257, flags 0x00",
           b"\xff" + u64(257) + b"\x00" + pattern(256), j_peer("zmtp1.0"), ("COMPAT-02",))
    detect("detect-zmtp1-long-identity-header-only", "ZMTP 1.0 long identity header: 10 octets decide it",
           b"\xff" + u64(300) + b"\x00", j_peer("zmtp1.0"), ("COMPAT-02",))
    detect("detect-http-request", "an HTTP request looks like a ZMTP 1.0 identity frame",
           b"GET / HTTP/1.1\r\n", j_peer("zmtp1.0"), ("COMPAT-01",),
           notes="libzmq (NULL, no ZAP) holds such a connection open as a 1.0 peer [observed].")
    detect_short("detect-signature-start-only", "0xFF and two more octets: undecided", b"\xff\x00\x00")
    detect_short("detect-libzmq-first-10-octets",
                 "the 10 octets libzmq sends before waiting: signature only, major not yet sent",
                 b"\xff" + u64(1) + b"\x7f", observed=OBS_435,
                 notes="libzmq sends octet 10 only after it has read the peer's 10-octet signature.")
    for rev in (0, 1, 2):
        detect("detect-zmtp2-revision-%d" % rev, "ZMTP 2.0 signature with revision %d" % rev,
               b"\xff" + b"\x00" * 7 + b"\x01\x7f" + u8(rev) + b"\x05\x00\x00", j_peer("zmtp2.0", rev),
               ("COMPAT-03",) + (("COMPAT-08",) if rev == 0 else ()),
               notes=("The spec follows RFC 23 (1 or 2 means ZMTP 2.0); libzmq treats revision 2 as ZMTP 3.1 "
                      "(spec 16.19)." if rev == 2 else "Revision 0 is an early 2.0 draft that uses ZMTP 1.0 "
                      "framing after the 12-octet preamble (COMPAT-08)." if rev == 0 else None))
    for major in (3, 4, 255):
        detect("detect-zmtp3-major-%d" % major, "a full greeting with major version %d" % major,
               greeting(major, 1, b"NULL"), j_peer("zmtp3", major), ("COMPAT-03",))
    detect("detect-zmtp3-eleven-octets", "11 octets (signature + major 3) are enough to classify",
           b"\xff" + u64(1) + b"\x7f\x03", j_peer("zmtp3", 3), ("COMPAT-03",))
    detect("detect-zmtp3-signature-end-ff", "octet 9 0xFF: only the low bit is examined",
           b"\xff" + b"\x00" * 8 + b"\xff\x03", j_peer("zmtp3", 3), ("COMPAT-02", "COMPAT-03"))
    return f


# --------------------------------------------------------------------------------------------
# frame.json
# --------------------------------------------------------------------------------------------

def gen_frame():
    f = Family("frame", "Single frames (context `frame`): flags, short and long sizes, the size "
               "boundaries, reserved bits, truncation.")

    def valid(id, desc, octets, flags, body, reqs=("FRAME-01", "FRAME-09", "FRAME-12"), notes=None, observed=None,
              max_frame_size=None):
        f.add(id, desc, reqs, "frame", "valid", hex=octets, expected=j_frame(flags, body), notes=notes,
              observed=observed, max_frame_size=max_frame_size)

    def invalid(id, desc, octets, error, reqs, notes=None, max_frame_size=None):
        f.add(id, desc, reqs, "frame", "invalid", hex=octets, error=error, notes=notes, max_frame_size=max_frame_size)

    def acceptable(id, desc, octets, flags, body, error, reqs, notes=None):
        f.add(id, desc, reqs, "frame", "acceptable", hex=octets, expected=j_frame(flags, body), error=error,
              notes=notes)

    # every legal encoding of the same bodies
    for n in (0, 1, 255):
        body = pattern(n)
        for more in (False, True):
            tag = "more" if more else "last"
            fl = MORE if more else 0
            valid("frame-%s-short-%d" % (tag, n), "%s message frame, %d-octet body, short size" % (tag, n),
                  frame(fl, body), fl, body)
            valid("frame-%s-long-%d" % (tag, n),
                  "%s message frame, %d-octet body, long size (legal for any body)" % (tag, n),
                  frame(fl | LONG, body), fl | LONG, body, reqs=("FRAME-01", "FRAME-08", "FRAME-09"),
                  notes="Same decoded value as frame-%s-short-%d." % (tag, n))
    for more in (False, True):
        tag = "more" if more else "last"
        fl = (MORE if more else 0) | LONG
        valid("frame-%s-long-256" % tag, "%s message frame, 256-octet body: the smallest that needs a long size" % tag,
              frame(fl, pattern(256)), fl, pattern(256))
    valid("frame-last-long-1000", "last message frame with a 1000-octet body", frame(LONG, prng("frame-1000", 1000)),
          LONG, prng("frame-1000", 1000))
    valid("frame-command-short", "command frame (flags 0x04), short size; the frame layer does not parse the body",
          frame(COMMAND, b"\x04PING\x00\x00"), COMMAND, b"\x04PING\x00\x00", reqs=("FRAME-01", "FRAME-04", "FRAME-09"))
    valid("frame-command-long", "command frame with long size (flags 0x06)",
          frame(COMMAND | LONG, b"\x04PING\x00\x00"), COMMAND | LONG, b"\x04PING\x00\x00",
          reqs=("FRAME-01", "FRAME-04", "FRAME-08", "FRAME-09"))
    valid("frame-command-empty-body", "command frame with an empty body: legal as a frame (not as a command)",
          frame(COMMAND, b""), COMMAND, b"", reqs=("FRAME-01", "FRAME-04"),
          notes="At the command layer this body is malformed (command-empty-body).")
    valid("frame-req-delimiter", "the empty delimiter frame a REQ socket sends first (01 00)",
          b"\x01\x00", MORE, b"", reqs=("FRAME-01", "FRAME-12", "FRAME-17"), observed=OBS_435)
    valid("frame-req-body", "the body frame of a REQ request \"req\"", b"\x00\x03req", 0, b"req", observed=OBS_435)
    valid("frame-300-more", "300-octet frame with MORE as libzmq sends it (03 + u64 BE 300)",
          frame(MORE | LONG, pattern(300)), MORE | LONG, pattern(300), observed=OBS_435)
    valid("frame-long-size-small-body", "a 4-octet body in a long frame",
          frame(LONG, b"abcd"), LONG, b"abcd", reqs=("FRAME-01", "FRAME-08", "FRAME-13"),
          notes="A sender SHOULD use the short size here (FRAME-13); a receiver MUST accept this. libzmq does [observed].")
    valid("frame-binary-body", "a body with every octet value 0x00..0xFF", frame(0, pattern(255)), 0, pattern(255))

    # max_frame_size boundaries
    valid("frame-at-max-size", "10-octet body with max_frame_size 10", frame(0, b"0123456789"), 0, b"0123456789",
          reqs=("FRAME-01", "FRAME-10"), max_frame_size=10)
    invalid("frame-over-max-size-short", "11-octet body with max_frame_size 10",
            frame(0, b"0123456789A"), "FrameTooLarge", ("FRAME-10",), max_frame_size=10)
    valid("frame-empty-max-size-0", "empty frame with max_frame_size 0", b"\x00\x00", 0, b"",
          reqs=("FRAME-01", "FRAME-10"), max_frame_size=0)
    invalid("frame-over-max-size-0", "1-octet frame with max_frame_size 0", b"\x00\x01x", "FrameTooLarge",
            ("FRAME-10",), max_frame_size=0)

    # declared sizes with no body behind them
    for size, name in [(65535, "65535"), (65536, "65536"), ((1 << 63) - 1, "2-63-minus-1")]:
        invalid("frame-declared-%s-truncated" % name,
                "long frame declaring %d octets, no body present" % size, frame(LONG, b"", size=size),
                "TruncatedFrame", ("FRAME-01", "FRAME-05"),
                notes="The size is checked before any body octet is needed; nothing is allocated for it."
                if size == (1 << 63) - 1 else None)
    invalid("frame-declared-65535-truncated-max-65535", "declared 65535 with max_frame_size 65535: allowed, then truncated",
            frame(LONG, b"", size=65535), "TruncatedFrame", ("FRAME-01", "FRAME-10"), max_frame_size=65535)
    invalid("frame-declared-65536-max-65535", "declared 65536 with max_frame_size 65535: too large before any body",
            frame(LONG, b"", size=65536), "FrameTooLarge", ("FRAME-10",), max_frame_size=65535)
    invalid("frame-declared-2-63-minus-1-max", "declared 2^63-1 with max_frame_size 1 MiB",
            frame(LONG, b"", size=(1 << 63) - 1), "FrameTooLarge", ("FRAME-10",), max_frame_size=1 << 20,
            notes="Without a limit this is TruncatedFrame (frame-declared-2-63-minus-1-truncated).")
    invalid("frame-declared-2-63", "long size 2^63 (most significant bit set)", frame(LONG, b"", size=1 << 63),
            "SizeOverflow", ("FRAME-05",), notes="libzmq closes the connection [observed].")
    invalid("frame-declared-2-64-minus-1", "long size 2^64-1", frame(LONG, b"", size=(1 << 64) - 1),
            "SizeOverflow", ("FRAME-05",))
    invalid("frame-declared-2-63-max-set", "long size 2^63 with max_frame_size set: still SizeOverflow",
            frame(LONG, b"", size=1 << 63), "SizeOverflow", ("FRAME-05",), max_frame_size=1 << 20)
    invalid("frame-declared-2-63-command", "command frame with long size 2^63 + 5",
            frame(COMMAND | LONG, b"\x04PING", size=(1 << 63) + 5), "SizeOverflow", ("FRAME-05",))

    # truncation at every field boundary
    short = frame(0, b"abc")
    for n, where in [(0, "empty input"), (1, "flags only"), (2, "header, no body"), (4, "inside the body")]:
        invalid("frame-short-truncated-%d" % n, "short frame 00 03 \"abc\" cut at %d octets (%s)" % (n, where),
                short[:n], "TruncatedFrame", ("FRAME-01",))
    longf = frame(LONG, b"abc")
    for n, where in [(1, "flags only"), (5, "inside the 8-octet size"), (9, "header, no body"),
                     (10, "inside the body")]:
        invalid("frame-long-truncated-%d" % n, "long frame 02 u64(3) \"abc\" cut at %d octets (%s)" % (n, where),
                longf[:n], "TruncatedFrame", ("FRAME-01",))
    invalid("frame-trailing-octets", "a complete frame followed by more octets (one-shot parse)",
            b"\x00\x01ab", "TrailingData", ("FRAME-01",))
    invalid("frame-size-lies-short", "short size 5 with a 3-octet body", b"\x00\x05abc", "TruncatedFrame",
            ("FRAME-01",))

    # reserved flag bits (acceptable) and MORE on a command (acceptable)
    for bit in (0x08, 0x10, 0x20, 0x40, 0x80):
        acceptable("frame-reserved-bit-%02x" % bit, "message frame with reserved flag bit 0x%02x set" % bit,
                   frame(bit, b"abc"), bit, b"abc", "ReservedFlags", ("FRAME-02", "FRAME-03"),
                   notes="libzmq ignores reserved bits and delivers the frame [observed].")
    acceptable("frame-reserved-f8", "flags 0xF8: every reserved bit, otherwise a short last frame",
               frame(0xF8, b"abc"), 0xF8, b"abc", "ReservedFlags", ("FRAME-03",))
    acceptable("frame-reserved-f8-long-more", "flags 0xFB: every reserved bit plus LONG and MORE",
               frame(0xFB, b"abc"), 0xFB, b"abc", "ReservedFlags", ("FRAME-03",),
               notes="The digest's probe F8 03 \"abc\" (D-07) with MORE and LONG added.")
    acceptable("frame-reserved-on-command", "command frame with reserved bit 0x08 (flags 0x0C)",
               frame(0x0C, b"\x04PONG"), 0x0C, b"\x04PONG", "ReservedFlags", ("FRAME-03",))
    acceptable("frame-command-more-05", "command frame with MORE (flags 0x05)", frame(0x05, b"\x04PING\x00\x00"),
               0x05, b"\x04PING\x00\x00", "CommandWithMore", ("FRAME-06", "FRAME-07"),
               notes="Lenient reads it as a complete command on its own (spec 16.13). libzmq instead keeps it pending "
                     "as the start of a multi-frame unit, a divergence from both profiles.")
    acceptable("frame-command-more-07", "long command frame with MORE (flags 0x07)",
               frame(0x07, b"\x04PING\x00\x00"), 0x07, b"\x04PING\x00\x00", "CommandWithMore", ("FRAME-07",))
    return f


# --------------------------------------------------------------------------------------------
# command.json
# --------------------------------------------------------------------------------------------

def gen_command():
    f = Family("command", "Single command frames (context `command`) read with the vector's "
               "mechanism: NULL READY/ERROR, 3.1 SUBSCRIBE/CANCEL/PING/PONG/JOIN/LEAVE, "
               "PLAIN and CURVE handshake layouts, name rules.")

    def valid(id, desc, octets, expected, reqs, mechanism=None, notes=None, observed=None):
        f.add(id, desc, reqs, "command", "valid", hex=octets, expected=expected, mechanism=mechanism,
              notes=notes, observed=observed)

    def invalid(id, desc, octets, error, reqs, mechanism=None, notes=None, observed=None):
        f.add(id, desc, reqs, "command", "invalid", hex=octets, error=error, mechanism=mechanism, notes=notes,
              observed=observed)

    def acceptable(id, desc, octets, expected, error, reqs, mechanism=None, notes=None):
        f.add(id, desc, reqs, "command", "acceptable", hex=octets, expected=expected, error=error,
              mechanism=mechanism, notes=notes)

    # -- READY for every socket type, as libzmq sends it ------------------------------------------
    for st in SOCKET_TYPES:
        pairs = libzmq_ready_pairs(st)
        obs = OBS_435 if st in ("DEALER", "ROUTER", "PUB") else OBS_434
        valid("command-ready-libzmq-%s" % st.lower(), "NULL READY from a libzmq %s socket" % st,
              cmd(b"READY", props(pairs)), j_ready(pairs), ("NULL-08", "META-07", "STYPE-01") +
              (("META-08", "IDENT-07") if st in WITH_IDENTITY else ()),
              notes=("libzmq sends an empty Identity for REQ, DEALER and ROUTER (ROUTER included, "
                     "unlike the RFC example, spec 16.10) and none for other types."
                     if st in WITH_IDENTITY else None),
              observed=obs)
    valid("command-ready-empty", "READY with no properties", cmd(b"READY"), j_ready([]), ("NULL-08", "META-01"))
    valid("command-ready-long-form", "a 28-octet PUB READY in a long frame (06 + u64 BE)",
          cmd(b"READY", props([(b"Socket-Type", b"PUB")]), long=True), j_ready([(b"Socket-Type", b"PUB")]),
          ("NULL-08", "CMD-04", "FRAME-08"),
          notes="Commands SHOULD use the short form for bodies up to 255 octets (CMD-04); a receiver MUST "
                "accept the long form (FRAME-08).")
    many = [(b"Socket-Type", b"DEALER"), (b"Identity", b"client-7"), (b"Resource", b"/svc/echo"),
            (b"X-Trace", b"on"), (b"X-Empty", b""), (b"X-Binary", b"\x00\x01\xfe\xff")]
    valid("command-ready-many-properties", "READY with six properties (Socket-Type, Identity, Resource, X-*)",
          cmd(b"READY", props(many)), j_ready(many),
          ("NULL-08", "META-07", "META-08", "META-09", "META-11", "META-13"))
    big = [(b"Socket-Type", b"DEALER"), (b"X-Big", prng("ready-big", 300))]
    valid("command-ready-over-255-long", "READY over 255 octets, which needs the long form",
          cmd(b"READY", props(big)), j_ready(big), ("NULL-08", "FRAME-09"))
    lower = [(b"socket-type", b"dealer")]
    valid("command-ready-lowercase-names", "READY with the property name and value in lower case",
          cmd(b"READY", props(lower)), j_ready(lower), ("META-06", "STYPE-05"),
          notes="Well-formed: names are kept as sent and compared case-insensitively (META-06), so this is a "
                "Socket-Type, but the value \"dealer\" is not a socket type (STYPE-05). libzmq compares names "
                "exactly and would skip the type check (spec 16.20).")
    acceptable("command-ready-empty-property-name", "READY with a zero-length property name",
               cmd(b"READY", props([(b"", b"x")])), j_ready([(b"", b"x")]), "PropertyNameEmpty", ("META-02",),
               notes="A receiver MAY reject it (spec 16.16); libzmq accepts it [observed].")
    invalid("command-ready-trailing-garbage", "READY metadata followed by one stray octet 0x01",
            cmd(b"READY", props([(b"Socket-Type", b"PUB")]) + b"\x01"), "PropertyNameOverrun",
            ("META-05", "NULL-09"), notes="libzmq closes (EPROTO) [observed].")
    invalid("command-ready-value-length-lie", "READY whose value length says 9 with 3 octets present",
            cmd(b"READY", b"\x0bSocket-Type" + u32(9) + b"PUB"), "PropertyValueOverrun", ("META-05", "NULL-09"))
    invalid("command-ready-in-message-frame", "a READY body in a message frame (flags 00)",
            frame(0, cmd_body(b"READY", props([(b"Socket-Type", b"PUB")]))), "NotACommand", ("FRAME-04", "NULL-07"),
            notes="libzmq's handshake reads it as READY anyway, a divergence (spec 16.17); see "
                  "transcript-ready-in-message-frame.")

    # -- ERROR -------------------------------------------------------------------------------
    valid("command-error-400", "NULL ERROR \"400\" (ZAP denial)", cmd(b"ERROR", b"\x03400"), j_error(b"400"),
          ("ERR-01", "ERR-02"), observed=OBS_435)
    valid("command-error-empty-reason", "ERROR with an empty reason", cmd(b"ERROR", b"\x00"), j_error(b""), ("ERR-01",))
    valid("command-error-reason-with-space", "ERROR \"Invalid socket type\" (contains spaces)",
          cmd(b"ERROR", u8(19) + b"Invalid socket type"), j_error(b"Invalid socket type"), ("ERR-01", "ERR-02"),
          notes="The RFC grammar says VCHAR (no space); the spec allows 0x20..0x7E (spec 16.11).")
    valid("command-error-reason-255", "ERROR with a 255-octet reason (long frame: body 262 octets)",
          cmd(b"ERROR", u8(255) + b"E" * 255), j_error(b"E" * 255), ("ERR-01", "FRAME-09"))
    invalid("command-error-no-reason-length", "ERROR with no reason length octet", cmd(b"ERROR"),
            "ErrorReasonLength", ("ERR-01",))
    invalid("command-error-length-over", "ERROR whose reason length 5 exceeds the 3 octets present",
            cmd(b"ERROR", b"\x05400"), "ErrorReasonLength", ("ERR-01",))
    acceptable("command-error-length-under", "ERROR whose reason length 2 leaves one octet after the reason",
               cmd(b"ERROR", b"\x02400"), j_error(b"40"), "ErrorReasonLength", ("ERR-01", "ERR-03"),
               notes="Lenient reads the declared length and ignores the rest; the receiver closes either way "
                     "(ERR-03).")
    for octet, name in [(0x00, "nul"), (0x7F, "del"), (0xFF, "ff"), (0x0A, "newline")]:
        reason = b"bad" + u8(octet) + b"x"
        acceptable("command-error-reason-%s" % name, "ERROR reason containing octet 0x%02x" % octet,
                   cmd(b"ERROR", u8(len(reason)) + reason), j_error(reason), "InvalidErrorReason",
                   ("ERR-02", "ERR-06"), notes="Strict rejects, Lenient accepts any octet as libzmq does "
                                               "(spec 16.11).")

    # -- SUBSCRIBE / CANCEL --------------------------------------------------------------------
    valid("command-subscribe-ab", "SUBSCRIBE \"AB\" as libzmq sends it to a 3.1 peer",
          cmd(b"SUBSCRIBE", b"AB"), j_topic("SUBSCRIBE", b"AB"), ("SUBW-01",), observed=OBS_435)
    valid("command-subscribe-empty", "SUBSCRIBE with an empty topic (everything)", cmd(b"SUBSCRIBE"),
          j_topic("SUBSCRIBE", b""), ("SUBW-01", "SUBW-14"))
    valid("command-subscribe-binary", "SUBSCRIBE with a binary topic 00 FF 01", cmd(b"SUBSCRIBE", b"\x00\xff\x01"),
          j_topic("SUBSCRIBE", b"\x00\xff\x01"), ("SUBW-01", "SUBW-15"))
    valid("command-subscribe-long-topic", "SUBSCRIBE with a 300-octet topic in a long frame",
          cmd(b"SUBSCRIBE", pattern(300)), j_topic("SUBSCRIBE", pattern(300)), ("SUBW-01", "SUBW-10"))
    valid("command-cancel-ab", "CANCEL \"AB\" as libzmq sends it to a 3.1 peer", cmd(b"CANCEL", b"AB"),
          j_topic("CANCEL", b"AB"), ("SUBW-02",), observed=OBS_435)
    valid("command-cancel-empty", "CANCEL with an empty topic", cmd(b"CANCEL"), j_topic("CANCEL", b""), ("SUBW-02",))

    # -- PING / PONG ---------------------------------------------------------------------------
    valid("command-ping-libzmq", "PING TTL 15 deciseconds (1.5 s), no context, as libzmq sends it",
          cmd(b"PING", u16(15)), j_ping(15, b""), ("HB-05", "HB-08"), observed=OBS_435)
    valid("command-ping-ttl-0", "PING with TTL 0 (no TTL stated)", cmd(b"PING", u16(0)), j_ping(0, b""),
          ("HB-05", "HB-08"))
    valid("command-ping-ttl-max", "PING with TTL 65535", cmd(b"PING", u16(65535)), j_ping(65535, b""),
          ("HB-05", "HB-16"))
    valid("command-ping-context-16", "PING with a 16-octet context (the maximum)",
          cmd(b"PING", u16(10) + pattern(16)), j_ping(10, pattern(16)), ("HB-02", "HB-05"))
    valid("command-ping-long-form", "PING in a long frame", cmd(b"PING", u16(1) + b"ctx", long=True),
          j_ping(1, b"ctx"), ("HB-05", "FRAME-08"))
    acceptable("command-ping-context-17", "PING with a 17-octet context", cmd(b"PING", u16(10) + pattern(17)),
               j_ping(10, pattern(17)), "ContextTooLong", ("HB-02", "HB-03"),
               notes="A receiver MAY close; otherwise it echoes the first 16 octets (spec 16.14), as libzmq "
                     "does [observed].")
    invalid("command-ping-one-octet", "PING with 1 octet of data: the TTL is incomplete", cmd(b"PING", b"\x00"),
            "PingTooShort", ("HB-06",))
    invalid("command-ping-no-data", "PING with no data at all", cmd(b"PING"), "PingTooShort", ("HB-06",),
            notes="libzmq 4.3.5 does not reject it and replies with stale octets (D-05).")
    valid("command-pong-ctx1", "PONG echoing \"ctx1\"", cmd(b"PONG", b"ctx1"), j_pong(b"ctx1"), ("HB-07", "HB-09"),
          observed=OBS_435)
    valid("command-pong-empty", "PONG with no context", cmd(b"PONG"), j_pong(b""), ("HB-07",))
    valid("command-pong-context-16", "PONG with a 16-octet context", cmd(b"PONG", pattern(16)), j_pong(pattern(16)),
          ("HB-02", "HB-07"))
    acceptable("command-pong-context-17", "PONG with a 17-octet context", cmd(b"PONG", pattern(17)),
               j_pong(pattern(17)), "ContextTooLong", ("HB-02", "CMD-09"))

    # -- JOIN / LEAVE ------------------------------------------------------------------------
    valid("command-join-weather", "JOIN group \"weather\"", cmd(b"JOIN", b"weather"), j_group("JOIN", b"weather"),
          ("RADIO-01",))
    valid("command-join-empty", "JOIN with an empty group", cmd(b"JOIN"), j_group("JOIN", b""), ("RADIO-01",))
    valid("command-leave-weather", "LEAVE group \"weather\"", cmd(b"LEAVE", b"weather"),
          j_group("LEAVE", b"weather"), ("RADIO-01",))
    valid("command-join-255", "JOIN with a 255-octet group of 0x01..0xFF", cmd(b"JOIN", bytes(range(1, 256))),
          j_group("JOIN", bytes(range(1, 256))), ("RADIO-01",))
    acceptable("command-join-zero-octet", "JOIN with a group containing a zero octet", cmd(b"JOIN", b"a\x00b"),
               j_group("JOIN", b"a\x00b"), "InvalidGroup", ("RADIO-01", "CMD-09"))
    acceptable("command-leave-256", "LEAVE with a 256-octet group", cmd(b"LEAVE", b"g" * 256),
               j_group("LEAVE", b"g" * 256), "InvalidGroup", ("RADIO-01", "CMD-09"))

    # -- unknown commands and name rules ------------------------------------------------------
    valid("command-unknown-foo", "an unknown command FOO with data", cmd(b"FOO", b"\x01\x02"),
          j_unknown(b"FOO", b"\x01\x02"), ("CMD-01", "CMD-07"),
          notes="Unknown commands are kept whole; after the handshake a receiver ignores them (CMD-07, spec 16.23).")
    valid("command-unknown-lowercase-ready", "\"ready\" in lower case is not READY (names are case-sensitive)",
          cmd(b"ready", props([(b"Socket-Type", b"PUB")])), j_unknown(b"ready", props([(b"Socket-Type", b"PUB")])),
          ("CMD-06", "CMD-07"))
    valid("command-null-hello-is-unknown", "a PLAIN HELLO under the NULL mechanism is an unknown command",
          cmd(b"HELLO", b"\x05admin\x06secret"), j_unknown(b"HELLO", b"\x05admin\x06secret"), ("CMD-07",))
    valid("command-name-255", "a 255-letter command name (long frame)", cmd(b"Z" * 255, b"d"),
          j_unknown(b"Z" * 255, b"d"), ("CMD-02", "CMD-07"))
    invalid("command-empty-body", "command frame with an empty body", frame(COMMAND, b""), "EmptyCommand",
            ("CMD-01",))
    invalid("command-name-length-zero", "command name length 0", frame(COMMAND, b"\x00PING"), "CommandNameEmpty",
            ("CMD-02",))
    invalid("command-name-length-only", "a name length 5 and nothing else", frame(COMMAND, b"\x05"),
            "CommandNameOverrun", ("CMD-02",))
    invalid("command-name-length-lies", "name length 9 with \"PING\" (4 octets) present",
            frame(COMMAND, b"\x09PING"), "CommandNameOverrun", ("CMD-02",))
    invalid("command-name-truncated", "name length 5 with \"REA\" present", frame(COMMAND, b"\x05REA"),
            "CommandNameOverrun", ("CMD-02",))
    invalid("command-name-255-overrun", "name length 255 with 4 octets present", frame(COMMAND, b"\xffPING"),
            "CommandNameOverrun", ("CMD-02",))
    for name, label in [(b"X-FOO", "hyphen"), (b"PING1", "digit"), (b"PI\x00G", "nul"), (b"RE ADY", "space")]:
        acceptable("command-name-non-letter-%s" % label, "command name %r contains a non-letter" % name.decode("latin-1"),
                   cmd(name, b"\x01"), j_unknown(name, b"\x01"), "InvalidCommandName", ("CMD-03", "CMD-09"),
                   notes="After the handshake a receiver SHOULD close (CMD-09); Lenient reads it as an unknown "
                         "command and ignores it.")
    invalid("command-message-frame", "a message frame where a command is required", frame(0, b"\x04PING\x00\x00"),
            "NotACommand", ("FRAME-04",))
    invalid("command-message-frame-more", "a message frame with MORE where a command is required",
            frame(MORE, b"\x05READY"), "NotACommand", ("FRAME-04",))
    acceptable("command-more-05", "PING in a command frame with MORE (flags 0x05)", frame(0x05, cmd_body(b"PING", u16(0))),
               j_ping(0, b""), "CommandWithMore", ("FRAME-06", "FRAME-07"))
    acceptable("command-more-07", "SUBSCRIBE in a long command frame with MORE (flags 0x07)",
               frame(0x07, cmd_body(b"SUBSCRIBE", b"A")), j_topic("SUBSCRIBE", b"A"), "CommandWithMore",
               ("FRAME-06", "FRAME-07"),
               notes="Lenient takes it as a complete command (spec 16.13); libzmq buffers it and applies it only "
                     "with a later final frame, a divergence.")
    acceptable("command-reserved-flag", "READY in a frame with reserved bit 0x80 (flags 0x84)",
               frame(0x84, cmd_body(b"READY")), j_ready([]), "ReservedFlags", ("FRAME-02", "FRAME-03"))
    invalid("command-truncated-frame", "a READY frame cut inside the body",
            cmd(b"READY", props(libzmq_ready_pairs("PUB")))[:-2], "TruncatedFrame", ("FRAME-01",))

    # -- PLAIN -------------------------------------------------------------------------------
    P = "PLAIN"
    valid("command-plain-hello", "PLAIN HELLO admin/secret", cmd(b"HELLO", b"\x05admin\x06secret"),
          j_plain_hello(b"admin", b"secret"), ("PLAIN-01", "PLAIN-03"), mechanism=P, observed=OBS_435)
    valid("command-plain-hello-empty", "PLAIN HELLO with empty username and password", cmd(b"HELLO", b"\x00\x00"),
          j_plain_hello(b"", b""), ("PLAIN-01",), mechanism=P)
    valid("command-plain-hello-255", "PLAIN HELLO with a 255-octet username and password (long frame)",
          cmd(b"HELLO", b"\xff" + b"u" * 255 + b"\xff" + b"p" * 255), j_plain_hello(b"u" * 255, b"p" * 255),
          ("PLAIN-01",), mechanism=P)
    valid("command-plain-hello-any-octets", "PLAIN HELLO whose password contains a space and 0x00",
          cmd(b"HELLO", b"\x05admin\x04s e\x00"), j_plain_hello(b"admin", b"s e\x00"), ("PLAIN-01", "PLAIN-03"),
          mechanism=P,
          notes="The layout is well-formed; a client SHOULD keep credentials to 0x21..0x7E for receivers that "
                "check them (PLAIN-03). libzmq accepts any octet, and so does the codec in both profiles.")
    hello = b"\x05admin\x06secret"
    for n, where in [(0, "no data"), (1, "username length only"), (4, "inside the username"),
                     (6, "no password length"), (9, "inside the password")]:
        invalid("command-plain-hello-truncated-%d" % n, "PLAIN HELLO data cut at %d octets (%s)" % (n, where),
                cmd(b"HELLO", hello[:n]), "PlainHelloMalformed", ("PLAIN-01",), mechanism=P)
    invalid("command-plain-hello-trailing", "PLAIN HELLO with an octet after the password",
            cmd(b"HELLO", hello + b"!"), "PlainHelloMalformed", ("PLAIN-01",), mechanism=P)
    valid("command-plain-welcome", "PLAIN WELCOME (no data)", cmd(b"WELCOME"), j_plain_welcome(), ("PLAIN-02",),
          mechanism=P, observed=OBS_435)
    invalid("command-plain-welcome-data", "PLAIN WELCOME carrying one octet", cmd(b"WELCOME", b"\x00"),
            "PlainWelcomeNotEmpty", ("PLAIN-02",), mechanism=P)
    ini = libzmq_ready_pairs("DEALER")
    valid("command-plain-initiate", "PLAIN INITIATE with a DEALER's metadata", cmd(b"INITIATE", props(ini)),
          j_plain_initiate(ini), ("PLAIN-04", "META-07"), mechanism=P)
    invalid("command-plain-initiate-bad-metadata", "PLAIN INITIATE whose property name overruns",
            cmd(b"INITIATE", b"\x20Socket"), "PropertyNameOverrun", ("PLAIN-04", "META-05"), mechanism=P)
    rp = libzmq_ready_pairs("ROUTER")
    valid("command-plain-ready", "PLAIN READY from a ROUTER server (clear-text metadata, as NULL READY)",
          cmd(b"READY", props(rp)), j_ready(rp), ("PLAIN-05", "META-07"), mechanism=P)
    valid("command-plain-error", "PLAIN ERROR \"400\" in the correct form", cmd(b"ERROR", b"\x03400"),
          j_error(b"400"), ("ERR-01", "PLAIN-07"), mechanism=P)
    invalid("command-plain-error-libzmq-malformed", "the PLAIN ERROR libzmq 4.3 sends: name length 0x5E (\"^RROR\")",
            b"\x04\x09\x5eRROR\x03400", "CommandNameOverrun", ("CMD-02", "PLAIN-07"), mechanism=P,
            observed=OBS_435,
            notes="plain_common.hpp writes \"\\x05ERROR\", which C parses as \\x5E + \"RROR\" (spec 16.6, D-12).")

    # -- CURVE -------------------------------------------------------------------------------
    C = "CURVE"
    data, j = curve_hello_data("hello")
    valid("command-curve-hello", "CURVE HELLO, 200 octets", cmd(b"HELLO", data), j, ("CURVE-01", "CURVE-02",
                                                                                       "CURVE-03"), mechanism=C)
    invalid("command-curve-hello-199", "CURVE HELLO one octet short (199)", cmd(b"HELLO", data[:-1]),
            "CurveCommandSize", ("CURVE-01", "CURVE-11"), mechanism=C)
    invalid("command-curve-hello-201", "CURVE HELLO one octet long (201)", cmd(b"HELLO", data + b"\x00"),
            "CurveCommandSize", ("CURVE-01", "CURVE-11"), mechanism=C)
    invalid("command-curve-hello-plain-size", "a PLAIN-style HELLO under CURVE (19 octets)",
            cmd(b"HELLO", b"\x05admin\x06secret"), "CurveCommandSize", ("CURVE-01", "CURVE-11"), mechanism=C)
    d11, _ = curve_hello_data("hello", version=(1, 1))
    invalid("command-curve-hello-version-1-1", "CURVE HELLO version 1.1", cmd(b"HELLO", d11), "CurveHelloVersion",
            ("CURVE-02", "CURVE-11"), mechanism=C)
    d20, _ = curve_hello_data("hello", version=(2, 0))
    invalid("command-curve-hello-version-2-0", "CURVE HELLO version 2.0", cmd(b"HELLO", d20), "CurveHelloVersion",
            ("CURVE-02", "CURVE-11"), mechanism=C)
    dp, jp = curve_hello_data("hello", padding=b"\x00" * 71 + b"\x01")
    acceptable("command-curve-hello-padding", "CURVE HELLO with the last padding octet 0x01", cmd(b"HELLO", dp), jp,
               "CurveHelloPadding", ("CURVE-03",), mechanism=C,
               notes="Strict rejects non-zero padding; Lenient checks the size only (spec 16.7).")
    data, j = curve_welcome_data("welcome")
    valid("command-curve-welcome", "CURVE WELCOME, 168 octets", cmd(b"WELCOME", data), j, ("CURVE-04",), mechanism=C)
    invalid("command-curve-welcome-167", "CURVE WELCOME 167 octets", cmd(b"WELCOME", data[:-1]), "CurveCommandSize",
            ("CURVE-04", "CURVE-12"), mechanism=C)
    invalid("command-curve-welcome-169", "CURVE WELCOME 169 octets", cmd(b"WELCOME", data + b"\x00"),
            "CurveCommandSize", ("CURVE-04", "CURVE-12"), mechanism=C)
    for box_len, total in [(144, 257), (145, 258), (164, 277)]:
        data, j = curve_initiate_data("initiate-%d" % total, box_len)
        valid("command-curve-initiate-%d" % total, "CURVE INITIATE, %d octets%s" % (
            total, " (the minimum)" if total == 257 else " (the size libzmq's client sends)" if total == 277 else ""),
            cmd(b"INITIATE", data), j, ("CURVE-05",), mechanism=C)
    data, _ = curve_initiate_data("initiate-256", 143)
    invalid("command-curve-initiate-256", "CURVE INITIATE 256 octets (one short)", cmd(b"INITIATE", data),
            "CurveCommandSize", ("CURVE-05", "CURVE-13"), mechanism=C)
    for name, req, close_req, minimum in [(b"READY", "CURVE-06", "CURVE-13", 30), (b"MESSAGE", "CURVE-07", "CURVE-14",
                                                                                   33)]:
        fixed = 1 + len(name) + 8
        for total in (minimum - 1, minimum, minimum + 1):
            data, j = curve_short_data(name, "%s-%d" % (name.decode().lower(), total), total - fixed)
            id = "command-curve-%s-%d" % (name.decode().lower(), total)
            desc = "CURVE %s, %d octets" % (name.decode(), total)
            if total < minimum:
                invalid(id, desc + " (one short)", cmd(name, data), "CurveCommandSize", (req, close_req), mechanism=C)
            else:
                valid(id, desc + (" (the minimum)" if total == minimum else ""), cmd(name, data), j, (req,),
                      mechanism=C)
    valid("command-curve-error", "CURVE ERROR \"400\"", cmd(b"ERROR", b"\x03400"), j_error(b"400"),
          ("ERR-01", "CURVE-09"), mechanism=C)
    data, j = curve_welcome_data("welcome")
    valid("command-null-welcome-is-unknown", "a CURVE WELCOME under NULL is an unknown command",
          cmd(b"WELCOME", data), j_unknown(b"WELCOME", data), ("CMD-07",))
    return f


# --------------------------------------------------------------------------------------------
# metadata.json
# --------------------------------------------------------------------------------------------

def gen_metadata():
    f = Family("metadata", "Property lists as carried by READY and INITIATE (context `metadata`).")

    def valid(id, desc, pairs, reqs, notes=None):
        f.add(id, desc, reqs, "metadata", "valid", hex=props(pairs), expected={"properties": j_props(pairs)},
              notes=notes)

    def invalid(id, desc, octets, error, reqs, notes=None):
        f.add(id, desc, reqs, "metadata", "invalid", hex=octets, error=error, notes=notes)

    def acceptable(id, desc, pairs, error, reqs, notes=None):
        f.add(id, desc, reqs, "metadata", "acceptable", hex=props(pairs), expected={"properties": j_props(pairs)},
              error=error, notes=notes)

    valid("metadata-empty", "no properties", [], ("META-01",))
    valid("metadata-socket-type", "Socket-Type DEALER", [(b"Socket-Type", b"DEALER")], ("META-01", "META-07"))
    valid("metadata-identity-empty", "Socket-Type and an empty Identity (libzmq DEALER)",
          libzmq_ready_pairs("DEALER"), ("META-07", "META-08", "META-13"))
    valid("metadata-identity-1", "a 1-octet Identity", [(b"Identity", b"A")], ("META-08", "IDENT-01"))
    valid("metadata-identity-leading-zero", "an Identity starting with 0x00",
          [(b"Identity", b"\x00\x00\x00\x00\x2a")], ("META-08", "IDENT-02", "IDENT-03"),
          notes="Well-formed metadata. A sender MUST NOT announce such an identity (IDENT-02) and a ROUTER MUST NOT "
                "use it (IDENT-03); both are socket rules, outside the codec. libzmq accepts it [observed].")
    valid("metadata-identity-255", "a 255-octet Identity", [(b"Identity", prng("identity-255", 255))],
          ("META-08", "IDENT-01"))
    valid("metadata-identity-256", "a 256-octet Identity: well-formed metadata",
          [(b"Identity", prng("identity-256", 256))], ("META-04", "IDENT-01", "IDENT-08"),
          notes="The 255-octet identity limit (IDENT-01, IDENT-08) belongs to the socket layer; the codec "
                "accepts the property.")
    valid("metadata-resource", "Resource \"/svc/echo\" (ZMTP 3.1)", [(b"Resource", b"/svc/echo")], ("META-09",))
    valid("metadata-value-binary", "a value with every octet 0x00..0xFF", [(b"X-Bin", pattern(256))],
          ("META-04", "META-11"))
    valid("metadata-value-empty", "an empty value", [(b"X-Empty", b"")], ("META-13",))
    valid("metadata-name-255", "a 255-character property name", [(b"X" * 255, b"v")], ("META-02", "META-12"))
    valid("metadata-name-all-classes", "a name with letters, digits and - _ . +", [(b"X-a_B.9+z", b"v")],
          ("META-03",))
    valid("metadata-case-variants", "Socket-Type, socket-type and SOCKET-TYPE: names are kept as sent",
          [(b"Socket-Type", b"PUB"), (b"socket-type", b"SUB"), (b"SOCKET-TYPE", b"XPUB")], ("META-06", "META-14"),
          notes="A sender SHOULD NOT send names equal without case (META-14); the list is still well-formed. "
                "Names compare case-insensitively (META-06), libzmq compares them exactly (spec 16.20).")
    valid("metadata-duplicate-names", "the same name twice: both are kept in wire order",
          [(b"X-Dup", b"1"), (b"X-Dup", b"2")], ("META-14",))
    valid("metadata-many", "twenty properties", [(("X-P%02d" % i).encode(), prng("many-%d" % i, i)) for i in range(20)],
          ("META-01", "META-13"))
    acceptable("metadata-name-empty", "a property with a zero-length name", [(b"", b"v")], "PropertyNameEmpty",
               ("META-02",), notes="A receiver MAY reject it (spec 16.16); libzmq accepts it [observed].")
    acceptable("metadata-name-empty-second", "a valid property, then one with a zero-length name",
               [(b"Socket-Type", b"PUB"), (b"", b"")], "PropertyNameEmpty", ("META-02",))
    for name, label in [(b"Socket Type", "space"), (b"X:Y", "colon"), (b"X\x00Y", "nul"), (b"X\xffY", "ff"),
                        (b"X/Y", "slash")]:
        desc = "a property name containing %s" % label
        notes = ("META-03 has no receiver option and NULL-09 requires closing on malformed metadata. libzmq "
                 "does not check name characters, and the codec's Lenient profile accepts them too.")
        if BAD_PROPERTY_NAME_RESULT == "invalid":
            invalid("metadata-name-invalid-%s" % label, desc, props([(name, b"v")]), "InvalidPropertyName",
                    ("META-03", "NULL-09"), notes=notes)
        else:
            acceptable("metadata-name-invalid-%s" % label, desc, [(name, b"v")], "InvalidPropertyName",
                       ("META-03", "NULL-09"), notes=notes)
    # truncation at every field boundary of one property (22 octets)
    one = prop(b"Socket-Type", b"DEALER")
    for n, where, err in [(1, "name length only", "PropertyNameOverrun"), (6, "inside the name", "PropertyNameOverrun"),
                          (12, "name complete, no value length", "PropertyValueOverrun"),
                          (14, "inside the value length", "PropertyValueOverrun"),
                          (16, "value length, no value", "PropertyValueOverrun"),
                          (19, "inside the value", "PropertyValueOverrun")]:
        invalid("metadata-truncated-%d" % n, "Socket-Type=DEALER cut at %d of 22 octets (%s)" % (n, where),
                one[:n], err, ("META-05",))
    invalid("metadata-name-length-lies", "name length 200 with 11 octets present", b"\xc8Socket-Type",
            "PropertyNameOverrun", ("META-05",))
    invalid("metadata-value-length-lies", "value length 7 with 6 octets present",
            b"\x0bSocket-Type" + u32(7) + b"DEALER", "PropertyValueOverrun", ("META-05",))
    invalid("metadata-value-length-2-31", "value length 0x80000000 (over 2^31-1), nothing behind it",
            b"\x05X-Big" + u32(0x80000000), "PropertyValueOverrun", ("META-04", "META-05"),
            notes="An overrun is reported first: PropertyValueTooLarge is only reachable with 2 GiB present.")
    invalid("metadata-value-length-2-31-minus-1", "value length 0x7FFFFFFF (the maximum) with 3 octets present",
            b"\x05X-Big" + u32(0x7FFFFFFF) + b"abc", "PropertyValueOverrun", ("META-05",))
    invalid("metadata-value-length-ffffffff", "value length 0xFFFFFFFF", b"\x05X-Big" + u32(0xFFFFFFFF),
            "PropertyValueOverrun", ("META-04", "META-05"))
    invalid("metadata-trailing-garbage", "a valid property, then one stray octet 0x0B",
            one + b"\x0b", "PropertyNameOverrun", ("META-01", "META-05"))
    invalid("metadata-trailing-name", "a valid property, then a name with no value length",
            one + b"\x08Identity", "PropertyValueOverrun", ("META-01", "META-05"))
    return f


# --------------------------------------------------------------------------------------------
# subscription.json
# --------------------------------------------------------------------------------------------

def gen_subscription():
    f = Family("subscription", "Subscriptions in both wire forms (context `subscription`): ZMTP 3.0 "
               "messages (0x01/0x00 + topic) and ZMTP 3.1 SUBSCRIBE/CANCEL commands.")

    def valid(id, desc, octets, expected, reqs, notes=None, observed=None):
        f.add(id, desc, reqs, "subscription", "valid", hex=octets, expected=expected, notes=notes, observed=observed)

    def invalid(id, desc, octets, error, reqs, notes=None, observed=None):
        f.add(id, desc, reqs, "subscription", "invalid", hex=octets, error=error, notes=notes, observed=observed)

    def acceptable(id, desc, octets, expected, error, reqs, notes=None):
        f.add(id, desc, reqs, "subscription", "acceptable", hex=octets, expected=expected, error=error, notes=notes)

    valid("subscription-3-0-subscribe-ab", "3.0 subscribe \"AB\": message 00 03 01 41 42", msg(b"\x01AB"),
          j_sub("subscribe", "message", b"AB"), ("SUBW-03", "SUBW-07"), observed=OBS_435)
    valid("subscription-3-0-cancel-ab", "3.0 cancel \"AB\": message 00 03 00 41 42", msg(b"\x00AB"),
          j_sub("cancel", "message", b"AB"), ("SUBW-03",), observed=OBS_435)
    valid("subscription-3-0-subscribe-all", "3.0 subscribe to everything: 00 01 01", msg(b"\x01"),
          j_sub("subscribe", "message", b""), ("SUBW-03", "SUBW-14"))
    valid("subscription-3-0-cancel-all", "3.0 cancel everything: 00 01 00", msg(b"\x00"),
          j_sub("cancel", "message", b""), ("SUBW-03",))
    valid("subscription-3-0-254-short", "3.0 subscribe with a 254-octet topic: the largest short frame",
          msg(b"\x01" + pattern(254)), j_sub("subscribe", "message", pattern(254)), ("SUBW-03",))
    valid("subscription-3-0-255-long", "3.0 subscribe with a 255-octet topic in a long frame (body 256)",
          msg(b"\x01" + pattern(255), long=True), j_sub("subscribe", "message", pattern(255)), ("SUBW-03", "SUBW-10"),
          notes="RFC 23's grammar only has short-size here; the spec allows a long frame (spec 16.9).")
    valid("subscription-3-0-long-form-small", "3.0 subscribe \"AB\" in a long frame", msg(b"\x01AB", long=True),
          j_sub("subscribe", "message", b"AB"), ("SUBW-10", "FRAME-08"))
    invalid("subscription-3-0-libzmq-255-bug",
            "libzmq's v2 encoder bug: a 255-octet topic sent as flags 00 with an 8-octet size",
            b"\x00" + u64(256) + b"\x01" + pattern(255), "TrailingData", ("FRAME-01", "FRAME-09"), observed=OBS_435,
            notes="LONG is computed before the prefix octet is added (spec 16.9, D-03): the peer reads an empty "
                  "short frame and then garbage.")
    valid("subscription-3-1-subscribe-ab", "3.1 SUBSCRIBE \"AB\"", cmd(b"SUBSCRIBE", b"AB"),
          j_sub("subscribe", "command", b"AB"), ("SUBW-01",), observed=OBS_435)
    valid("subscription-3-1-cancel-ab", "3.1 CANCEL \"AB\"", cmd(b"CANCEL", b"AB"),
          j_sub("cancel", "command", b"AB"), ("SUBW-02",), observed=OBS_435)
    valid("subscription-3-1-subscribe-empty", "3.1 SUBSCRIBE everything", cmd(b"SUBSCRIBE"),
          j_sub("subscribe", "command", b""), ("SUBW-01", "SUBW-14"))
    valid("subscription-3-1-subscribe-255-long", "3.1 SUBSCRIBE with a 255-octet topic (long frame, body 265)",
          cmd(b"SUBSCRIBE", pattern(255)), j_sub("subscribe", "command", pattern(255)), ("SUBW-01", "SUBW-10"),
          notes="libzmq 4.3.3/4.3.4 mis-encoded 246..255-octet topics; 4.3.5 sends this (D-03).")
    valid("subscription-3-1-cancel-binary", "3.1 CANCEL of a binary topic", cmd(b"CANCEL", b"\x00\x01\xff"),
          j_sub("cancel", "command", b"\x00\x01\xff"), ("SUBW-02", "SUBW-15"))
    invalid("subscription-data-not-subscription", "a data message whose first octet is 0x02",
            msg(b"\x02AB"), "NotASubscription", ("SUBW-03", "SUBW-09"),
            notes="It must not change subscriptions (SUBW-09); libzmq's PUB drops such data silently and keeps the "
                  "connection (D-04).")
    invalid("subscription-empty-message", "an empty data message", msg(b""), "NotASubscription",
            ("SUBW-03", "SUBW-09"))
    invalid("subscription-other-command", "a PING command", cmd(b"PING", u16(0)), "NotASubscription", ("SUBW-03",))
    invalid("subscription-lowercase-command", "\"subscribe\" in lower case is an unknown command",
            cmd(b"subscribe", b"AB"), "NotASubscription", ("SUBW-03", "CMD-06"))
    invalid("subscription-bad-command", "a command frame whose name length overruns", frame(COMMAND, b"\x09SUBSCR"),
            "CommandNameOverrun", ("CMD-02",))
    acceptable("subscription-3-0-with-more", "3.0 subscribe \"AB\" with MORE set (01 03 01 41 42)",
               msg(b"\x01AB", more=True), j_sub("subscribe", "message", b"AB"), "SubscriptionWithMore",
               ("SUBW-07", "SUBW-08"),
               notes="Strict rejects, Lenient accepts (spec 16.27); libzmq inspects every frame of a multipart "
                     "upstream message, a divergence (D-04).")
    acceptable("subscription-3-1-with-more", "3.1 SUBSCRIBE \"AB\" in a command frame with MORE (flags 0x05)",
               frame(0x05, cmd_body(b"SUBSCRIBE", b"AB")), j_sub("subscribe", "command", b"AB"), "CommandWithMore",
               ("FRAME-06", "FRAME-07"))
    return f


# --------------------------------------------------------------------------------------------
# stream.json
# --------------------------------------------------------------------------------------------

def i_greeting(g):
    return {"greeting": j_greeting(g)}


def i_cmd(j):
    return {"command": j}


def i_msg(parts):
    return {"message": [hx(p) for p in parts]}


LIBZMQ_GREETING = greeting(3, 1, b"NULL", padding=u64(1))


def gen_stream():
    f = Family("stream", "One direction of a connection (context `stream`): a greeting, then frames, decoded "
               "into greeting, command and complete-message items.")

    def add(id, desc, reqs, result, octets, items=None, error=None, notes=None, observed=None, max_frame_size=None):
        f.add(id, desc, reqs, "stream", result, hex=octets, expected=items, error=error, notes=notes,
              observed=observed, max_frame_size=max_frame_size)

    g = LIBZMQ_GREETING
    for st in ("DEALER", "ROUTER", "PUB"):
        pairs = libzmq_ready_pairs(st)
        add("stream-libzmq-null-%s" % st.lower(), "libzmq %s: NULL 3.1 greeting then READY" % st,
            ("GREET-01", "NULL-04", "NULL-08", "META-07"), "valid", g + cmd(b"READY", props(pairs)),
            [i_greeting(g), i_cmd(j_ready(pairs))], observed=OBS_435)
    dealer = libzmq_ready_pairs("DEALER")
    add("stream-dealer-messages", "DEALER handshake, then a one-part and a three-part message",
        ("FRAME-11", "FRAME-12", "FRAME-17", "WIRE-03"), "valid",
        g + cmd(b"READY", props(dealer)) + message_frames([b"hello"]) + message_frames([b"a", b"", b"c"]),
        [i_greeting(g), i_cmd(j_ready(dealer)), i_msg([b"hello"]), i_msg([b"a", b"", b"c"])])
    req = libzmq_ready_pairs("REQ")
    add("stream-req-request", "REQ handshake then a request: empty delimiter with MORE, then \"req\"",
        ("FRAME-12", "FRAME-17"), "valid", g + cmd(b"READY", props(req)) + b"\x01\x00\x00\x03req",
        [i_greeting(g), i_cmd(j_ready(req)), i_msg([b"", b"req"])], observed=OBS_435)
    sub = libzmq_ready_pairs("SUB")
    add("stream-sub-3-1-subscribe", "SUB toward a 3.1 peer: READY then a SUBSCRIBE command",
        ("SUBW-01", "SUBW-05"), "valid", g + cmd(b"READY", props(sub)) + cmd(b"SUBSCRIBE", b"AB"),
        [i_greeting(g), i_cmd(j_ready(sub)), i_cmd(j_topic("SUBSCRIBE", b"AB"))], observed=OBS_435)
    add("stream-sub-3-0-subscribe", "SUB toward a 3.0 peer: READY then the subscription as a data message",
        ("SUBW-03", "SUBW-05", "VER-04"), "valid", g + cmd(b"READY", props(sub)) + msg(b"\x01AB"),
        [i_greeting(g), i_cmd(j_ready(sub)), i_msg([b"\x01AB"])], observed=OBS_435,
        notes="At the stream layer a 3.0 subscription is an ordinary one-frame message.")
    add("stream-greeting-only", "a greeting and nothing else: the stream may end here",
        ("GREET-01",), "valid", greeting(3, 0, b"NULL"), [i_greeting(greeting(3, 0, b"NULL"))])
    add("stream-empty-message", "a message of one empty frame (00 00)", ("FRAME-17",), "valid",
        g + cmd(b"READY") + b"\x00\x00", [i_greeting(g), i_cmd(j_ready([])), i_msg([b""])])
    add("stream-empty-parts", "a message of three empty frames", ("FRAME-12", "FRAME-17"), "valid",
        g + cmd(b"READY") + b"\x01\x00\x01\x00\x00\x00", [i_greeting(g), i_cmd(j_ready([])), i_msg([b"", b"", b""])])
    add("stream-300-more-then-empty", "a 300-octet frame with MORE, then an empty last frame",
        ("FRAME-09", "FRAME-12", "FRAME-17"), "valid",
        g + cmd(b"READY") + frame(MORE | LONG, pattern(300)) + b"\x00\x00",
        [i_greeting(g), i_cmd(j_ready([])), i_msg([pattern(300), b""])], observed=OBS_435)
    mixed = frame(MORE | LONG, b"x") + frame(MORE, b"yy") + frame(LONG, b"zzz")
    add("stream-mixed-size-forms", "one message whose frames mix long and short sizes", ("FRAME-08", "FRAME-12"),
        "valid", g + cmd(b"READY") + mixed, [i_greeting(g), i_cmd(j_ready([])), i_msg([b"x", b"yy", b"zzz"])])
    parts = [u16(i) for i in range(1000)]
    add("stream-1000-parts", "a 1000-part message (two-octet parts 0000..03e7)", ("FRAME-11", "FRAME-12"), "valid",
        g + cmd(b"READY") + message_frames(parts), [i_greeting(g), i_cmd(j_ready([])), i_msg(parts)])
    add("stream-heartbeat", "handshake, PING, PONG, then a message", ("HB-05", "HB-07"), "valid",
        g + cmd(b"READY") + cmd(b"PING", u16(15) + b"ctx1") + cmd(b"PONG", b"ctx1") + msg(b"m"),
        [i_greeting(g), i_cmd(j_ready([])), i_cmd(j_ping(15, b"ctx1")), i_cmd(j_pong(b"ctx1")), i_msg([b"m"])])
    plain_c = greeting(3, 1, b"PLAIN", as_server=0)
    ini = libzmq_ready_pairs("DEALER")
    add("stream-plain-client", "PLAIN client: greeting, HELLO, INITIATE, then a message (commands read as PLAIN)",
        ("PLAIN-01", "PLAIN-04", "PLAIN-06"), "valid",
        plain_c + cmd(b"HELLO", b"\x05admin\x06secret") + cmd(b"INITIATE", props(ini)) + msg(b"x"),
        [i_greeting(plain_c), i_cmd(j_plain_hello(b"admin", b"secret")), i_cmd(j_plain_initiate(ini)),
         i_msg([b"x"])])
    plain_s = greeting(3, 1, b"PLAIN", as_server=1)
    add("stream-plain-server-libzmq-error", "a PLAIN server refusing with libzmq's malformed ERROR (\"^RROR\")",
        ("CMD-02", "PLAIN-07"), "invalid", plain_s + b"\x04\x09\x5eRROR\x03400", error="CommandNameOverrun",
        observed=OBS_435,
        notes="Spec 16.6, D-12. libzmq sends as-server 0 even as a server (D-09); as-server 1 is used here.")
    curve_c = greeting(3, 1, b"CURVE", as_server=0)
    hd, hj = curve_hello_data("stream-hello")
    idata, ij = curve_initiate_data("stream-initiate", 164)
    md, mj = curve_short_data(b"MESSAGE", "stream-message", 25)
    add("stream-curve-client", "CURVE client: HELLO, INITIATE (277 octets, long frame), MESSAGE",
        ("CURVE-01", "CURVE-05", "CURVE-07"), "valid",
        curve_c + cmd(b"HELLO", hd) + cmd(b"INITIATE", idata) + cmd(b"MESSAGE", md),
        [i_greeting(curve_c), i_cmd(hj), i_cmd(ij), i_cmd(mj)])
    body = cmd_body(b"MESSAGE", md)
    add("stream-curve-libzmq-message-frames", "CURVE client as libzmq sends it: MESSAGE in a message frame (flags 00)",
        ("CURVE-20", "CURVE-21"), "valid",
        curve_c + cmd(b"HELLO", hd) + cmd(b"INITIATE", idata) + frame(0, body),
        [i_greeting(curve_c), i_cmd(hj), i_cmd(ij), i_msg([body])],
        notes="A receiver MUST accept MESSAGE with COMMAND clear (CURVE-21, spec 16.25); at the stream layer the "
              "frame is a one-frame message whose body starts with 07 MESSAGE.")
    add("stream-command-more-lenient", "a SUBSCRIBE in a command frame with MORE, then a message",
        ("FRAME-06", "FRAME-07"),
        "acceptable", g + cmd(b"READY") + frame(0x05, cmd_body(b"SUBSCRIBE", b"A")) + msg(b"m"),
        [i_greeting(g), i_cmd(j_ready([])), i_cmd(j_topic("SUBSCRIBE", b"A")), i_msg([b"m"])],
        error="CommandWithMore", notes="A command never starts or continues a multipart message.")
    add("stream-reserved-flags", "a message frame with flags 0xF8 after the handshake", ("FRAME-02", "FRAME-03"),
        "acceptable",
        g + cmd(b"READY") + frame(0xF8, b"abc"), [i_greeting(g), i_cmd(j_ready([])), i_msg([b"abc"])],
        error="ReservedFlags", notes="libzmq ignores the reserved bits and delivers \"abc\" [observed].")
    g2 = greeting(3, 1, b"NULL", as_server=2)
    add("stream-greeting-as-server-2", "a greeting with as-server 2, then READY", ("GREET-08", "GREET-10"),
        "acceptable",
        g2 + cmd(b"READY"), [i_greeting(g2), i_cmd(j_ready([]))], error="InvalidAsServer")
    # invalid streams
    add("stream-empty", "no octets at all", ("GREET-01",), "invalid", b"", error="TruncatedGreeting")
    add("stream-ends-in-greeting", "the stream ends after 10 octets of greeting", ("GREET-01",), "invalid", g[:10],
        error="TruncatedGreeting")
    add("stream-bad-greeting", "an HTTP request instead of a greeting", ("GREET-02",), "invalid",
        b"GET / HTTP/1.1\r\n\r\n", error="BadSignatureStart",
        notes="The stream context expects a ZMTP 3.x greeting; a detecting peer would classify this as ZMTP 1.0 "
              "(detect-http-request).")
    add("stream-ends-in-frame-header", "the stream ends inside a long frame header", ("FRAME-01",), "invalid",
        g + cmd(b"READY") + b"\x02\x00\x00", error="TruncatedFrame")
    add("stream-ends-in-frame-body", "the stream ends inside a frame body", ("FRAME-01",), "invalid",
        g + cmd(b"READY") + b"\x00\x05ab", error="TruncatedFrame")
    add("stream-ends-in-message", "the stream ends after a frame with MORE", ("FRAME-11",), "invalid",
        g + cmd(b"READY") + msg(b"a", more=True) + msg(b"b", more=True), error="TruncatedMessage")
    add("stream-command-between-message-frames", "a PING between the two frames of a message",
        ("FRAME-15", "FRAME-16"), "acceptable" if COMMAND_IN_MESSAGE_ERROR else "valid",
        g + cmd(b"READY") + msg(b"a", more=True) + cmd(b"PING", u16(0)) + msg(b"b"),
        [i_greeting(g), i_cmd(j_ready([])), i_cmd(j_ping(0, b"")), i_msg([b"a", b"b"])], error=COMMAND_IN_MESSAGE_ERROR,
        notes="A sender MUST NOT do this (FRAME-15) and the grammar has no place for it (spec 15); a receiver MAY "
              "accept it, and then the command does not become part of the message (FRAME-16, spec 16.26). Both "
              "profiles of the reference codec accept it; a receiver that rejects it also conforms.")
    add("stream-ends-in-message-after-command",
        "a frame with MORE, then a PING command, then the end: the message is still unfinished",
        ("FRAME-11", "FRAME-16"), "invalid", g + cmd(b"READY") + msg(b"a", more=True) + cmd(b"PING", u16(0)),
        error="TruncatedMessage",
        notes="A command frame neither ends nor continues a multipart message; commands may not be "
              "interleaved with the frames of a message at all (traffic = *(command | message)).")
    add("stream-size-overflow", "a long size of 2^63 after the handshake", ("FRAME-05",), "invalid",
        g + cmd(b"READY") + frame(LONG, b"", size=1 << 63), error="SizeOverflow")
    add("stream-max-frame-size-ready", "max_frame_size 10 applies to the peer's READY too", ("FRAME-10", "FRAME-14"),
        "invalid",
        g + cmd(b"READY", props([(b"Socket-Type", b"PUB")])), error="FrameTooLarge", max_frame_size=10,
        notes="libzmq applies ZMQ_MAXMSGSIZE to handshake commands as well (D-06).")
    add("stream-max-frame-size-message", "max_frame_size 4: a 4-octet frame passes, a 5-octet frame fails",
        ("FRAME-10",), "invalid", g + cmd(b"READY") + msg(b"1234") + msg(b"12345"),
        error="FrameTooLarge", max_frame_size=4)
    add("stream-bad-ready-metadata", "a READY whose metadata overruns", ("META-05", "NULL-09"), "invalid",
        g + cmd(b"READY", b"\x0bSocket-Type\x00\x00"), error="PropertyValueOverrun")
    add("stream-ping-too-short", "a PING with one octet of data after the handshake", ("HB-06",), "invalid",
        g + cmd(b"READY") + cmd(b"PING", b"\x00"), error="PingTooShort")
    return f


# --------------------------------------------------------------------------------------------
# transcript.json
# --------------------------------------------------------------------------------------------

def gen_transcript():
    f = Family("transcript", "Both directions of a connection (context `transcript`): each direction "
               "decoded as a stream, and the pair judged as a handshake by inbound sessions.")

    def add(id, desc, reqs, result, segments, error=None, detected_by=None, notes=None, observed=None):
        items = {"client": [], "server": []}
        octets = {"client": b"", "server": b""}
        for side, data in segments:
            octets[side] += data
        for side in ("client", "server"):
            items[side] = stream_items(octets[side])
        f.add(id, desc, reqs, "transcript", result, transcript=segments, expected=items, error=error,
              detected_by=detected_by, notes=notes, observed=observed)

    null31 = greeting(3, 1, b"NULL")
    dealer, router = libzmq_ready_pairs("DEALER"), libzmq_ready_pairs("ROUTER")
    add("transcript-null-dealer-router", "NULL DEALER (client) to ROUTER (server): greetings, READYs, a request "
        "and a reply", ("NULL-03", "NULL-04", "META-07", "IDENT-07"), "valid",
        [("client", LIBZMQ_GREETING), ("server", LIBZMQ_GREETING),
         ("client", cmd(b"READY", props(dealer))), ("server", cmd(b"READY", props(router))),
         ("client", message_frames([b"", b"request"])), ("server", message_frames([b"", b"reply"]))],
        notes="Both sides send READY without waiting for the other's (libzmq, 23/ZMTP NULL-07).")
    pub, sub = libzmq_ready_pairs("PUB"), libzmq_ready_pairs("SUB")
    add("transcript-pub-sub-3-1", "SUB (client, 3.1) subscribes to \"AB\" with a SUBSCRIBE command; PUB publishes",
        ("SUBW-01", "SUBW-02", "SUBW-05"), "valid",
        [("client", null31), ("server", null31), ("client", cmd(b"READY", props(sub))),
         ("server", cmd(b"READY", props(pub))), ("client", cmd(b"SUBSCRIBE", b"AB")),
         ("server", message_frames([b"AB", b"payload"])), ("client", cmd(b"CANCEL", b"AB"))])
    null30 = greeting(3, 0, b"NULL")
    add("transcript-pub-sub-3-0", "SUB announcing 3.0 sends its subscription as a 0x01 message; PUB (3.1) publishes",
        ("SUBW-03", "SUBW-05", "VER-04"), "valid",
        [("client", null30), ("server", null31), ("client", cmd(b"READY", props(sub))),
         ("server", cmd(b"READY", props(pub))), ("client", msg(b"\x01AB")),
         ("server", message_frames([b"AB", b"payload"])), ("client", msg(b"\x00AB"))],
        notes="Which form a SUB uses depends on the lower of the two minor versions (SUBW-05).")
    plain_c, plain_s = greeting(3, 1, b"PLAIN", as_server=0), greeting(3, 1, b"PLAIN", as_server=1)
    add("transcript-plain-success", "PLAIN: HELLO, WELCOME, INITIATE, READY, then one message each way",
        ("PLAIN-06", "MECH-06"), "valid",
        [("client", plain_c), ("server", plain_s), ("client", cmd(b"HELLO", b"\x05admin\x06secret")),
         ("server", cmd(b"WELCOME")), ("client", cmd(b"INITIATE", props(dealer))),
         ("server", cmd(b"READY", props(router))), ("client", msg(b"ping")), ("server", msg(b"pong"))])
    add("transcript-plain-error", "PLAIN: the server refuses the HELLO with ERROR \"400\" and closes",
        ("PLAIN-07", "ERR-03", "ERR-05"), "valid",
        [("client", plain_c), ("server", plain_s), ("client", cmd(b"HELLO", b"\x05admin\x05wrong")),
         ("server", cmd(b"ERROR", b"\x03400"))],
        notes="A side that sent ERROR does not need the rest of the peer's handshake. libzmq's own PLAIN "
              "server sends a malformed ERROR instead (stream-plain-server-libzmq-error).")
    add("transcript-null-zap-denied", "NULL with ZAP denial: the server answers the client's READY with ERROR \"400\"",
        ("NULL-03", "ERR-05"), "valid",
        [("client", LIBZMQ_GREETING), ("server", LIBZMQ_GREETING), ("client", cmd(b"READY", props(dealer))),
         ("server", cmd(b"ERROR", b"\x03400"))], observed=OBS_435)
    curve_c, curve_s = greeting(3, 1, b"CURVE", as_server=0), greeting(3, 1, b"CURVE", as_server=1)
    hd, _ = curve_hello_data("t-hello")
    wd, _ = curve_welcome_data("t-welcome")
    idata, _ = curve_initiate_data("t-initiate", 164)
    rd, _ = curve_short_data(b"READY", "t-ready", 40)
    mc, _ = curve_short_data(b"MESSAGE", "t-message-c", 25)
    ms, _ = curve_short_data(b"MESSAGE", "t-message-s", 25)
    add("transcript-curve-layout", "CURVE handshake layouts (HELLO, WELCOME, INITIATE, READY) then a MESSAGE "
        "command each way; boxes are pseudo-random octets", ("CURVE-08", "CURVE-20"), "valid",
        [("client", curve_c), ("server", curve_s), ("client", cmd(b"HELLO", hd)), ("server", cmd(b"WELCOME", wd)),
         ("client", cmd(b"INITIATE", idata)), ("server", cmd(b"READY", rd)), ("client", cmd(b"MESSAGE", mc)),
         ("server", cmd(b"MESSAGE", ms))],
        notes="Layout only: nothing here is real cryptography. libzmq would send MESSAGE in message frames "
              "(transcript-curve-libzmq-message-frames).")
    add("transcript-curve-libzmq-message-frames", "CURVE handshake, then MESSAGE in message frames (flags 00) both "
        "ways, as libzmq sends it", ("CURVE-21",), "valid",
        [("client", curve_c), ("server", curve_s), ("client", cmd(b"HELLO", hd)), ("server", cmd(b"WELCOME", wd)),
         ("client", cmd(b"INITIATE", idata)), ("server", cmd(b"READY", rd)),
         ("client", frame(0, cmd_body(b"MESSAGE", mc))), ("server", frame(0, cmd_body(b"MESSAGE", ms)))],
        notes="A receiver MUST accept MESSAGE with COMMAND clear (CURVE-21, spec 16.25); the inbound session "
              "passes such a frame on as a one-frame message.")
    add("transcript-message-before-ready", "the client sends a message before its READY",
        ("NULL-05", "NULL-06"), "invalid",
        [("client", null31), ("server", null31), ("client", msg(b"too early")), ("server", cmd(b"READY", props(router)))],
        error="UnexpectedMessage", detected_by=["server"],
        notes="libzmq closes with ZMQ_PROTOCOL_ERROR_ZMTP_UNEXPECTED_COMMAND (D-07).")
    add("transcript-mechanism-mismatch", "client NULL, server PLAIN: each side sees the other's mechanism differ",
        ("MECH-02",), "invalid", [("client", null31), ("server", plain_s)], error="MechanismMismatch",
        detected_by=["client", "server"], notes="libzmq closes without ERROR and does not reconnect (D-07).")
    add("transcript-error-after-message", "the client sends a message, then ERROR", ("ERR-04",), "invalid",
        [("client", null31), ("server", null31), ("client", cmd(b"READY", props(dealer))),
         ("server", cmd(b"READY", props(router))), ("client", msg(b"data")), ("client", cmd(b"ERROR", b"\x03400"))],
        error="ErrorAfterMessage", detected_by=["server"],
        notes="ERROR ends a handshake; once a message frame has been sent it is too late to send one.")
    add("transcript-plain-out-of-order", "a PLAIN client sends INITIATE before HELLO", ("CMD-08", "PLAIN-06"),
        "invalid",
        [("client", plain_c), ("server", plain_s), ("client", cmd(b"INITIATE", props(dealer)))],
        error="UnexpectedCommand", detected_by=["server"])
    add("transcript-null-no-ready", "the client closes after its greeting: the handshake never completes",
        ("NULL-03", "MECH-08", "WIRE-01"), "invalid",
        [("client", null31), ("server", null31), ("server", cmd(b"READY", props(router)))],
        error="HandshakeIncomplete", detected_by=["server"])
    g_as1 = greeting(3, 1, b"NULL", as_server=1)
    add("transcript-null-as-server-1", "a NULL client announcing as-server 1", ("NULL-01", "NULL-02"), "acceptable",
        [("client", g_as1), ("server", null31), ("client", cmd(b"READY", props(dealer))),
         ("server", cmd(b"READY", props(router)))],
        error="AsServerMismatch", detected_by=["server"],
        notes="A NULL receiver MAY close on as-server 1 (NULL-02): Strict does, Lenient ignores it as libzmq does "
              "(D-09).")
    ready_msg = frame(0, cmd_body(b"READY", props(dealer)))
    add("transcript-ready-in-message-frame", "the client's READY arrives in a message frame (flags 00)",
        ("NULL-07", "FRAME-04"), READY_IN_MESSAGE_FRAME_RESULT,
        [("client", null31), ("server", null31), ("client", ready_msg), ("server", cmd(b"READY", props(router)))],
        error="UnexpectedMessage", detected_by=["server"],
        notes="Strict rejects it; Lenient accepts it as libzmq does, and the harness reports that as a divergence "
              "from NULL-07 (spec 16.17, D-07). The stream items show what the frame is on the wire: a message.")
    return f


def stream_items(octets):
    """The stream items of a well-formed direction (greeting + frames), computed from the octets
    by a small independent reader. Used for transcripts only (stream vectors spell them out)."""
    assert octets[0] == 0xFF and len(octets) >= 64
    g = octets[:64]
    items = [i_greeting(g)]
    mech = g[12:32].rstrip(b"\x00")
    pos, parts = 64, []
    while pos < len(octets):
        flags = octets[pos]
        if flags & LONG:
            (size,) = struct.unpack(">Q", octets[pos + 1:pos + 9])
            pos += 9
        else:
            size = octets[pos + 1]
            pos += 2
        body = octets[pos:pos + size]
        assert len(body) == size
        pos += size
        if flags & COMMAND:
            items.append(i_cmd(parse_command(body, mech)))
        else:
            parts.append(body)
            if not flags & MORE:
                items.append(i_msg(parts))
                parts = []
    assert not parts
    return items


def parse_command(body, mech):
    n = body[0]
    name, data = body[1:1 + n], body[1 + n:]
    if name == b"READY" and mech == b"CURVE":
        return {"command": "READY", "mechanism": "CURVE", "nonce": hx(data[:8]), "ciphertext": hx(data[8:])}
    if name == b"READY":
        pairs, p = [], 0
        while p < len(data):
            nl = data[p]
            pname = data[p + 1:p + 1 + nl]
            (vl,) = struct.unpack(">I", data[p + 1 + nl:p + 5 + nl])
            pairs.append((pname, data[p + 5 + nl:p + 5 + nl + vl]))
            p += 5 + nl + vl
        return j_ready(pairs)
    if name == b"ERROR":
        return j_error(data[1:1 + data[0]])
    if name in (b"SUBSCRIBE", b"CANCEL"):
        return j_topic(name.decode(), data)
    if mech == b"PLAIN":
        if name == b"HELLO":
            ul = data[0]
            return j_plain_hello(data[1:1 + ul], data[2 + ul:])
        if name == b"WELCOME":
            return j_plain_welcome()
        if name == b"INITIATE":
            ready = parse_command(cmd_body(b"READY", data), b"NULL")
            return {"command": "INITIATE", "mechanism": "PLAIN", "properties": ready["properties"]}
    if mech == b"CURVE":
        if name == b"HELLO":
            return {"command": "HELLO", "mechanism": "CURVE", "version": [data[0], data[1]], "padding": hx(data[2:74]),
                    "client_transient_key": hx(data[74:106]), "nonce": hx(data[106:114]),
                    "signature_box": hx(data[114:194])}
        if name == b"WELCOME":
            return {"command": "WELCOME", "mechanism": "CURVE", "nonce": hx(data[:16]), "ciphertext": hx(data[16:])}
        if name == b"INITIATE":
            return {"command": "INITIATE", "mechanism": "CURVE", "cookie": hx(data[:96]), "nonce": hx(data[96:104]),
                    "ciphertext": hx(data[104:])}
        if name == b"MESSAGE":
            return {"command": "MESSAGE", "mechanism": "CURVE", "nonce": hx(data[:8]), "ciphertext": hx(data[8:])}
    return j_unknown(name, data)


# --------------------------------------------------------------------------------------------
# Output
# --------------------------------------------------------------------------------------------

FAMILIES = [gen_greeting, gen_frame, gen_command, gen_metadata, gen_subscription, gen_stream, gen_transcript]


def render(doc):
    return json.dumps(doc, indent=2, ensure_ascii=True) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if any vector file would change")
    args = parser.parse_args()
    outputs = {}
    seen = set()
    for gen in FAMILIES:
        fam = gen()
        for v in fam.vectors:
            assert v["id"] not in seen, "duplicate id " + v["id"]
            seen.add(v["id"])
        outputs[os.path.join(HERE, fam.name + ".json")] = render(fam.document())
    stale = []
    for path, text in outputs.items():
        try:
            with open(path, encoding="utf-8") as fh:
                current = fh.read()
        except FileNotFoundError:
            current = None
        if current != text:
            stale.append(path)
            if not args.check:
                with open(path, "w", encoding="utf-8", newline="\n") as fh:
                    fh.write(text)
    if args.check:
        if stale:
            for path in stale:
                print("out of date: %s" % os.path.relpath(path), file=sys.stderr)
            print("run: python3 vectors/generate.py", file=sys.stderr)
            return 1
        return 0
    total = sum(len(json.loads(t)["vectors"]) for t in outputs.values())
    print("wrote %d files, %d vectors (%d changed)" % (len(outputs), total, len(stale)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
