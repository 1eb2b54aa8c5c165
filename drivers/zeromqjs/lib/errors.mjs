/**
 * Failures a handler raises, and how a library error becomes an errno-style code (DRV-09).
 * @module errors
 */

/** The op, type, option or value is not supported: nothing happened (DRV-08). */
export class Unsupported extends Error {}

/** An error reply with an errno-style `code`. */
export class Failure extends Error {
  /**
   * @param {string} code errno name (EINVAL, ENOTSOCK, ...)
   * @param {string} message text for the reply
   */
  constructor(code, message) {
    super(message);
    this.code = code;
  }
}

/**
 * The errno name of an error thrown by zeromq.js (its `code` is already the name, e.g.
 * "EAGAIN"; libzmq-only errnos that Node does not know come as "Unknown error" with `errno`).
 * @param {any} e
 * @returns {string}
 */
export function errnoName(e) {
  if (typeof e?.code === "string" && /^E[A-Z0-9]+$/.test(e.code)) return e.code;
  const byNumber = {
    156384763: "EFSM",
    156384764: "ENOCOMPATPROTO",
    156384765: "ETERM",
    156384766: "EMTHREAD",
    156384713: "ENOTSUP",
    156384714: "EPROTONOSUPPORT",
    156384715: "ENOBUFS",
    156384716: "ENETDOWN",
    156384717: "EADDRINUSE",
    156384718: "EADDRNOTAVAIL",
    156384719: "ECONNREFUSED",
    156384720: "EINPROGRESS",
    156384721: "ENOTSOCK",
    156384722: "EMSGSIZE",
    156384723: "EAFNOSUPPORT",
    156384724: "ENETUNREACH",
    156384725: "ECONNABORTED",
    156384726: "ECONNRESET",
    156384727: "ENOTCONN",
    156384728: "ETIMEDOUT",
    156384729: "EHOSTUNREACH",
    156384730: "ENETRESET",
  };
  return byNumber[e?.errno] ?? "EDRIVER";
}
