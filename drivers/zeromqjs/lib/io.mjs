/**
 * Bounded sends and receives on zeromq.js's promise API. zeromq.js waits for a socket with
 * libzmq's SNDTIMEO/RCVTIMEO (it never calls a blocking zmq_send/zmq_recv, so these options
 * govern only its own wait); a pending send or receive cannot be cancelled. So the driver
 * waits in slices of at most SLICE_MS, each one a whole attempt that either takes the message
 * or fails with EAGAIN, and checks the deadline and the signal flag between slices (DRV-22).
 * @module io
 */
import { RCVTIMEO, SNDTIMEO } from "./options.mjs";

/** Longest single wait inside zeromq.js, in ms: the signal latency bound. */
export const SLICE_MS = 10;

/** Types whose receive yields [message, metadata] (routing id or group). */
const WITH_META = new Set(["SERVER", "DISH"]);

/**
 * The wait of the next slice, or null when the deadline has passed.
 * @param {number} deadline performance.now() value
 */
function slice(deadline) {
  const left = deadline - performance.now();
  return left <= 0 ? null : Math.min(SLICE_MS, Math.ceil(left));
}

/**
 * Sends one whole message.
 * @param {import("./sockets.mjs").Entry} entry
 * @param {Buffer[]} parts frames
 * @param {object | undefined} meta zeromq.js send options ({group} for RADIO, {routingId} for SERVER)
 * @param {{dontwait: boolean, deadline: number, state: {stop: boolean}}} how
 * @returns {Promise<"ok" | "would_block" | "timeout" | "interrupted">} or throws the library's error
 */
export async function sendMessage(entry, parts, meta, { dontwait, deadline, state }) {
  const { sock } = entry;
  if (typeof sock.send !== "function") throw noSuchCall(entry, "send");
  entry.busy = true;
  try {
    for (;;) {
      const wait = dontwait ? 0 : slice(deadline);
      if (wait === null) return "timeout";
      if (state.stop && !dontwait) return "interrupted";
      sock.setInt32Option(SNDTIMEO, wait);
      try {
        const msg = parts.length === 1 ? parts[0] : parts;
        await (meta === undefined ? sock.send(msg) : sock.send(msg, meta));
        return "ok";
      } catch (e) {
        if (e.code !== "EAGAIN") throw e;
        if (dontwait) return "would_block";
      }
    }
  } finally {
    entry.busy = false;
  }
}

/**
 * Receives one whole message.
 * @param {import("./sockets.mjs").Entry} entry
 * @param {number} deadline performance.now() value; a passed deadline still tries once
 * @param {{stop: boolean}} state
 * @returns {Promise<{parts: Buffer[], meta: any} | "timeout" | "interrupted">} or throws
 */
export async function receiveMessage(entry, deadline, state) {
  const { sock } = entry;
  if (typeof sock.receive !== "function") throw noSuchCall(entry, "receive");
  entry.busy = true;
  try {
    let first = true;
    for (;;) {
      let wait = slice(deadline);
      if (wait === null) {
        if (!first) return "timeout";
        wait = 0; // timeout_ms 0: only what is already there
      }
      if (state.stop) return "interrupted";
      first = false;
      sock.setInt32Option(RCVTIMEO, wait);
      try {
        const got = await sock.receive();
        if (WITH_META.has(entry.type)) return { parts: [got[0]], meta: got[1] };
        return { parts: got, meta: undefined };
      } catch (e) {
        if (e.code !== "EAGAIN") throw e;
      }
    }
  } finally {
    entry.busy = false;
  }
}

/**
 * zeromq.js gives send/receive only to the types that can use them; libzmq answers the others
 * with ENOTSUP, which is what the driver reports.
 * @param {import("./sockets.mjs").Entry} entry
 * @param {string} call
 */
function noSuchCall(entry, call) {
  const e = new Error(
    `a ${entry.type} socket cannot ${call} (zeromq.js has no ${call}() for it; libzmq: ENOTSUP)`,
  );
  /** @type {any} */ (e).code = "ENOTSUP";
  return e;
}
