/**
 * Socket monitoring for the `events` op (DRV-45): zeromq.js's `socket.events` observer, read
 * from socket creation until libzmq's MONITOR_STOPPED, into a bounded buffer.
 * @module monitor
 */

/** Buffered events per socket; older ones are dropped and counted. */
const MAX_EVENTS = 10000;

/** zeromq.js event type -> the spec's (libzmq's) event name. */
const EVENT_NAMES = {
  connect: "connected",
  "connect:delay": "connect_delayed",
  "connect:retry": "connect_retried",
  bind: "listening",
  "bind:error": "bind_failed",
  accept: "accepted",
  "accept:error": "accept_failed",
  close: "closed",
  "close:error": "close_failed",
  disconnect: "disconnected",
  end: "monitor_stopped",
  "handshake:error:other": "handshake_failed_no_detail",
  handshake: "handshake_succeeded",
  "handshake:error:protocol": "handshake_failed_protocol",
  "handshake:error:auth": "handshake_failed_auth",
};

/** zeromq.js's names of libzmq's ZMQ_PROTOCOL_ERROR_* values, back to the numbers. */
const PROTOCOL_ERRORS = {
  ERR_ZMTP_UNSPECIFIED: 0x10000000,
  ERR_ZMTP_UNEXPECTED_COMMAND: 0x10000001,
  ERR_ZMTP_INVALID_SEQUENCE: 0x10000002,
  ERR_ZMTP_KEY_EXCHANGE: 0x10000003,
  ERR_ZMTP_MALFORMED_COMMAND_UNSPECIFIED: 0x10000011,
  ERR_ZMTP_MALFORMED_COMMAND_MESSAGE: 0x10000012,
  ERR_ZMTP_MALFORMED_COMMAND_HELLO: 0x10000013,
  ERR_ZMTP_MALFORMED_COMMAND_INITIATE: 0x10000014,
  ERR_ZMTP_MALFORMED_COMMAND_ERROR: 0x10000015,
  ERR_ZMTP_MALFORMED_COMMAND_READY: 0x10000016,
  ERR_ZMTP_MALFORMED_COMMAND_WELCOME: 0x10000017,
  ERR_ZMTP_INVALID_METADATA: 0x10000018,
  ERR_ZMTP_CRYPTOGRAPHIC: 0x11000001,
  ERR_ZMTP_MECHANISM_MISMATCH: 0x11000002,
  ERR_ZAP_UNSPECIFIED: 0x20000000,
  ERR_ZAP_MALFORMED_REPLY: 0x20000001,
  ERR_ZAP_BAD_REQUEST_ID: 0x20000002,
  ERR_ZAP_BAD_VERSION: 0x20000003,
  ERR_ZAP_INVALID_STATUS_CODE: 0x20000004,
  ERR_ZAP_INVALID_METADATA: 0x20000005,
};

/**
 * The event's value as libzmq reports it, as far as zeromq.js passes it on: the retry interval,
 * the errno, the protocol error number or the ZAP status; 0 for the file descriptor (zeromq.js
 * does not pass it on).
 * @param {any} ev zeromq.js event
 * @returns {number}
 */
function eventValue(ev) {
  if (typeof ev.interval === "number") return ev.interval;
  const err = ev.error;
  if (!err) return 0;
  if (typeof err.status === "number") return err.status;
  if (typeof err.code === "string" && err.code in PROTOCOL_ERRORS) return PROTOCOL_ERRORS[err.code];
  return typeof err.errno === "number" ? err.errno : 0;
}

/** The monitor of one socket. */
export class Monitor {
  /**
   * Starts reading `sock.events` at once, so no event is missed.
   * @param {any} sock zeromq.js socket
   * @param {() => number} clock microseconds since the driver started
   */
  constructor(sock, clock) {
    /** @type {{event: string, value: number, endpoint: string, at_us: number}[]} */
    this.events = [];
    this.dropped = 0;
    /** @type {(() => void)[]} */
    this.waiters = [];
    this.clock = clock;
    this.ended = this.read(sock.events);
  }

  /**
   * Reads the observer until libzmq stops the monitor (the socket is gone): the observer must
   * stay open that long, since libzmq sends monitor events with a blocking send.
   * @param {any} observer zeromq.js Observer
   */
  async read(observer) {
    while (!observer.closed) {
      let ev;
      try {
        ev = await observer.receive();
      } catch {
        break;
      }
      if (!ev) break;
      this.push({
        event: EVENT_NAMES[ev.type] ?? `event_${ev.type}`,
        value: eventValue(ev),
        endpoint: ev.address ?? "",
        at_us: this.clock(),
      });
    }
  }

  /** @param {{event: string, value: number, endpoint: string, at_us: number}} e */
  push(e) {
    if (this.events.length >= MAX_EVENTS) {
      this.events.shift();
      this.dropped++;
    }
    this.events.push(e);
    for (const w of this.waiters.splice(0)) w();
  }

  /**
   * Resolves when an event arrives (or at once if some are buffered).
   * @returns {Promise<void>}
   */
  next() {
    if (this.events.length) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Returns and forgets the buffered events. */
  take() {
    const out = { events: this.events, dropped: this.dropped };
    this.events = [];
    this.dropped = 0;
    return out;
  }
}
