#!/usr/bin/env node
/**
 * ZMTP conformance harness driver for zeromq.js (the `zeromq` npm package, libzmq 4.3.5 with
 * the draft API), spec/driver-protocol.md.
 *
 * JSON requests arrive one per line on stdin and are handled strictly in order by one async
 * loop; one JSON reply per line goes to stdout; logs go to stderr. Everything runs on Node's
 * one thread: the sockets, their monitors, the ZAP handler's loop and a 20 ms timer that calls
 * into every idle socket (DRV-21). SIGINT/SIGTERM only set a flag that ends every wait; on the
 * flag, on EOF and after `exit` every socket is closed (libzmq honours its LINGER), the driver
 * waits until libzmq has destroyed them, and the process exits 0 (zeromq.js terminates the
 * context at exit).
 */
import { Failure, Unsupported, errnoName } from "./lib/errors.mjs";
import { HANDLERS } from "./lib/ops.mjs";
import { State } from "./lib/state.mjs";
import * as zmq from "zeromq";

/** Idle period between two calls into every socket, in ms (DRV-21). */
const TICK_MS = 20;

/** Reads stdin as lines; `next()` resolves with a line, or null at EOF or on a signal. */
class LineReader {
  /** @param {State} st */
  constructor(st) {
    this.st = st;
    /** @type {string[]} */
    this.lines = [];
    this.buf = "";
    this.eof = false;
    /** @type {(() => void) | null} */
    this.wake = null;
    process.stdin.setEncoding("utf8");
    process.stdin.on("data", (chunk) => {
      this.buf += chunk;
      const parts = this.buf.split("\n");
      this.buf = parts.pop() ?? "";
      this.lines.push(...parts);
      this.poke();
    });
    process.stdin.on("end", () => {
      if (this.buf) this.lines.push(this.buf);
      this.buf = "";
      this.eof = true;
      this.poke();
    });
    st.onStopAlways = () => this.poke();
  }

  poke() {
    const w = this.wake;
    this.wake = null;
    w?.();
  }

  /** @returns {Promise<string | null>} */
  async next() {
    for (;;) {
      if (this.st.stop) return null;
      if (this.lines.length) return /** @type {string} */ (this.lines.shift());
      if (this.eof) return null;
      await new Promise((resolve) => (this.wake = resolve));
    }
  }

  close() {
    process.stdin.removeAllListeners("data");
    process.stdin.destroy();
  }
}

/**
 * Handles one request line.
 * @param {string} line
 * @param {State} st
 * @returns {Promise<{reply: object, exit: boolean}>}
 */
async function handle(line, st) {
  let req;
  try {
    req = JSON.parse(line);
  } catch (e) {
    return {
      reply: { id: null, result: "error", code: "EPROTO", message: String(e.message) },
      exit: false,
    };
  }
  const id = req?.id;
  if (
    typeof req !== "object" ||
    req === null ||
    Array.isArray(req) ||
    !Number.isInteger(id) ||
    id < 0 ||
    typeof req.op !== "string"
  ) {
    const message = "a request is an object with an integer id and a string op";
    return { reply: { id: null, result: "error", code: "EPROTO", message }, exit: false };
  }
  if (req.op === "exit") return { reply: { id, result: "ok" }, exit: true };
  const handler = Object.hasOwn(HANDLERS, req.op) ? HANDLERS[req.op] : undefined;
  if (!handler) {
    return {
      reply: { id, result: "unsupported", message: `unknown op ${JSON.stringify(req.op)}` },
      exit: false,
    };
  }
  let result = "ok";
  let fields;
  try {
    const out = await handler(req, st);
    if (Array.isArray(out)) [result, fields] = out;
    else fields = out;
  } catch (e) {
    if (e instanceof Unsupported) {
      result = "unsupported";
      fields = { message: e.message };
    } else if (e instanceof Failure) {
      result = "error";
      fields = { code: e.code, message: e.message };
    } else if (e instanceof TypeError || e instanceof RangeError) {
      result = "error";
      fields = { code: "EINVAL", message: `bad request: ${e.message}` };
    } else {
      result = "error";
      fields = { code: errnoName(e), message: String(e?.message ?? e) };
    }
  }
  return { reply: { ...fields, id, result }, exit: false };
}

async function main() {
  const st = new State();
  const onSignal = (/** @type {string} */ sig) => {
    st.log(`${sig}: stopping`);
    st.requestStop();
    st.onStopAlways?.();
  };
  // the harness went away (EPIPE on stdout): shut down like on EOF
  process.stdout.on("error", () => onSignal("stdout closed"));
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  st.log(
    `zeromq.js ${HANDLERS.hello({}, st).binding_version}, libzmq ${zmq.version}, pid ${process.pid}`,
  );

  const reader = new LineReader(st);
  const ticker = setInterval(() => st.sockets.touch(), TICK_MS);
  for (;;) {
    const raw = await reader.next();
    if (raw === null) break;
    const line = raw.endsWith("\r") ? raw.slice(0, -1) : raw;
    if (!line.trim()) continue;
    const { reply, exit } = await handle(line, st);
    process.stdout.write(`${JSON.stringify(reply)}\n`);
    if (exit) break;
  }
  st.log(
    st.stop
      ? "signal: shutting down"
      : reader.eof
        ? "EOF on stdin: shutting down"
        : "exit: shutting down",
  );
  reader.close();
  clearInterval(ticker);
  st.zap?.close();
  await st.sockets.closeAll();
  st.log("every socket closed; terminating the context");
  process.exitCode = 0;
}

await main();
