/**
 * Socket types and the driver's socket registry: handle -> zeromq.js socket + monitor.
 * @module sockets
 */
import * as zmq from "zeromq";
import { Failure, Unsupported } from "./errors.mjs";
import { Monitor } from "./monitor.mjs";

/** The classic socket types: name -> zeromq.js class. */
const CLASSIC = {
  PAIR: zmq.Pair,
  PUB: zmq.Publisher,
  SUB: zmq.Subscriber,
  REQ: zmq.Request,
  REP: zmq.Reply,
  DEALER: zmq.Dealer,
  ROUTER: zmq.Router,
  PULL: zmq.Pull,
  PUSH: zmq.Push,
  XPUB: zmq.XPublisher,
  XSUB: zmq.XSubscriber,
  STREAM: zmq.Stream,
};

/** The draft types (libzmq's draft API), when zeromq.js was built with it. */
const DRAFT = zmq.capability.draft ? await import("zeromq/draft.js") : null;
const DRAFT_TYPES = DRAFT
  ? {
      SERVER: DRAFT.Server,
      CLIENT: DRAFT.Client,
      RADIO: DRAFT.Radio,
      DISH: DRAFT.Dish,
      GATHER: DRAFT.Gather,
      SCATTER: DRAFT.Scatter,
    }
  : {};

/** name -> class of every type `socket` accepts. */
const TYPES = { ...CLASSIC, ...DRAFT_TYPES };

/** Names `hello` lists. */
export const SOCKET_TYPES = Object.keys(TYPES);

/** Whether the draft types (and `join`/`leave`) are available. */
export const HAS_DRAFT = DRAFT !== null;

/** One socket of the driver. */
export class Entry {
  /**
   * @param {string} handle
   * @param {string} type upper-case type name
   * @param {any} sock zeromq.js socket
   * @param {Monitor} monitor
   */
  constructor(handle, type, sock, monitor) {
    this.handle = handle;
    this.type = type;
    this.sock = sock;
    this.monitor = monitor;
    /** Set while a driver op waits inside zeromq.js on this socket (no touch then). */
    this.busy = false;
    /** The sndtimeo/rcvtimeo the harness set (zeromq.js waits with these options). */
    this.timeouts = { sndtimeo: -1, rcvtimeo: -1 };
  }
}

/** All sockets of the process; handles are never reused (DRV-30). */
export class Registry {
  /** @param {() => number} clock microseconds since start, for event times */
  constructor(clock) {
    this.clock = clock;
    /** @type {Map<string, Entry>} */
    this.open = new Map();
    /** Closed sockets whose monitor has not stopped yet (libzmq still lingers). */
    /** @type {Entry[]} */
    this.closed = [];
    this.next = 0;
  }

  /**
   * Creates a socket and starts its monitor at once.
   * @param {unknown} type
   * @returns {Entry}
   */
  create(type) {
    if (typeof type !== "string") throw new Failure("EINVAL", "type must be a socket type name");
    const Cls = Object.hasOwn(TYPES, type) ? TYPES[type] : undefined;
    if (!Cls) throw new Unsupported(`socket type ${JSON.stringify(type)} is not supported`);
    const sock = new Cls();
    const handle = `s${++this.next}`;
    const entry = new Entry(handle, type, sock, new Monitor(sock, this.clock));
    this.open.set(handle, entry);
    return entry;
  }

  /**
   * The socket a request names.
   * @param {any} req
   * @returns {Entry}
   */
  get(req) {
    if (typeof req.socket !== "string") {
      throw new Failure("EINVAL", "socket must be a socket handle (a string)");
    }
    const entry = this.open.get(req.socket);
    if (!entry) throw new Failure("ENOTSOCK", `no socket ${JSON.stringify(req.socket)}`);
    return entry;
  }

  /**
   * Closes a socket; libzmq lingers in the background, its monitor runs until it is gone.
   * @param {Entry} entry
   */
  close(entry) {
    this.open.delete(entry.handle);
    this.closed.push(entry);
    entry.sock.close();
  }

  /**
   * Calls into every idle socket (a ZMQ_EVENTS read), so libzmq processes its pending
   * commands, e.g. the subscriptions a bound SUB has to send (DRV-21).
   */
  touch() {
    for (const entry of this.open.values()) {
      if (!entry.busy && !entry.sock.closed) void entry.sock.readable;
    }
  }

  /** Closes every socket and resolves when libzmq has destroyed them all (LINGER done). */
  async closeAll() {
    for (const entry of [...this.open.values()]) this.close(entry);
    await Promise.all(this.closed.map((e) => e.monitor.ended));
  }
}
