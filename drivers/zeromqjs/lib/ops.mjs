/**
 * The ops of the driver protocol (spec section 4), one handler each, looked up in a map.
 * A handler takes the request and the driver state and returns the reply's fields (result
 * `ok`) or `[result, fields]`; it throws Unsupported or Failure for the other results.
 * @module ops
 */
import { createRequire } from "node:module";
import * as zmq from "zeromq";
import { Drain, MAGIC, MAX_SIZE, MAX_TOPIC, burstFrame } from "./burst.mjs";
import { Failure, Unsupported } from "./errors.mjs";
import { receiveMessage, sendMessage } from "./io.mjs";
import { HAS_CURVE, OPTION_NAMES, fromHex, getOption, optionSpec, setOption } from "./options.mjs";
import { HAS_DRAFT, SOCKET_TYPES } from "./sockets.mjs";
import { ZapHandler, ZapPolicy } from "./zap.mjs";

const BINDING_VERSION = createRequire(import.meta.url)("zeromq/package.json").version;

/** The driver's own version. */
export const DRIVER_VERSION = "0.1.0";

/** @typedef {import("./state.mjs").State} State */
/** @typedef {(req: any, st: State) => Promise<object | [string, object]> | object | [string, object]} Handler */

/**
 * A non-negative integer field (DRV-11: an ill-typed field is EINVAL).
 * @param {any} req
 * @param {string} name
 * @param {number} [dflt] default when absent; without one the field is required
 * @returns {number}
 */
export function uint(req, name, dflt) {
  const v = req[name] ?? dflt;
  if (!Number.isSafeInteger(v) || v < 0) {
    throw new Failure("EINVAL", `${name} must be a non-negative integer, not ${JSON.stringify(v)}`);
  }
  return v;
}

/**
 * A request's timeout field as a deadline (performance.now() value).
 * @param {any} req
 * @param {string} field
 * @param {number} dflt default in ms
 */
function deadlineOf(req, field, dflt) {
  return performance.now() + uint(req, field, dflt);
}

/**
 * The zeromq.js send options of a message: RADIO needs a group (empty when the request gives
 * none, as libzmq's message group is by default), SERVER a routing id.
 * @param {import("./sockets.mjs").Entry} entry
 * @param {any} req
 */
function sendMeta(entry, req) {
  if (entry.type === "RADIO")
    return { group: req.group_hex == null ? "" : fromHex(req.group_hex, "group_hex") };
  if (entry.type === "SERVER") {
    // an integer, or its decimal text (a scenario's saved `${r.routing_id}` arrives as text)
    const id =
      typeof req.routing_id === "string" && /^[0-9]+$/.test(req.routing_id)
        ? Number(req.routing_id)
        : req.routing_id;
    if (!Number.isInteger(id) || id < 0 || id > 0xffffffff) {
      throw new Failure(
        "EINVAL",
        "a SERVER send needs routing_id (the integer a SERVER recv reported)",
      );
    }
    return { routingId: id };
  }
  return undefined;
}

/**
 * Decodes `parts_hex` (at least one frame).
 * @param {unknown} list
 * @param {string} what
 * @returns {Buffer[]}
 */
function framesOf(list, what) {
  if (!Array.isArray(list)) throw new Failure("EINVAL", `${what} must be a list of hex strings`);
  return list.map((p) => fromHex(p, what));
}

/**
 * bind/connect/disconnect/unbind: the endpoint field.
 * @param {any} req
 * @returns {string}
 */
function endpointOf(req) {
  if (typeof req.endpoint !== "string") throw new Failure("EINVAL", "endpoint must be a string");
  return req.endpoint;
}

/** @type {Record<string, Handler>} */
export const HANDLERS = {
  hello(_req, _st) {
    return {
      implementation: "zeromqjs",
      version: DRIVER_VERSION,
      library: "libzmq",
      library_version: zmq.version,
      binding: "zeromq.js",
      binding_version: BINDING_VERSION,
      protocol_version: 1,
      socket_types: SOCKET_TYPES,
      options: OPTION_NAMES,
      mechanisms: ["NULL", "PLAIN", ...(HAS_CURVE ? ["CURVE"] : [])],
      zmtp: ["3.0", "3.1"],
      ops: OPS,
      notes: [
        "libzmq 4.3.5 with the draft API (prebuilt in the zeromq npm package); options are passed to libzmq unchanged by number; no library default is changed",
        "zeromq.js sends whole messages only: send_part is unsupported",
        "zeromq.js waits for a socket with libzmq's SNDTIMEO/RCVTIMEO: the driver sets them per wait slice (at most 10 ms); getsockopt of sndtimeo/rcvtimeo returns what the harness set",
        "recv on a SERVER adds routing_id (integer), on a DISH group_hex; send on a SERVER needs routing_id; send on a RADIO takes group_hex (empty group if absent)",
        "groups go through libzmq's C-string API (zmq_join, zmq_msg_set_group): a group is cut at its first 0x00 octet",
        "events: value is 0 where libzmq reports a file descriptor (zeromq.js does not pass it on)",
        "a PLAIN server authenticates only through ZAP (op zap); a CURVE server without a ZAP handler accepts every client key",
      ],
    };
  },

  socket(req, st) {
    return { socket: st.sockets.create(req.type).handle };
  },

  setsockopt(req, st) {
    const entry = st.sockets.get(req);
    const spec = optionSpec(req.option);
    setOption(entry.sock, spec, req.value);
    if (spec.name === "sndtimeo" || spec.name === "rcvtimeo") entry.timeouts[spec.name] = req.value;
    return {};
  },

  getsockopt(req, st) {
    const entry = st.sockets.get(req);
    const spec = optionSpec(req.option);
    if (spec.name === "sndtimeo" || spec.name === "rcvtimeo")
      return { value: entry.timeouts[spec.name] };
    return { value: getOption(entry.sock, spec) };
  },

  bind(req, st) {
    // bindSync: zeromq.js's bind() runs zmq_bind on a libuv worker thread
    const entry = st.sockets.get(req);
    entry.sock.bindSync(endpointOf(req));
    return { endpoint: entry.sock.lastEndpoint };
  },

  connect(req, st) {
    st.sockets.get(req).sock.connect(endpointOf(req));
    return {};
  },

  disconnect(req, st) {
    st.sockets.get(req).sock.disconnect(endpointOf(req));
    return {};
  },

  async unbind(req, st) {
    // zeromq.js 6.8.0 registers unbindSync as bindSync, so the async unbind() it is: it runs
    // zmq_unbind on a libuv worker thread; the socket is marked busy meanwhile, so the idle
    // timer does not call into it from this thread at the same time.
    const entry = st.sockets.get(req);
    const endpoint = endpointOf(req);
    entry.busy = true;
    try {
      await entry.sock.unbind(endpoint);
    } finally {
      entry.busy = false;
    }
    return {};
  },

  async send(req, st) {
    const entry = st.sockets.get(req);
    const parts = framesOf(req.parts_hex, "parts_hex");
    if (parts.length === 0) throw new Failure("EINVAL", "parts_hex must not be empty");
    const dontwait = Boolean(req.dontwait);
    const deadline = deadlineOf(req, "timeout_ms", 1000);
    const r = await sendMessage(entry, parts, sendMeta(entry, req), {
      dontwait,
      deadline,
      state: st,
    });
    return r === "ok" ? {} : [r === "interrupted" ? "timeout" : r, {}];
  },

  send_part() {
    throw new Unsupported(
      "zeromq.js sends whole messages only (no frame-at-a-time send with SNDMORE)",
    );
  },

  async send_burst(req, st) {
    const entry = st.sockets.get(req);
    const topic = fromHex(req.topic_hex ?? "", "topic_hex");
    const prefix = framesOf(req.prefix_hex ?? [], "prefix_hex");
    const size = uint(req, "size", 0);
    const nparts = uint(req, "parts", 1);
    const count = uint(req, "count");
    const first = uint(req, "first_seq", 0);
    if (
      nparts < 1 ||
      nparts > 1024 ||
      size > MAX_SIZE ||
      topic.length > MAX_TOPIC ||
      topic.includes(MAGIC)
    ) {
      throw new Failure("EINVAL", "bad burst parameters");
    }
    const meta = sendMeta(entry, req);
    const dontwait = Boolean(req.dontwait);
    const stopOnWb = req.stop_on_would_block ?? true;
    const start = performance.now();
    const deadline = deadlineOf(req, "timeout_ms", 10000);
    const r = {
      accepted: 0,
      would_block: 0,
      errors: 0,
      first_error: null,
      first_would_block_seq: null,
      last_accepted_seq: null,
      stopped: "complete",
      max_send_us: 0,
      waited: 0,
    };
    for (let seq = first; seq < first + count; seq++) {
      if (st.stop) {
        r.stopped = "interrupted";
        break;
      }
      const parts = [...prefix];
      for (let i = 0; i < nparts; i++) parts.push(burstFrame(topic, seq, i, nparts, size));
      const t = performance.now();
      let out;
      try {
        // One attempt with SNDTIMEO 0 first: EAGAIN there means the send waited (DRV-71).
        out = await sendMessage(entry, parts, meta, { dontwait: true, deadline, state: st });
        if (out === "would_block" && !dontwait) {
          r.waited++;
          out = await sendMessage(entry, parts, meta, { dontwait, deadline, state: st });
        }
      } catch (e) {
        r.errors++;
        r.first_error = { seq, code: e.code ?? "EDRIVER", message: e.message };
        r.stopped = "error";
        break;
      } finally {
        r.max_send_us = Math.max(r.max_send_us, Math.round((performance.now() - t) * 1000));
      }
      if (out === "ok") {
        r.accepted++;
        r.last_accepted_seq = seq;
      } else if (out === "would_block") {
        r.would_block++;
        r.first_would_block_seq ??= seq;
        if (stopOnWb || performance.now() >= deadline) {
          r.stopped = stopOnWb ? "would_block" : "timeout";
          break;
        }
      } else {
        r.stopped = out; // "timeout" or "interrupted"
        break;
      }
    }
    return { ...r, elapsed_us: Math.round((performance.now() - start) * 1000) };
  },

  async recv(req, st) {
    const entry = st.sockets.get(req);
    const got = await receiveMessage(entry, deadlineOf(req, "timeout_ms", 1000), st);
    if (typeof got === "string") return ["timeout", {}];
    const out = { parts_hex: got.parts.map((p) => p.toString("hex")) };
    if (entry.type === "SERVER") out.routing_id = got.meta.routingId;
    if (entry.type === "DISH") out.group_hex = got.meta.group.toString("hex");
    return out;
  },

  async drain(req, st) {
    const entry = st.sockets.get(req);
    const start = performance.now();
    let last = start;
    const deadline = deadlineOf(req, "timeout_ms", 5000);
    const quiet = uint(req, "quiet_ms", 200);
    const max = req.max_messages == null ? Infinity : uint(req, "max_messages");
    const acc = new Drain(uint(req, "strip_prefix", 0), uint(req, "other_limit", 16));
    let stopped;
    for (;;) {
      const now = performance.now();
      const until = Math.min(deadline, last + quiet);
      if (st.stop) stopped = "interrupted";
      else if (acc.messages >= max) stopped = "max_messages";
      else if (now >= deadline) stopped = "timeout";
      else if (now >= until) stopped = "quiet";
      if (stopped) break;
      const got = await receiveMessage(entry, until, st);
      if (typeof got !== "string") {
        acc.push(got.parts);
        last = performance.now();
      }
    }
    const rep = acc.report(stopped, Math.round((performance.now() - start) * 1000));
    return [acc.messages ? "ok" : "timeout", rep];
  },

  async echo(req, st) {
    const entry = st.sockets.get(req);
    const count = uint(req, "count");
    if (count < 1 || count > 1_000_000) throw new Failure("EINVAL", "count must be 1..1000000");
    const start = performance.now();
    const deadline = deadlineOf(req, "timeout_ms", 10000);
    const r = { served: 0, stopped: "complete", first_error: null };
    while (r.served < count) {
      try {
        const got = await receiveMessage(entry, deadline, st);
        const out =
          typeof got === "string"
            ? got
            : await sendMessage(entry, got.parts, undefined, {
                dontwait: false,
                deadline,
                state: st,
              });
        if (out !== "ok") {
          r.stopped = st.stop ? "interrupted" : "timeout";
          break;
        }
      } catch (e) {
        r.first_error = { code: e.code ?? "EDRIVER", message: e.message };
        r.stopped = "error";
        break;
      }
      r.served++;
    }
    return roundTripReply(r.served, {
      ...r,
      elapsed_us: Math.round((performance.now() - start) * 1000),
    });
  },

  async ping_pong(req, st) {
    const entry = st.sockets.get(req);
    const count = uint(req, "count");
    const size = uint(req, "size", 0);
    if (count < 1 || count > 100_000 || size > 16 << 20) {
      throw new Failure("EINVAL", "count must be 1..100000 and size at most 16 MiB");
    }
    const base = Buffer.alloc(size + 256);
    for (let k = 0; k < base.length; k++) base[k] = k & 0xff;
    const start = performance.now();
    const deadline = deadlineOf(req, "timeout_ms", 10000);
    const how = { dontwait: false, deadline, state: st };
    const r = {
      round_trips: 0,
      rtt_ns: [],
      mismatched: 0,
      stopped: "complete",
      first_error: null,
    };
    for (let i = 0; i < count; i++) {
      if (st.stop || performance.now() >= deadline) {
        r.stopped = st.stop ? "interrupted" : "timeout";
        break;
      }
      const payload = Buffer.from(base.subarray(i % 256, (i % 256) + size));
      let got;
      const t = process.hrtime.bigint();
      try {
        const sent = await sendMessage(entry, [payload], undefined, how);
        got = sent === "ok" ? await receiveMessage(entry, deadline, st) : sent;
      } catch (e) {
        r.first_error = { code: e.code ?? "EDRIVER", message: e.message };
        r.stopped = "error";
        break;
      }
      const rtt = process.hrtime.bigint() - t;
      if (typeof got === "string") {
        r.stopped = st.stop ? "interrupted" : "timeout";
        break;
      }
      r.rtt_ns.push(Number(rtt));
      r.round_trips++;
      if (got.parts.length !== 1 || !got.parts[0].equals(payload)) r.mismatched++;
    }
    return roundTripReply(r.round_trips, {
      ...r,
      elapsed_us: Math.round((performance.now() - start) * 1000),
    });
  },

  async events(req, st) {
    const entry = st.sockets.get(req);
    const deadline = deadlineOf(req, "timeout_ms", 0);
    await st.turn(); // let the observer deliver what libzmq has already queued
    if (!entry.monitor.events.length) await st.waitUntil(entry.monitor.next(), deadline);
    const got = entry.monitor.take();
    return [got.events.length ? "ok" : "timeout", got];
  },

  close(req, st) {
    const entry = st.sockets.get(req);
    if (req.linger_ms != null) {
      if (!Number.isInteger(req.linger_ms))
        throw new Failure("EINVAL", "linger_ms must be an integer");
      entry.sock.setInt32Option(17, req.linger_ms);
    }
    const t = performance.now();
    st.sockets.close(entry);
    return { elapsed_ms: Math.round(performance.now() - t) };
  },

  join(req, st) {
    return groupOp(req, st, "join");
  },

  leave(req, st) {
    return groupOp(req, st, "leave");
  },

  zap(req, st) {
    const old = st.zap ? st.zap.policy.stats : { requests: 0, accepted: 0, refused: 0 };
    const replaced = st.zap !== null;
    if (req.remove) {
      st.zap?.close();
      st.zap = null;
      return { ...old, replaced };
    }
    const policy = new ZapPolicy(req);
    if (st.zap) st.zap.policy = policy;
    else st.zap = new ZapHandler(policy, st.log);
    return { ...old, replaced };
  },
};

/**
 * The reply of echo and ping_pong: ok once something was done, error when a library error
 * stopped the op before that, else timeout (DRV-69, DRV-70).
 * @param {number} done requests served or round trips completed
 * @param {{first_error: {code: string, message: string} | null}} report
 */
function roundTripReply(done, report) {
  if (done > 0) return report;
  if (report.first_error) throw new Failure(report.first_error.code, report.first_error.message);
  return ["timeout", report];
}

/**
 * join/leave on a DISH (zmq_join / zmq_leave, DRV-65).
 * @param {any} req
 * @param {State} st
 * @param {"join" | "leave"} call
 */
function groupOp(req, st, call) {
  if (!HAS_DRAFT) throw new Unsupported("this libzmq has no draft API (no RADIO/DISH)");
  const entry = st.sockets.get(req);
  const group = fromHex(req.group_hex, "group_hex");
  if (typeof entry.sock[call] !== "function") {
    throw new Failure("ENOTSUP", `a ${entry.type} socket cannot ${call} (libzmq: ENOTSUP)`);
  }
  entry.sock[call](group);
  return {};
}

/** Ops `hello` lists: every handler but the unsupported ones. */
export const OPS = [
  "exit",
  ...Object.keys(HANDLERS).filter(
    (op) => op !== "send_part" && (HAS_DRAFT || !["join", "leave"].includes(op)),
  ),
];
