/**
 * A socket's inbound path: `ws` message → codec decode → depth check → `classify`
 * (Schema) → in arrival order, either handled at once (pong, responses, raw) or queued
 * behind the packet being processed, so that asynchronous middleware never reorders a
 * socket's actions. A full queue pauses reading from TCP (back-pressure).
 */
import {
  BrokerError,
  type Cid,
  classify,
  type InboundPacket,
  InvalidActionError,
  InvalidMessageError,
  json
} from "@effect-socketcluster/protocol"
import * as Cause from "effect/Cause"
import type * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import { isFinished } from "./Finished.js"
import { exceedsDepth, tooShortToExceed } from "./PacketDepth.js"
import { authenticate, checkExpiry, deauthenticateSelf } from "./SocketAuth.js"
import { resumeIfDue, type SocketCore } from "./SocketCore.js"
import { closeUnsafe, completeHandshake, handshake, pong } from "./SocketLifecycle.js"
import { earlySubscribe, publish, refuseSubscribe, subscribe, unsubscribeRequest } from "./SocketPubSub.js"
import { event, onResponse } from "./SocketRpc.js"
import { respond } from "./SocketWriter.js"
import * as Tracing from "./Tracing.js"
import * as Dialect from "./WireDialect.js"

export function onMessage(s: SocketCore, raw: Buffer, isBinary: boolean): void {
  s.lastSeen = Date.now()
  s.bytesReceived += raw.length
  s.host.counters.messagesIn++
  s.host.counters.bytesIn += raw.length
  const message: string | Buffer = isBinary ? raw : raw.toString()
  // The answer to the binary-codec probe is the server's own traffic: a v14 server sent no
  // ping right after the handshake, so its apps never saw such a frame in `message`.
  const probeAnswer = s.dialect.hidesPong && !isBinary && raw.length <= 2 && Dialect.rawPong(s.dialect, raw) !== 0
  if (s.hub.listens("Message") && !probeAnswer) s.host.relay(s, { _tag: "Message", message })
  if (s.state === "closed") return
  if (!isBinary && raw.length <= 2) {
    const version = Dialect.rawPong(s.dialect, raw)
    if (version !== 0) return pong(s, version)
  }
  let decoded: unknown
  try {
    decoded = s.host.codec().decode(message)
  } catch (cause) {
    const error =
      cause instanceof Error && cause.name !== "Error"
        ? cause
        : new InvalidMessageError({ message: cause instanceof Error ? cause.message : String(cause) })
    s.emitError(error)
    if (s.state === "connecting" && s.host.options.strictHandshake) closeUnsafe(s, 4009, undefined, true)
    return
  }
  if (typeof decoded === "object" && decoded !== null) {
    const limit = s.host.options.maxPacketDepth
    const short = typeof message === "string" && s.host.codec() === json && tooShortToExceed(message, limit)
    if (!short && exceedsDepth(decoded, limit)) return refuseTooDeep(s, decoded, limit)
  }
  const classified = classify(decoded)
  if (Array.isArray(classified)) {
    const bytes = raw.length / Math.max(1, classified.length)
    for (const packet of classified) accept(s, packet as InboundPacket, message, bytes)
  } else {
    accept(s, classified as InboundPacket, message, raw.length)
  }
}

// A frame nested deeper than maxPacketDepth is not processed: the socket gets an error
// event and each request in it (read from the top level only) an error answer.
export function refuseTooDeep(s: SocketCore, decoded: object, limit: number): void {
  const error = new InvalidMessageError({ message: `Packet nested deeper than ${limit} levels (maxPacketDepth)` })
  s.emitError(error)
  if (s.state === "connecting" && s.host.options.strictHandshake) {
    closeUnsafe(s, 4009, undefined, true)
    return
  }
  const requests: ReadonlyArray<unknown> = Array.isArray(decoded) ? decoded : [decoded]
  for (const request of requests) {
    if (typeof request !== "object" || request === null || Array.isArray(request)) continue
    const { event, cid } = request as { readonly event?: unknown; readonly cid?: unknown }
    if (typeof event === "string" && (typeof cid === "number" || typeof cid === "string")) {
      respond(s, cid, error, undefined)
    }
  }
}

export function accept(s: SocketCore, packet: InboundPacket, message: string | Buffer, bytes: number): void {
  if (s.state === "closed") return
  if (s.state === "connecting" && packet._tag !== "Handshake") {
    // 14.7 strictHandshake: anything but the handshake while connecting closes with 4009,
    // also after #handshake arrived (B130), except a pong then (protocol-v2 §3.2 step 4).
    if (s.host.options.strictHandshake && !(packet._tag === "Pong" && s.handshakeReceived)) {
      closeUnsafe(s, 4009, undefined, true)
      return
    }
    // Without it, a subscribe that arrives before the handshake completed is refused now,
    // not queued behind the handshake (B130, 14.3.1).
    if (packet._tag === "Subscribe")
      return refuseSubscribe(s, packet, new InvalidActionError({ message: earlySubscribe }))
  }
  switch (packet._tag) {
    case "Pong":
      return pong(s, 1)
    case "Response":
      return onResponse(s, packet.rid, packet.error, packet.data)
    case "Raw":
      s.host.relay(s, { _tag: "Raw", message })
      return
    case "Disconnect": {
      const code = typeof packet.code === "number" ? packet.code : 1005
      closeUnsafe(s, code, packet.data, true)
      return
    }
  }
  if (s.busy) {
    if (s.inbox === undefined || s.inboxSizes === undefined) {
      s.inbox = []
      s.inboxSizes = []
    }
    s.inbox.push(packet)
    s.inboxSizes.push(bytes)
    s.inboxBytes += bytes
    // Back-pressure instead of an unbounded queue: stop reading from TCP until it drains.
    const options = s.host.options
    if (
      (s.inbox.length >= options.maxQueuedInboundPackets || s.inboxBytes >= options.maxQueuedInboundBytes) &&
      !s.ws.isPaused
    ) {
      s.ws.pause()
    }
    return
  }
  process(s, packet, bytes)
}

// Runs one packet. Synchronous outcomes finish here; an asynchronous one marks the
// socket busy until it completes, and the packets that arrive meanwhile wait in `inbox`.
export function process(s: SocketCore, packet: InboundPacket, bytes: number): void {
  s.packetBytes = bytes
  const effect = packetEffect(s, packet)
  if (effect === undefined) return
  // Work that finished while it was set up (a middleware chain that settled at once) needs no fiber.
  if (isFinished(effect)) {
    if (Exit.isFailure(effect) && !Cause.hasInterruptsOnly(effect.cause)) s.host.defect("a packet", effect.cause)
    return
  }
  s.busy = true
  const fiber = s.host.runFork(effect)
  fiber.addObserver(() => {
    s.busy = false
    drain(s)
  })
}

export function drain(s: SocketCore): void {
  while (!s.busy && s.inbox !== undefined && s.inbox.length > 0 && s.state !== "closed") {
    const bytes = s.inboxSizes?.shift() ?? 0
    s.inboxBytes -= bytes
    process(s, s.inbox.shift()!, bytes)
  }
  if ((s.inbox?.length ?? 0) === 0) {
    s.inbox = undefined
    s.inboxSizes = undefined
    s.inboxBytes = 0
  }
  resumeIfDue(s)
}

/** The work for one packet, or undefined when it was handled synchronously. */
export function packetEffect(s: SocketCore, packet: InboundPacket): Effect.Effect<void> | undefined {
  if (packet._tag === "Handshake") {
    if (s.handshakeReceived) return undefined
    s.handshakeReceived = true
    if (
      !s.host.pipeline.has("handshakeSC") &&
      (packet.authToken === null || packet.authToken === undefined) &&
      s.host.auth.verifyMissingTokens !== true
    ) {
      // Nothing asynchronous to wait for: complete at once, no fiber.
      completeHandshake(s, packet.cid, undefined, false)
      return undefined
    }
    const run = handshake(s, packet.cid, packet.authToken)
    return s.host.handshakePermits.withPermit(
      s.host.tracing ? Tracing.span(true, "sc.handshake", () => ({ "sc.socket.id": s.id }), run) : run
    )
  }
  // Before the handshake (only with strictHandshake off) the rest is processed as in
  // 14.3.1; `subscribe` refuses by itself with InvalidActionError.
  const expired = checkExpiry(s)
  switch (packet._tag) {
    case "Authenticate":
      return authenticate(s, packet.cid, packet.token)
    case "RemoveAuthToken":
      deauthenticateSelf(s)
      return undefined
    case "Subscribe":
      return subscribe(s, packet, expired)
    case "Unsubscribe":
      unsubscribeRequest(s, packet.cid, packet.channel)
      return undefined
    case "Publish":
      return publish(s, packet.cid, packet.channel, packet.data, expired)
    case "InvalidPacket":
      invalidPacket(s, packet.event, packet.cid, packet.data)
      return undefined
    case "Event":
      return event(s, packet.event, packet.cid, packet.data, expired)
  }
  return undefined
}

export function invalidPacket(s: SocketCore, event: string, cid: Cid | undefined, data: unknown): void {
  const channelOf = (d: unknown): unknown =>
    typeof d === "object" && d !== null && !Array.isArray(d) ? (d as Record<string, unknown>).channel : d
  let error: BrokerError
  if (event === "#subscribe") {
    error = new BrokerError({
      message: `Failed to subscribe socket to the ${String(channelOf(data))} channel - Socket ${s.id} provided an invalid channel name`
    })
  } else if (event === "#unsubscribe") {
    error = new BrokerError({
      message: `Failed to unsubscribe socket from the ${String(data)} channel - Socket ${s.id} tried to unsubscribe from an invalid channel name`
    })
  } else {
    error = new BrokerError({
      message: `Socket ${s.id} tried to publish to an invalid ${String(channelOf(data))} channel`
    })
  }
  s.emitError(error)
  respond(s, cid, error, undefined)
}
