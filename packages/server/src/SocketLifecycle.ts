/**
 * A socket's lifecycle: the handshake (handshakeSC middleware, the offered token, the
 * answer and, with a non-JSON codec, the protocol probe), pings, pongs and timeouts (driven by the server's
 * heartbeat sweep), the wire dialect, and the close sequence.
 */
import {
  type Cid,
  closeFrameReason,
  InvalidArgumentsError,
  isIgnoredCloseCode,
  isSendableCloseCode,
  SocketProtocolError,
  socketProtocolErrorMessage
} from "@effect-socketcluster/protocol"
import * as Effect from "effect/Effect"
import * as Congestion from "./Congestion.js"
import { checkExpiry, deauthenticateUnsafe, processToken, triggerAuthEvents, wireAuthError } from "./SocketAuth.js"
import { hasCid, type SocketCore } from "./SocketCore.js"
import type { HandshakeStatus } from "./SocketEvents.js"
import { abortInvokes } from "./SocketRpc.js"
import { encode, flush, sendObject, writeFrame } from "./SocketWriter.js"
import * as Dialect from "./WireDialect.js"
import { toWireError } from "./WireError.js"

/**
 * @internal Called by the server's heartbeat sweep (one fiber per server, not one per
 * socket): sends a due ping and enforces the handshake and pong timeouts.
 */
export function heartbeat(s: SocketCore, now: number): void {
  if (s.state === "closed") return
  const { pingInterval, pingTimeout, pingTimeoutDisabled, handshakeTimeout } = s.host.options
  if (!s.handshakeReceived && now >= s.openedAt + handshakeTimeout) {
    disconnectUnsafe(s, 4005)
    return
  }
  if (pingTimeoutDisabled) return
  if (now >= s.lastSeen + pingTimeout) {
    closeUnsafe(s, 4001, undefined, true)
    return
  }
  if (now >= s.nextPing) {
    s.nextPing = now + pingInterval
    ping(s)
  }
}

// One ping tick (or the binary-codec probe after the handshake): the ping(s) of the
// dialect, each a frame of its own, never batched.
export function ping(s: SocketCore): void {
  const atTick = s.dialect.atTick
  if (atTick !== undefined) setDialect(s, atTick)
  const dialect = s.dialect
  if (dialect.pingV1) {
    const ping = encode(s, "#1")
    if (ping !== undefined) writeFrame(s, ping)
  }
  if (dialect.pingV2) writeFrame(s, "")
  if (dialect.afterPing !== undefined) setDialect(s, dialect.afterPing)
}

export function setDialect(s: SocketCore, next: Dialect.WireDialect): void {
  const known = s.dialect.version !== null
  s.dialect = next
  if (!known && next.version !== null && s.hub.listens("ProtocolVersion")) {
    s.host.relay(s, { _tag: "ProtocolVersion", version: next.version })
  }
}

// A pong of either protocol: the first one fixes an unknown socket's protocol.
export function pong(s: SocketCore, version: Dialect.ProtocolVersion): void {
  if (s.state === "connecting" && !s.handshakeReceived && s.host.options.strictHandshake) {
    closeUnsafe(s, 4009, undefined, true)
    return
  }
  if (s.dialect.version === null) setDialect(s, Dialect.afterPong(s.dialect, version))
  checkExpiry(s)
}

export function pongOverdue(s: SocketCore, now: number): boolean {
  const { pingTimeout, pingTimeoutDisabled } = s.host.options
  return !pingTimeoutDisabled && s.state !== "closed" && now >= s.lastSeen + pingTimeout
}

/**
 * Closes the socket: the close sequence of v14 (protocol §11.3) runs once.
 * @param closeWs whether to close the WebSocket with `code` (false when it is already closed)
 */
export function closeUnsafe(s: SocketCore, code: number, data: unknown, closeWs: boolean): void {
  if (s.state === "closed") return
  const wasOpen = s.state === "open"
  s.state = "closed"
  s.host.socketClosed(s, wasOpen)
  if (s.congestion !== undefined) Congestion.closed(s)
  if (wasOpen) {
    for (const channel of Array.from(s.channels)) {
      s.host.unsubscribe(s, channel)
      s.host.relay(s, { _tag: "Unsubscribe", channel })
    }
    s.host.relay(s, { _tag: "Disconnect", code, data })
  } else {
    for (const channel of Array.from(s.channels)) s.host.unsubscribe(s, channel)
    s.host.relay(s, { _tag: "ConnectAbort", code, data })
  }
  s.host.relay(s, { _tag: "Close", code, data })
  // Only built when somebody listens: a mass disconnect would otherwise pay for an Error
  // (and its stack trace) per socket for nobody.
  if (!isIgnoredCloseCode(code) && (s.hub.listens("Error") || s.host.hub.listens("Warning"))) {
    s.emitError(new SocketProtocolError({ message: socketProtocolErrorMessage(code, data), code }))
  }
  s.hub.endStreams()
  abortInvokes(s, wasOpen ? "disconnect" : "connectAbort")
  s.inbox = undefined
  s.publishOutChain = undefined
  if (closeWs) {
    const wsCode = isSendableCloseCode(code) ? code : 1000
    try {
      s.ws.close(wsCode, s.dialect.closeReason ? closeFrameReason(data) : undefined)
    } catch {
      s.ws.terminate()
    }
  }
}

/** Sends `#disconnect` and closes with `code` (default 1000). */
export function disconnectUnsafe(s: SocketCore, code: unknown = 1000, data?: unknown): void {
  if (s.state === "closed") return
  let closeCode = code
  if (typeof code !== "number") {
    s.emitError(new InvalidArgumentsError({ message: "If specified, the code argument must be a number" }))
    closeCode = 1000
  }
  if (s.dialect.disconnectPacket) {
    const packet: { code: unknown; data?: unknown } = { code: closeCode }
    if (data !== undefined) packet.data = data
    sendObject(s, { event: "#disconnect", data: packet })
  }
  flush(s)
  closeUnsafe(s, closeCode as number, data, true)
}

export function handshake(s: SocketCore, cid: Cid | undefined, offeredToken: unknown): Effect.Effect<void> {
  return s.host.pipeline.gate(
    "handshakeSC",
    { socket: s },
    () => processOfferedToken(s, cid, offeredToken),
    (blocked) => {
      const code = blocked.statusCode ?? 4008
      if (hasCid(cid)) {
        const dialect = s.dialect
        const error = toWireError(blocked.error)
        if (dialect.rejectionStatusCode && typeof error === "object" && error !== null) {
          Reflect.set(error, "statusCode", code)
        }
        sendObject(s, dialect.rejectionDataCode ? { rid: cid, error, data: { code } } : { rid: cid, error })
      }
      disconnectUnsafe(s, code)
    }
  )
}

// After handshakeSC: the offered token (or none) decides the auth state the socket opens with.
function processOfferedToken(s: SocketCore, cid: Cid | undefined, offeredToken: unknown): Effect.Effect<void> {
  return Effect.gen(function* () {
    const host = s.host
    if (s.state === "closed") return
    // 14.7: a token set by handshakeSC middleware replaces the one in the packet.
    let authError: unknown
    let authErrorIsBad = false
    let authenticated = false
    if (s.authState === "authenticated") {
      authenticated = true
    } else if (offeredToken !== null && offeredToken !== undefined) {
      const outcome = yield* processToken(s, offeredToken)
      if (outcome.error !== undefined) {
        authError = outcome.error
        authErrorIsBad = outcome.isBad
        if (outcome.isBad) deauthenticateUnsafe(s)
      } else {
        authenticated = true
      }
    } else if (host.auth.verifyMissingTokens === true) {
      // The token is optional: failing to verify none is no authError.
      authenticated = (yield* processToken(s, null)).error === undefined
    }
    completeHandshake(s, cid, authError, authenticated, authErrorIsBad)
  })
}

/** connecting → open: the `connect`/`connection` events, auth events, then the answer (protocol §5 steps 9–12). */
export function completeHandshake(
  s: SocketCore,
  cid: Cid | undefined,
  authError: unknown,
  authenticated: boolean,
  authErrorIsBad = false
): void {
  if (s.state !== "connecting") return
  const host = s.host
  s.state = "open"
  host.socketOpened(s)
  const status: HandshakeStatus =
    authError === undefined
      ? { id: s.id, pingTimeout: host.options.pingTimeout, isAuthenticated: s.authState === "authenticated" }
      : { id: s.id, pingTimeout: host.options.pingTimeout, authError, isAuthenticated: false }
  // One object for the socket's `connect` and the server's `connection`, as in v14; the
  // client gets its own.
  const shared = { ...status }
  s.host.relay(s, { _tag: "Connect", status: shared })
  if (authenticated && s.authState === "authenticated") triggerAuthEvents(s, "unauthenticated")
  if (hasCid(cid) && s.state === "open") {
    const data: Record<string, unknown> = { id: s.id, pingTimeout: host.options.pingTimeout }
    if (authError !== undefined) data.authError = wireAuthError(s, authError, authErrorIsBad)
    data.isAuthenticated = s.authState === "authenticated"
    sendObject(s, { rid: cid, data })
  }
  // Only a codec that needs two pings to tell the protocols apart probes here; otherwise the
  // first tick's ping pair detects the protocol, at no cost beyond one empty frame (WireDialect.ts).
  if (s.dialect.probeAfterHandshake && s.state === "open" && !host.options.pingTimeoutDisabled) ping(s)
}
