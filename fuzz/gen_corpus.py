#!/usr/bin/env python3
"""Writes the seed corpus of every fuzz target from the golden vectors (vectors/*.json).

    python3 fuzz/gen_corpus.py            # writes fuzz/corpus/<target>/seed-*
    python3 fuzz/gen_corpus.py --out DIR  # writes DIR/<target>/seed-*

Deterministic and fast (standard library only, well under a second). Only files named
`seed-*` are written or removed, so what libFuzzer added to a corpus directory stays.
The control headers put in front of the octets are described in fuzz/src/lib.rs.
"""

import argparse
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
VECTORS = os.path.join(os.path.dirname(HERE), "vectors")
TARGETS = ["greeting", "stream_chunks", "command", "session", "roundtrip"]

# Must match MAX_FRAME_SIZES in fuzz/src/lib.rs.
MAX_FRAME_SIZES = [None, 0, 4, 10, 255, 256, 65535, 1 << 20]
MECHANISMS = {b"NULL": 0, b"PLAIN": 1, b"CURVE": 2}  # anything else: 3, the peer's own

# roundtrip cases (first octet, mod 8), see fuzz/fuzz_targets/roundtrip.rs
RT_GREETING, RT_FRAME, RT_COMMAND, RT_METADATA, RT_PROPERTIES, RT_SUBSCRIPTION, RT_STREAM, RT_RAW = range(8)


def load_vectors():
    out = []
    for name in sorted(os.listdir(VECTORS)):
        if not name.endswith(".json") or name == "schema.json":
            continue
        with open(os.path.join(VECTORS, name)) as f:
            out.extend(json.load(f)["vectors"])
    return out


def header(config, pattern):
    """Control header: config octet, k, k chunk sizes (k = 0: one octet at a time)."""
    assert len(pattern) < 8
    return bytes([config, len(pattern)] + list(pattern))


def max_index(vector):
    size = vector.get("max_frame_size")
    if size not in MAX_FRAME_SIZES:
        # Not selectable: the nearest smaller limit keeps the vector's verdict on its frames.
        size = max(s for s in MAX_FRAME_SIZES if s is not None and s <= size)
    return MAX_FRAME_SIZES.index(size)


def frame_body(octets):
    """The body of the frame at the start of `octets` (as much of it as is there)."""
    if not octets:
        return b""
    return octets[9:] if octets[0] & 0x02 else octets[2:]


def sides(vector):
    """Each side's octets of a transcript vector, concatenated."""
    out = {"client": b"", "server": b""}
    for seg in vector["transcript"]:
        out[seg["from"]] += bytes.fromhex(seg["hex"])
    return out


def mechanism_index(octets):
    return MECHANISMS.get(octets[12:32].rstrip(b"\x00"), 3)


def seeds(vectors):
    """Yields (target, name, octets)."""
    for v in vectors:
        ctx, vid = v["context"], v["id"]
        raw = bytes.fromhex(v["hex"]) if "hex" in v else None
        if ctx in ("greeting", "detect"):
            yield "greeting", vid, raw
            yield "roundtrip", vid, bytes([RT_GREETING]) + raw
        if ctx == "stream":
            m = max_index(v) << 2
            yield "stream_chunks", vid + "-strict", header(m, []) + raw
            yield "stream_chunks", vid + "-lenient", header(m | 1, [5, 64, 1]) + raw
            mech = mechanism_index(raw)
            for role, bit in (("client", 0x00), ("server", 0x20)):
                yield "session", f"{vid}-as-{role}", header(mech | m | bit, []) + raw
            yield "roundtrip", vid, bytes([RT_STREAM]) + raw
        if ctx in ("frame", "command", "subscription"):
            m = max_index(v) << 2
            yield "stream_chunks", vid + "-strict", header(m | 2, []) + raw
            yield "stream_chunks", vid + "-lenient", header(m | 3, [3, 0, 200]) + raw
            yield "command", vid + "-frame", raw
            yield "roundtrip", vid, bytes([RT_FRAME if ctx == "frame" else RT_SUBSCRIPTION]) + raw
        if ctx == "frame":
            yield "roundtrip", vid + "-raw", bytes([RT_RAW]) + raw
        if ctx == "command":
            body = frame_body(raw)
            yield "command", vid + "-body", body
            yield "roundtrip", vid + "-body", bytes([RT_COMMAND]) + body
        if ctx == "metadata":
            yield "command", vid, raw
            yield "command", vid + "-ready", bytes([5]) + b"READY" + raw
            yield "roundtrip", vid, bytes([RT_METADATA, 8]) + raw
            yield "roundtrip", vid + "-properties", bytes([RT_PROPERTIES]) + raw
        if ctx == "transcript":
            octets = sides(v)
            for sender, reader_role in (("client", 0x20), ("server", 0x00)):
                data = octets[sender]
                reader = octets["server" if sender == "client" else "client"]
                mech = mechanism_index(reader) if len(reader) >= 32 else 0
                if mech == 3 and reader[12:32] != data[12:32]:
                    mech = 0  # the reader's field is not selectable; the mismatch still shows
                yield "session", f"{vid}-{sender}-strict", header(mech | reader_role, []) + data
                yield "session", f"{vid}-{sender}-lenient", header(
                    mech | reader_role | 0x40, [7, 64]) + data
                yield "stream_chunks", f"{vid}-{sender}", header(0, [1, 9, 64]) + data


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=os.path.join(HERE, "corpus"))
    args = ap.parse_args()
    files = {t: {} for t in TARGETS}
    for target, name, octets in seeds(load_vectors()):
        files[target]["seed-" + name] = octets
    for target in TARGETS:
        d = os.path.join(args.out, target)
        os.makedirs(d, exist_ok=True)
        for old in os.listdir(d):
            if old.startswith("seed-") and old not in files[target]:
                os.remove(os.path.join(d, old))
        for name, octets in sorted(files[target].items()):
            path = os.path.join(d, name)
            try:
                with open(path, "rb") as f:
                    if f.read() == octets:
                        continue
            except FileNotFoundError:
                pass
            with open(path, "wb") as f:
                f.write(octets)
    summary = ", ".join(f"{t} {len(files[t])}" for t in TARGETS)
    print(f"seed corpus in {os.path.relpath(args.out)}: {summary}", file=sys.stderr)


if __name__ == "__main__":
    main()
