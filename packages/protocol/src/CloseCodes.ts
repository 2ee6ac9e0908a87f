/**
 * WebSocket close codes used by SocketCluster v14 and their sc-errors texts
 * (spec protocol.md §11.2–§11.4).
 *
 * @since 0.1.0
 */

/**
 * Named close codes (spec §11.4).
 *
 * @since 0.1.0
 */
export const CloseCode = {
  /** Normal closure; default of `disconnect()`; raises no `SocketProtocolError`. */
  Normal: 1000,
  /** Going away; raises no `SocketProtocolError`. */
  GoingAway: 1001,
  ProtocolError: 1002,
  InvalidData: 1003,
  /** A close frame without a code (never sent in a frame). */
  NoStatus: 1005,
  /** The connection died without a close frame (never sent in a frame). */
  HungUp: 1006,
  InvalidFormat: 1007,
  PolicyViolation: 1008,
  MessageTooBig: 1009,
  MissingExtension: 1010,
  InternalError: 1011,
  /** Client side: no `#1` within `pingTimeout`. */
  PingTimeout: 4000,
  /** Server side: no inbound message within `pingTimeout`. */
  PongTimeout: 4001,
  /** Server side: `setAuthToken` signing failed. */
  FailedToSignToken: 4002,
  /** Client side: handshake answer was an error without `data.code`, or timed out. */
  HandshakeFailed: 4003,
  /** Defined only; unused by v14. */
  FailedToSaveToken: 4004,
  /** Server side: no `#handshake` within `handshakeTimeout`. */
  HandshakeTimeout: 4005,
  /** Defined only; unused by the v14 server. */
  FailedToBindBroker: 4006,
  /** Client side: `connectTimeout` before the WebSocket opened. */
  ConnectTimeout: 4007,
  /** Server side: default `handshakeSC` rejection code. */
  HandshakeRejected: 4008,
  /** Server side (`strictHandshake`): first message was not a `#handshake`. */
  MessageBeforeHandshake: 4009,
  /** First application code after which the client reconnects with back-off. */
  ApplicationReconnectFirst: 4100,
  /** First application code after which the client does not reconnect. */
  ApplicationNoReconnectFirst: 4500
} as const

/** @since 0.1.0 */
export type CloseCode = (typeof CloseCode)[keyof typeof CloseCode]

/**
 * sc-errors `socketProtocolErrorStatuses`: the `SocketProtocolError` message per code.
 *
 * @since 0.1.0
 */
export const closeCodeMessages: Readonly<Record<number, string>> = {
  1001: "Socket was disconnected",
  1002: "A WebSocket protocol error was encountered",
  1003: "Server terminated socket because it received invalid data",
  1005: "Socket closed without status code",
  1006: "Socket hung up",
  1007: "Message format was incorrect",
  1008: "Encountered a policy violation",
  1009: "Message was too big to process",
  1010: "Client ended the connection because the server did not comply with extension requirements",
  1011: "Server encountered an unexpected fatal condition",
  4000: "Server ping timed out",
  4001: "Client pong timed out",
  4002: "Server failed to sign auth token",
  4003: "Failed to complete handshake",
  4004: "Client failed to save auth token",
  4005: "Did not receive #handshake from client before timeout",
  4006: "Failed to bind socket to message broker",
  4007: "Client connection establishment timed out",
  4008: "Server rejected handshake from client",
  4009: "Server received a message before the client handshake"
}

/**
 * The sc-errors text for a close code, if it has one.
 *
 * @since 0.1.0
 */
export const closeCodeMessage = (code: number): string | undefined =>
  Object.hasOwn(closeCodeMessages, code) ? closeCodeMessages[code] : undefined

/**
 * Codes after which v14 raises no `SocketProtocolError` (sc-errors `socketProtocolIgnoreStatuses`).
 *
 * @since 0.1.0
 */
export const isIgnoredCloseCode = (code: unknown): boolean => code === 1000 || code === 1001

/**
 * The message of the `SocketProtocolError` a close raises (spec §11.3 step 4): the table
 * text, else `Socket connection closed with status code <code>` plus ` and reason: <data>`
 * when data is truthy (objects JSON-stringified).
 *
 * @example
 * ```ts
 * socketProtocolErrorMessage(4001)             // "Client pong timed out"
 * socketProtocolErrorMessage(4501, { a: 1 })   // 'Socket connection closed with status code 4501 and reason: {"a":1}'
 * ```
 * @since 0.1.0
 */
export const socketProtocolErrorMessage = (code: number, data?: unknown): string => {
  const known = closeCodeMessage(code)
  if (known !== undefined) return known
  let message = `Socket connection closed with status code ${code}`
  // v14 tests the reason for truthiness: 0, false and "" add nothing.
  if (data) {
    message += ` and reason: ${typeof data === "object" ? safeStringify(data) : String(data)}`
  }
  return message
}

const safeStringify = (data: object): string => {
  try {
    return JSON.stringify(data) ?? String(data)
  } catch {
    return String(data)
  }
}

/**
 * Whether a code may be put in a close frame (spec §11.2): an integer in 1000–1003,
 * 1007–1014 or 3000–4999. Others (1004–1006, 1015, non-integers) make `ws` throw.
 *
 * @since 0.1.0
 */
export const isSendableCloseCode = (code: unknown): code is number =>
  typeof code === "number" &&
  Number.isInteger(code) &&
  ((code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) || (code >= 3000 && code <= 4999))

/**
 * Whether the real client reconnects after this code without back-off (4000, 4001, 1005).
 *
 * @since 0.1.0
 */
export const isImmediateReconnectCode = (code: number): boolean => code === 4000 || code === 4001 || code === 1005

/**
 * Most UTF-8 bytes a WebSocket close frame's reason can hold (RFC 6455 §5.5: 125 bytes
 * of payload less the 2-byte code).
 *
 * @since 0.2.0
 */
export const MAX_CLOSE_REASON_BYTES = 123

/**
 * The close frame reason for `disconnect(code, data)` (spec protocol-v2.md §3.3): `data`
 * as a string (other values as JSON), cut on a character boundary to at most 123 UTF-8
 * bytes; empty for `undefined` and `null`. Protocol v2 clients read their `disconnect`
 * reason only from here, and `ws` throws on a longer reason.
 *
 * @example
 * ```ts
 * closeFrameReason({ a: 1 }) // '{"a":1}'
 * closeFrameReason("é".repeat(100)) // 61 × "é" (122 bytes)
 * ```
 *
 * @since 0.2.0
 */
export const closeFrameReason = (data: unknown): string => {
  if (data === undefined || data === null) return ""
  let text: string
  if (typeof data === "string") {
    text = data
  } else {
    try {
      text = JSON.stringify(data) ?? String(data)
    } catch {
      text = String(data)
    }
  }
  // A UTF-16 unit is at most 3 UTF-8 bytes: up to 41 units always fit, without measuring.
  if (text.length <= 41) return text
  let bytes = 0
  let end = 0
  for (const char of text) {
    const cp = char.codePointAt(0) ?? 0
    const size = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4
    if (bytes + size > MAX_CLOSE_REASON_BYTES) return text.slice(0, end)
    bytes += size
    end += char.length
  }
  return text
}
