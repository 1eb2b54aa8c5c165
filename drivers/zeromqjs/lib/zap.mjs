/**
 * The ZAP handler (RFC 27) of the `zap` op (DRV-48/49): a REP socket bound at
 * inproc://zeromq.zap.01 in zeromq.js's (shared) context, answered by its own async loop, so a
 * request is answered whenever the event loop runs, between and inside other ops.
 * @module zap
 */
import { Reply } from "zeromq";
import { Failure } from "./errors.mjs";
import { fromHex } from "./options.mjs";

/** Where libzmq sends ZAP requests. */
export const ZAP_ENDPOINT = "inproc://zeromq.zap.01";

/**
 * A credential field: `name` as UTF-8 text or `name_hex` as octets.
 * @param {any} cred
 * @param {string} name
 * @returns {Buffer}
 */
function textOrHex(cred, name) {
  if (cred[`${name}_hex`] != null) return fromHex(cred[`${name}_hex`], `${name}_hex`);
  if (typeof cred[name] === "string") return Buffer.from(cred[name], "utf8");
  throw new Failure("EINVAL", `a plain credential needs ${name} or ${name}_hex`);
}

/** What the handler accepts, and the counts of what it answered. */
export class ZapPolicy {
  /**
   * Validates the request's policy fields; throws EINVAL without side effects.
   * @param {any} req the `zap` request
   */
  constructor(req) {
    const plain = req.plain ?? [];
    if (!Array.isArray(plain) || !plain.every((c) => c && typeof c === "object")) {
      throw new Failure("EINVAL", "plain must be a list of {username, password}");
    }
    this.plain = plain.map((c) => [textOrHex(c, "username"), textOrHex(c, "password")]);
    const curve = req.curve;
    this.curveAny = curve === "any";
    if (curve == null || this.curveAny) {
      this.curveKeys = [];
    } else if (Array.isArray(curve)) {
      this.curveKeys = curve.map((k) => fromHex(k, "curve key"));
      if (this.curveKeys.some((k) => k.length !== 32)) {
        throw new Failure("EINVAL", "curve keys are 32 octets");
      }
    } else {
      throw new Failure("EINVAL", 'curve must be "any" or a list of keys');
    }
    this.null = Boolean(req.null);
    const texts = { 300: "Temporary failure", 400: "Invalid credentials", 500: "Internal error" };
    const status = req.refuse_status ?? "400";
    if (typeof status !== "string" || !(status in texts)) {
      throw new Failure("EINVAL", 'refuse_status must be "300", "400" or "500"');
    }
    this.refuse = [status, texts[status]];
    this.stats = { requests: 0, accepted: 0, refused: 0 };
  }

  /**
   * Status, status text and user id for one request.
   * @param {string} mech mechanism name
   * @param {Buffer[]} creds credential frames
   * @returns {[string, string, Buffer]}
   */
  decide(mech, creds) {
    if (mech === "NULL" && creds.length === 0 && this.null) return ["200", "OK", Buffer.alloc(0)];
    if (
      mech === "PLAIN" &&
      creds.length === 2 &&
      this.plain.some(([u, p]) => u.equals(creds[0]) && p.equals(creds[1]))
    ) {
      return ["200", "OK", creds[0]];
    }
    if (
      mech === "CURVE" &&
      creds.length === 1 &&
      creds[0].length === 32 &&
      (this.curveAny || this.curveKeys.some((k) => k.equals(creds[0])))
    ) {
      return ["200", "OK", Buffer.from(creds[0].toString("hex"))];
    }
    if (["NULL", "PLAIN", "CURVE"].includes(mech))
      return [this.refuse[0], this.refuse[1], Buffer.alloc(0)];
    return ["400", "Unsupported mechanism", Buffer.alloc(0)];
  }

  /**
   * The reply frames for one request.
   * @param {Buffer[]} req request frames
   * @param {(msg: string) => void} log
   * @returns {(string | Buffer)[]}
   */
  answer(req, log) {
    this.stats.requests++;
    const rid = req[1] ?? Buffer.alloc(0);
    const mech = req.length > 5 ? req[5].toString("latin1") : "";
    const [status, text, user] =
      req.length >= 6 && req[0].toString("latin1") === "1.0"
        ? this.decide(mech, req.slice(6))
        : ["500", "Malformed ZAP request", Buffer.alloc(0)];
    this.stats[status === "200" ? "accepted" : "refused"]++;
    log(
      `ZAP request ${rid.toString("hex")} mechanism ${JSON.stringify(mech)} -> ${status} ${text}`,
    );
    return ["1.0", rid, status, text, user, Buffer.alloc(0)];
  }
}

/** The installed handler: the REP socket and its current policy. */
export class ZapHandler {
  /**
   * Binds the REP socket and starts answering.
   * @param {ZapPolicy} policy
   * @param {(msg: string) => void} log
   */
  constructor(policy, log) {
    this.policy = policy;
    this.log = log;
    this.sock = new Reply({ linger: 0 }); // a driver-internal helper
    this.sock.bindSync(ZAP_ENDPOINT);
    this.done = this.serve();
  }

  /** Answers requests until the socket is closed. */
  async serve() {
    while (!this.sock.closed) {
      try {
        const req = await this.sock.receive();
        await this.sock.send(this.policy.answer(req, this.log));
      } catch (e) {
        if (!this.sock.closed) this.log(`ZAP handler: ${e.message}`);
        return;
      }
    }
  }

  /** Closes the handler's socket; libzmq then behaves as without a handler. */
  close() {
    this.sock.close();
  }
}
