/**
 * The driver's process-wide state: sockets, the ZAP handler, the signal flag, and a bounded
 * wait that a signal ends early.
 * @module state
 */
import { Registry } from "./sockets.mjs";

/** Everything the handlers share. */
export class State {
  constructor() {
    this.t0 = performance.now();
    this.sockets = new Registry(() => Math.round((performance.now() - this.t0) * 1000));
    /** @type {import("./zap.mjs").ZapHandler | null} */
    this.zap = null;
    /** Set by SIGINT/SIGTERM (DRV-22) and after `exit`. */
    this.stop = false;
    /** @type {(() => void)[]} */
    this.onStop = [];
  }

  /**
   * Logs a line on stderr (DRV-03).
   * @param {string} msg
   */
  log = (msg) => {
    process.stderr.write(`zeromqjs driver: ${msg}\n`);
  };

  /** Sets the stop flag and wakes every wait. */
  requestStop() {
    this.stop = true;
    for (const wake of this.onStop.splice(0)) wake();
  }

  /** Lets the event loop run I/O callbacks twice (pending monitor events, ZAP requests). */
  async turn() {
    for (let i = 0; i < 2; i++) await new Promise((resolve) => setImmediate(resolve));
  }

  /**
   * Waits for `promise`, at most until `deadline` (performance.now() value), and not past a
   * signal; the timer is cleared either way.
   * @param {Promise<unknown>} promise
   * @param {number} deadline
   */
  async waitUntil(promise, deadline) {
    const left = deadline - performance.now();
    if (left <= 0 || this.stop) return;
    let timer;
    let wake;
    try {
      await Promise.race([
        promise,
        new Promise((resolve) => {
          timer = setTimeout(resolve, left);
          wake = resolve;
          this.onStop.push(resolve);
        }),
      ]);
    } finally {
      clearTimeout(timer);
      const i = this.onStop.indexOf(wake);
      if (i >= 0) this.onStop.splice(i, 1);
    }
  }
}
