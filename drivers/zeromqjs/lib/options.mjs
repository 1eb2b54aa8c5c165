/**
 * Socket options of the driver protocol (spec section 5): name -> kind and libzmq option number.
 * Values go to libzmq unchanged through zeromq.js's typed option calls (`setInt32Option`,
 * `setBoolOption`, `setInt64Option`, `setStringOption`), by number, so no zeromq.js property
 * logic (e.g. XPublisher's `verbosity`) sits in between.
 * @module options
 */
import { capability } from "zeromq";
import { Failure, Unsupported } from "./errors.mjs";

/** True when the bundled libzmq has CURVE (zmq_has("curve")), checked at run time. */
export const HAS_CURVE = Boolean(capability.curve);

/** @typedef {{kind: "int" | "bool" | "hex", id: number, width?: 64}} OptionSpec */

/** @type {Record<string, OptionSpec>} */
const TABLE = {
  sndhwm: { kind: "int", id: 23 },
  rcvhwm: { kind: "int", id: 24 },
  linger: { kind: "int", id: 17 },
  reconnect_ivl: { kind: "int", id: 18 },
  reconnect_ivl_max: { kind: "int", id: 21 },
  connect_timeout: { kind: "int", id: 79 },
  handshake_ivl: { kind: "int", id: 66 },
  heartbeat_ivl: { kind: "int", id: 75 },
  heartbeat_ttl: { kind: "int", id: 76 },
  heartbeat_timeout: { kind: "int", id: 77 },
  maxmsgsize: { kind: "int", id: 22, width: 64 },
  sndtimeo: { kind: "int", id: 28 },
  rcvtimeo: { kind: "int", id: 27 },
  sndbuf: { kind: "int", id: 11 },
  rcvbuf: { kind: "int", id: 12 },
  backlog: { kind: "int", id: 19 },
  tcp_keepalive: { kind: "int", id: 34 },
  tcp_keepalive_idle: { kind: "int", id: 36 },
  tcp_keepalive_cnt: { kind: "int", id: 35 },
  tcp_keepalive_intvl: { kind: "int", id: 37 },
  immediate: { kind: "bool", id: 39 },
  req_relaxed: { kind: "bool", id: 53 },
  req_correlate: { kind: "bool", id: 52 },
  router_mandatory: { kind: "bool", id: 33 },
  router_handover: { kind: "bool", id: 56 },
  xpub_nodrop: { kind: "bool", id: 69 },
  xpub_verbose: { kind: "bool", id: 40 },
  xpub_verboser: { kind: "bool", id: 78 },
  xpub_manual: { kind: "bool", id: 71 },
  invert_matching: { kind: "bool", id: 74 },
  probe_router: { kind: "bool", id: 51 },
  conflate: { kind: "bool", id: 54 },
  ipv6: { kind: "bool", id: 42 },
  plain_server: { kind: "bool", id: 44 },
  curve_server: { kind: "bool", id: 47 },
  subscribe: { kind: "hex", id: 6 },
  unsubscribe: { kind: "hex", id: 7 },
  routing_id: { kind: "hex", id: 5 },
  plain_username: { kind: "hex", id: 45 },
  plain_password: { kind: "hex", id: 46 },
  zap_domain: { kind: "hex", id: 55 },
  curve_publickey: { kind: "hex", id: 48 },
  curve_secretkey: { kind: "hex", id: 49 },
  curve_serverkey: { kind: "hex", id: 50 },
};

/** libzmq's option numbers of the send and receive timeouts (zeromq.js waits with them). */
export const SNDTIMEO = 28;
export const RCVTIMEO = 27;

/** Option names `hello` lists: the curve_* ones only with CURVE (DRV-56). */
export const OPTION_NAMES = Object.keys(TABLE)
  .filter((n) => HAS_CURVE || !n.startsWith("curve_"))
  .sort();

/**
 * Looks an option up.
 * @param {unknown} name
 * @returns {OptionSpec & {name: string}}
 */
export function optionSpec(name) {
  if (typeof name !== "string") throw new Failure("EINVAL", "option must be an option name");
  if (!OPTION_NAMES.includes(name)) {
    throw new Unsupported(`option ${JSON.stringify(name)} is not supported`);
  }
  return { name, ...TABLE[name] };
}

/**
 * Decodes a hex string (upper case accepted, DRV-10).
 * @param {unknown} v
 * @param {string} what field name for the error
 * @returns {Buffer}
 */
export function fromHex(v, what) {
  if (typeof v !== "string" || v.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(v)) {
    throw new Failure("EINVAL", `${what} must be a hex string`);
  }
  return Buffer.from(v, "hex");
}

/**
 * Sets an option on a zeromq.js socket, the value passed to libzmq unchanged.
 * @param {any} sock zeromq.js socket
 * @param {OptionSpec & {name: string}} spec
 * @param {unknown} value JSON value of the request
 */
export function setOption(sock, spec, value) {
  if (spec.kind === "hex") {
    sock.setStringOption(spec.id, fromHex(value, spec.name));
  } else if (spec.kind === "bool" && [true, false, 0, 1].includes(/** @type {any} */ (value))) {
    sock.setBoolOption(spec.id, Boolean(value));
  } else if (spec.kind === "int" && Number.isInteger(value) && typeof value === "number") {
    if (spec.width === 64) sock.setInt64Option(spec.id, value);
    else sock.setInt32Option(spec.id, value);
  } else {
    throw new Failure("EINVAL", `bad value for ${spec.name}: ${JSON.stringify(value)}`);
  }
}

/**
 * Reads an option back (DRV-34). zeromq.js reads string options as NUL-terminated text, so
 * binary (hex) options cannot be read faithfully: `unsupported`.
 * @param {any} sock zeromq.js socket
 * @param {OptionSpec & {name: string}} spec
 * @returns {number | boolean}
 */
export function getOption(sock, spec) {
  if (spec.kind === "hex") {
    throw new Unsupported(
      `zeromq.js reads ${spec.name} only as NUL-terminated text, not as octets`,
    );
  }
  if (spec.kind === "bool") return sock.getBoolOption(spec.id);
  return spec.width === 64 ? sock.getInt64Option(spec.id) : sock.getInt32Option(spec.id);
}
