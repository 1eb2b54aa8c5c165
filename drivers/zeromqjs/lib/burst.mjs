/**
 * The burst payload (spec/driver-protocol.md section 6): frame layout, classification of a
 * received message, and the drain accumulator. A port of `burst_frame`, `classify` and `Drain`
 * from drivers/pyzmq/driver.py.
 * @module burst
 */

/** The magic "ZTB1" that starts every burst header. */
export const MAGIC = Buffer.from("ZTB1");
/** Header length: magic 4 | seq u64 | index u16 | count u16 | topic_len u16 | 0 u16 | len u32. */
export const HDR = 24;
/** Longest topic a burst may carry. */
export const MAX_TOPIC = 1024;
/** Largest frame size a burst may ask for. */
export const MAX_SIZE = 16 << 20;

/**
 * Writes the padding: the octet at frame offset k is (k + seq) mod 256.
 * @param {Buffer} buf frame being built
 * @param {number} start first padding offset
 * @param {number} seq sequence number
 */
function fillPadding(buf, start, seq) {
  const phase = seq % 256;
  for (let k = start; k < buf.length; k++) buf[k] = (k + phase) & 0xff;
}

/**
 * Builds frame `index` of burst message `seq` (DRV-51..53).
 * @param {Buffer} topic topic at the start of frame 0
 * @param {number} seq sequence number
 * @param {number} index this frame's index
 * @param {number} count frames in the message
 * @param {number} size target frame length
 * @returns {Buffer}
 */
export function burstFrame(topic, seq, index, count, size) {
  const t = index === 0 ? topic : Buffer.alloc(0);
  const minimum = t.length + HDR;
  const buf = Buffer.alloc(Math.max(size, minimum));
  t.copy(buf, 0);
  let o = t.length;
  MAGIC.copy(buf, o);
  buf.writeBigUInt64BE(BigInt(seq), o + 4);
  buf.writeUInt16BE(index, o + 12);
  buf.writeUInt16BE(count, o + 14);
  buf.writeUInt16BE(t.length, o + 16);
  buf.writeUInt16BE(0, o + 18);
  buf.writeUInt32BE(buf.length, o + 20);
  fillPadding(buf, minimum, seq);
  return buf;
}

/**
 * Checks the padding of a received frame.
 * @param {Buffer} f frame
 * @param {number} start first padding offset
 * @param {number} seq sequence number
 * @returns {boolean}
 */
function paddingOk(f, start, seq) {
  const phase = seq % 256;
  for (let k = start; k < f.length; k++) if (f[k] !== ((k + phase) & 0xff)) return false;
  return true;
}

/**
 * Classifies a received message (DRV-54).
 * @param {Buffer[]} parts frames after the stripped prefix
 * @returns {{kind: "burst", seq: number, topic: Buffer} | {kind: "partial" | "malformed", seq: number} | {kind: "other"}}
 */
export function classify(parts) {
  if (parts.length === 0) return { kind: "other" };
  const f0 = parts[0];
  let t = -1;
  for (let o = 0; o <= Math.min(f0.length - HDR, MAX_TOPIC); o++) {
    if (f0.compare(MAGIC, 0, 4, o, o + 4) === 0 && f0.readUInt16BE(o + 16) === o) {
      t = o;
      break;
    }
  }
  if (t < 0) return { kind: "other" };
  const seq = Number(f0.readBigUInt64BE(t + 4));
  const count = f0.readUInt16BE(t + 14);
  if (parts.length !== count) return { kind: "partial", seq };
  for (let i = 0; i < parts.length; i++) {
    const f = parts[i];
    const tl = i === 0 ? t : 0;
    const bad =
      f.length < tl + HDR ||
      f.compare(MAGIC, 0, 4, tl, tl + 4) !== 0 ||
      Number(f.readBigUInt64BE(tl + 4)) !== seq ||
      f.readUInt16BE(tl + 12) !== i ||
      f.readUInt16BE(tl + 14) !== count ||
      f.readUInt16BE(tl + 16) !== tl ||
      f.readUInt16BE(tl + 18) !== 0 ||
      f.readUInt32BE(tl + 20) !== f.length ||
      !paddingOk(f, tl + HDR, seq);
    if (bad) return { kind: "malformed", seq };
  }
  return { kind: "burst", seq, topic: f0.subarray(0, t) };
}

/** Folds received messages into the drain report (DRV-44). */
export class Drain {
  /**
   * @param {number} strip frames to strip off the front of each message
   * @param {number} otherLimit how many "other" messages to return in full
   */
  constructor(strip, otherLimit) {
    this.strip = strip;
    this.otherLimit = otherLimit;
    this.seen = new Set();
    this.maxSeq = null;
    this.keysTruncated = false;
    this.burst = {
      count: 0,
      seq_runs: [],
      runs_truncated: false,
      duplicates: 0,
      regressions: 0,
      partial: 0,
      malformed: 0,
      bad_samples_hex: [],
      topics: {},
    };
    this.messages = 0;
    this.other = 0;
    this.otherHex = [];
    this.prefixes = {};
  }

  /**
   * Counts `key` in `map`, at most 64 distinct keys.
   * @param {Record<string, number>} map
   * @param {string} key
   */
  bump(map, key) {
    if (key in map || Object.keys(map).length < 64) map[key] = (map[key] ?? 0) + 1;
    else this.keysTruncated = true;
  }

  /**
   * Adds one received message.
   * @param {Buffer[]} parts all its frames
   */
  push(parts) {
    this.messages++;
    const b = this.burst;
    if (this.strip) {
      this.bump(
        this.prefixes,
        parts
          .slice(0, this.strip)
          .map((p) => p.toString("hex"))
          .join(","),
      );
    }
    const body = parts.slice(this.strip);
    const c = body.length || !this.strip ? classify(body) : { kind: "other" };
    if (c.kind === "burst") {
      const seq = c.seq;
      b.count++;
      this.bump(b.topics, c.topic.toString("hex"));
      if (this.seen.has(seq)) b.duplicates++;
      this.seen.add(seq);
      if (this.maxSeq !== null && seq <= this.maxSeq) b.regressions++;
      this.maxSeq = this.maxSeq === null ? seq : Math.max(this.maxSeq, seq);
      const runs = b.seq_runs;
      if (runs.length && runs[runs.length - 1][1] + 1 === seq) runs[runs.length - 1][1] = seq;
      else if (runs.length >= 10000) b.runs_truncated = true;
      else runs.push([seq, seq]);
    } else if (c.kind === "partial" || c.kind === "malformed") {
      b[c.kind]++;
      if (b.bad_samples_hex.length < 4) {
        b.bad_samples_hex.push(parts.map((p) => p.subarray(0, 256).toString("hex")));
      }
    } else {
      this.other++;
      if (this.otherHex.length < this.otherLimit) {
        this.otherHex.push(parts.map((p) => p.toString("hex")));
      }
    }
  }

  /**
   * The reply fields.
   * @param {string} stopped why the drain ended
   * @param {number} elapsedUs its duration
   */
  report(stopped, elapsedUs) {
    return {
      messages: this.messages,
      stopped,
      elapsed_us: elapsedUs,
      burst: this.burst,
      other: this.other,
      other_hex: this.otherHex,
      prefixes: this.prefixes,
      keys_truncated: this.keysTruncated,
    };
  }
}
