/**
 * A socket's side of pub/sub: `#subscribe` (subscribe middleware, limits, the broker's
 * confirmation), `#unsubscribe`, client `#publish` (publishIn middleware, in arrival
 * order, with back-pressure on unconfirmed publishes), `kickOut`, and the delivery of
 * publications through the socket's publishOut chain.
 */
import {
  type AuthTokenExpiredError,
  BrokerError,
  type Cid,
  type InboundPacket,
  InvalidActionError
} from "@effect-socketcluster/protocol"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import { marked, publishing, publishingTo } from "./Congestion.js"
import { isFinished } from "./Finished.js"
import type { Frame } from "./Frame.js"
import type { PublishInRequest, SubscribeRequest } from "./Middleware.js"
import { decodeRecoverRequest, type RecoveryAck } from "./Recovery.js"
import { hasCid, resumeIfDue, type SocketCore } from "./SocketCore.js"
import { encode, queueBatch, respond, sendObject, writePublication } from "./SocketWriter.js"
import { toWireError } from "./WireError.js"

type SubscribePacket = Extract<InboundPacket, { readonly _tag: "Subscribe" }>

/** Why a subscribe before the handshake completed is refused (B130). */
export const earlySubscribe = "Cannot subscribe socket to a channel before it has completed the handshake"

export function answerSubscribe(s: SocketCore, packet: SubscribePacket, error: unknown, data?: unknown): void {
  if (!hasCid(packet.cid)) return
  if (!packet.batch) return respond(s, packet.cid, error, data)
  const obj: Record<string, unknown> = { rid: packet.cid }
  if (error !== undefined) obj.error = toWireError(error)
  else if (data !== undefined) obj.data = data
  queueBatch(s, obj)
}

export function refuseSubscribe(s: SocketCore, packet: SubscribePacket, error: InvalidActionError): void {
  s.host.warn(error)
  answerSubscribe(s, packet, error)
}

export function subscribe(
  s: SocketCore,
  packet: SubscribePacket,
  expired: AuthTokenExpiredError | undefined
): Effect.Effect<void> | undefined {
  if (packet.waitForAuth && expired !== undefined) {
    answerSubscribe(s, packet, expired)
    return undefined
  }
  const req: SubscribeRequest = {
    socket: s,
    channel: packet.channel,
    waitForAuth: packet.waitForAuth,
    data: packet.data,
    authTokenExpiredError: expired
  }
  const pipeline = s.host.pipeline
  // Without subscribe middleware, or with middleware that lets it through at once, no
  // closure is made: a subscribe is a few direct calls.
  if (!pipeline.has("subscribe")) return completeSubscribe(s, packet, req)
  const checked = pipeline.check("subscribe", req)
  if (isFinished(checked) && Exit.isSuccess(checked)) return completeSubscribe(s, packet, req)
  return pipeline.settle(
    checked,
    () => completeSubscribe(s, packet, req),
    (blocked) => answerSubscribe(s, packet, blocked.error)
  )
}

// The subscribe once middleware let it through: limits, then the registry and the broker.
function completeSubscribe(
  s: SocketCore,
  packet: SubscribePacket,
  req: SubscribeRequest
): Effect.Effect<void> | undefined {
  const host = s.host
  if (s.state !== "open") {
    refuseSubscribe(s, packet, new InvalidActionError({ message: earlySubscribe }))
    return undefined
  }
  const limit = host.options.socketChannelLimit
  if (limit !== undefined && s.channels.size >= limit) {
    const error = new BrokerError({
      message: `Failed to subscribe socket to the ${packet.channel} channel - Socket ${s.id} tried to exceed the channel subscription limit of ${limit}`
    })
    s.emitError(error)
    answerSubscribe(s, packet, error)
    return undefined
  }
  if (packet.channel.length > host.options.maxChannelNameLength) {
    const error = new BrokerError({
      message: `Failed to subscribe socket to the channel - Socket ${s.id} provided a channel name longer than ${host.options.maxChannelNameLength} characters`
    })
    s.emitError(error)
    answerSubscribe(s, packet, error)
    return undefined
  }
  const added = host.subscribe(s, packet.channel, decodeRecoverRequest(req.data))
  // The broker already carries the channel, or subscribed at once: answer now, no fiber.
  if (isFinished(added) && Exit.isSuccess(added)) {
    subscribed(s, packet, req, added.value)
    return undefined
  }
  return added.pipe(
    Effect.matchEffect({
      onFailure: (cause) => Effect.sync(() => subscribeFailed(s, packet, cause)),
      onSuccess: (recovery) => Effect.sync(() => subscribed(s, packet, req, recovery))
    })
  )
}

function subscribed(
  s: SocketCore,
  packet: SubscribePacket,
  req: SubscribeRequest,
  recovery: RecoveryAck | undefined
): void {
  if (!s.channels.has(packet.channel)) return
  // The options object is built only for a listener: most subscribes have none.
  if (s.hub.listens("Subscribe") || s.host.hub.listens("Subscription")) {
    const options: Record<string, unknown> = { ...packet.options, channel: packet.channel }
    if (req.data !== undefined || "data" in packet.options) options.data = req.data
    s.host.relay(s, { _tag: "Subscribe", channel: packet.channel, options })
  }
  answerSubscribe(s, packet, undefined, recovery)
}

function subscribeFailed(s: SocketCore, packet: SubscribePacket, cause: BrokerError): void {
  s.host.unsubscribe(s, packet.channel)
  const error = new BrokerError({
    message: `Failed to subscribe socket to the ${packet.channel} channel - ${cause.message}`
  })
  s.emitError(error)
  answerSubscribe(s, packet, error)
}

export function unsubscribeRequest(s: SocketCore, cid: Cid | undefined, channel: string): void {
  if (!s.channels.has(channel)) {
    const error = new BrokerError({
      message: `Failed to unsubscribe socket from the ${channel} channel - Socket ${s.id} tried to unsubscribe from a channel which it is not subscribed to`
    })
    s.emitError(error)
    respond(s, cid, error, undefined)
    return
  }
  s.host.unsubscribe(s, channel)
  if (s.hub.listens("Unsubscribe") || s.host.hub.listens("Unsubscription")) {
    s.host.relay(s, { _tag: "Unsubscribe", channel })
  }
  respond(s, cid, undefined, undefined)
}

export function publish(
  s: SocketCore,
  cid: Cid | undefined,
  channel: string,
  data: unknown,
  expired: AuthTokenExpiredError | undefined
): Effect.Effect<void> | undefined {
  const host = s.host
  if (!host.options.allowClientPublish) {
    const error = new InvalidActionError({ message: "Client publish feature is disabled" })
    host.warn(error)
    respond(s, cid, error, undefined)
    return undefined
  }
  if (channel.length > host.options.maxChannelNameLength) {
    const error = new BrokerError({
      message: `Socket ${s.id} tried to publish to a channel name longer than ${host.options.maxChannelNameLength} characters`
    })
    host.warn(error)
    respond(s, cid, error, undefined)
    return undefined
  }
  const req: PublishInRequest = { socket: s, channel, data, ackData: undefined, authTokenExpiredError: expired }
  const bytes = s.packetBytes
  // Without publishIn middleware, or with middleware that lets it through at once, no
  // closure is made.
  const pipeline = host.pipeline
  if (!pipeline.has("publishIn")) return startPublish(s, cid, req, bytes)
  const checked = pipeline.check("publishIn", req)
  if (isFinished(checked) && Exit.isSuccess(checked)) return startPublish(s, cid, req, bytes)
  return pipeline.settle(
    checked,
    () => startPublish(s, cid, req, bytes),
    (blocked) => respond(s, cid, blocked.error, req.ackData)
  )
}

// Handing the message to the broker is what must happen in arrival order; waiting for
// the broker's confirmation need not hold up this socket's next packets (a remote broker
// would otherwise cap one socket at one publish per round trip). `runFork` starts the
// fiber synchronously, so brokers receive publishes in order. Past
// `maxPendingInboundRpcs` unconfirmed publishes the socket waits again (back-pressure).
// The same holds in bytes (`maxQueuedInboundBytes`, `bytes` being the packet's size). A
// publication that reaches a congested subscriber (delivered inside `runFork` by an
// in-process broker) stops this socket from being read until the congestion clears (see
// `Congestion`); with a remote broker, so does a publication to a channel that a
// congested subscriber marked.
function startPublish(
  s: SocketCore,
  cid: Cid | undefined,
  req: PublishInRequest,
  bytes: number
): Effect.Effect<void> | undefined {
  const host = s.host
  const channel = req.channel
  // An in-process broker takes it at once (deliveries inside the call, as in runFork
  // below, so a congested subscriber holds this socket back): answered now, no fiber.
  publishing.socket = s
  const published = host.publishNow(channel, req.data)
  publishing.socket = undefined
  if (published) {
    respond(s, cid, undefined, req.ackData)
    return undefined
  }
  if (marked.channels !== 0) publishingTo(s, channel)
  if (
    s.publishesInFlight >= host.options.maxPendingInboundRpcs ||
    s.publishBytesInFlight >= host.options.maxQueuedInboundBytes
  ) {
    return publishConfirmed(s, cid, req)
  }
  s.publishesInFlight++
  s.publishBytesInFlight += bytes
  publishing.socket = s
  const fiber = host.runFork(publishConfirmed(s, cid, req))
  publishing.socket = undefined
  fiber.addObserver(() => {
    s.publishesInFlight--
    s.publishBytesInFlight -= bytes
    if (s.publishBytesInFlight < host.options.maxQueuedInboundBytes) resumeIfDue(s)
  })
  return undefined
}

// Built only when the broker cannot take the publication at once (not per publish on the memory broker's path).
const publishConfirmed = (s: SocketCore, cid: Cid | undefined, req: PublishInRequest): Effect.Effect<void> =>
  Effect.suspend(() => s.host.publish(req.channel, req.data)).pipe(
    Effect.matchEffect({
      onFailure: (error) =>
        Effect.sync(() => {
          s.host.warn(error)
          respond(s, cid, error, req.ackData)
        }),
      onSuccess: () => Effect.sync(() => respond(s, cid, undefined, req.ackData))
    })
  )

/** Removes the socket from `channel` (or every channel) and sends `#kickOut`; no unsubscribe events (v14). */
export function kickOutUnsafe(s: SocketCore, channel?: string, message?: unknown): void {
  const channels = channel === undefined ? Array.from(s.channels) : [channel]
  for (const ch of channels) {
    s.host.unsubscribe(s, ch)
    sendObject(s, { event: "#kickOut", data: { message, channel: ch } })
  }
}

/**
 * @internal Delivers a publication. `frame` is the shared, already-encoded
 * `#publish` frame; with publishOut middleware each socket runs its chain first, in
 * publication order.
 */
export function deliver(s: SocketCore, channel: string, data: unknown, frame: () => Frame | undefined): void {
  if (s.state === "closed") return
  if (!s.host.pipeline.has("publishOut")) {
    writePublication(s, channel, frame())
    return
  }
  if (s.publishOutChain === undefined) s.publishOutChain = []
  s.publishOutChain.push({ channel, data, frame })
  if (!s.publishOutBusy) runPublishOut(s)
}

export function runPublishOut(s: SocketCore): void {
  const item = s.publishOutChain?.shift()
  if (item === undefined || s.state === "closed") {
    s.publishOutChain = undefined
    s.publishOutBusy = false
    return
  }
  s.publishOutBusy = true
  const req = { socket: s, channel: item.channel, data: item.data }
  const pass = () => {
    if (s.isSubscribed(item.channel)) {
      writePublication(
        s,
        item.channel,
        req.data === item.data
          ? item.frame()
          : encode(s, { event: "#publish", data: { channel: item.channel, data: req.data } })
      )
    }
    return undefined
  }
  s.host.runFork(s.host.pipeline.gate("publishOut", req, pass, ignoreBlocked)).addObserver(() => runPublishOut(s))
}

// A block of a delivery needs nothing more than the report the gate makes.
const ignoreBlocked = (): void => {}
