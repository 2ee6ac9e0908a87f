/**
 * What the job modules of a server socket share: the socket's internal, writable view
 * (`SocketCore`, the one object that holds a socket's state), and what a socket needs
 * from its server (`SocketHost`). The job modules (`SocketInbound`, `SocketLifecycle`,
 * `SocketAuth`, `SocketPubSub`, `SocketRpc`, `SocketWriter`) are functions over a
 * `SocketCore`; `ServerSocket` assembles them into the public `SCSocket`.
 *
 * All of a socket's state lives in that one object, allocated on first use where most
 * sockets never need it: memory per idle socket is a headline figure.
 */
import type { BrokerError, Cid, CodecEngine, InboundPacket } from "@effect-socketcluster/protocol"
import type * as Cause from "effect/Cause"
import type * as Effect from "effect/Effect"
import type * as Fiber from "effect/Fiber"
import type { AuthEngine } from "./AuthEngine.js"
import type { BrokerShape } from "./Broker.js"
import type { ServerEvent } from "./Events.js"
import type { Frame } from "./Frame.js"
import type { MiddlewarePipeline } from "./MiddlewarePipeline.js"
import type { ServerOptions } from "./Options.js"
import type { OwnedWebSocket } from "./OwnedWebSocket.js"
import type { RecoverRequest, RecoveryAck } from "./Recovery.js"
import type { EventHandler, SCSocket, SocketState } from "./SCSocket.js"
import type { AuthState, SocketEvent } from "./SocketEvents.js"
import type { WireDialect } from "./WireDialect.js"

/** Counters the runnable server exports as metrics (monotonic since start). */
export interface ServerCounters {
  /** Inbound WebSocket frames. */
  messagesIn: number
  /** Inbound payload bytes. */
  bytesIn: number
  /** Outbound WebSocket frames. */
  messagesOut: number
  /** Outbound payload bytes. */
  bytesOut: number
  /** Server-to-client emits whose ack did not arrive within `ackTimeout`. */
  ackTimeouts: number
  /** Publications not written to a slow consumer (`slowConsumerPolicy: "dropPublications"`). */
  droppedPublications: number
  /** Sockets closed with 4010: over `outboundHighWaterMark` under the `disconnect` policy, or over `maxOutboundBuffer`. */
  slowConsumerDisconnects: number
  /** Times a publishing socket stopped being read because its publications reached a congested subscriber. */
  publisherHolds: number
  /** WebSocket connections accepted (handshakes started). */
  handshakes: number
  /** Upgrades refused with HTTP 503 (`maxConnections`). */
  rejectedUpgrades: number
}

/** Counters at start. */
export const zeroCounters = (): ServerCounters => ({
  messagesIn: 0,
  bytesIn: 0,
  messagesOut: 0,
  bytesOut: 0,
  ackTimeouts: 0,
  droppedPublications: 0,
  slowConsumerDisconnects: 0,
  publisherHolds: 0,
  handshakes: 0,
  rejectedUpgrades: 0
})

/** What a socket needs from its server (implemented by `SCServer`). */
export interface SocketHost {
  readonly options: ServerOptions
  readonly pipeline: MiddlewarePipeline
  readonly auth: AuthEngine["Service"]
  /** Traffic counters (metrics). */
  readonly counters: ServerCounters
  codec(): CodecEngine
  runFork<A, E>(effect: Effect.Effect<A, E>): Fiber.Fiber<A, E>
  /** Emits a socket event on the socket's hub and, where there is one, the server event for it (see `Events.relay`). */
  relay(socket: SocketCore, event: SocketEvent): void
  /** The server's events (a socket checks `listens` before building an event nobody hears). */
  readonly hub: { listens(kind: ServerEvent["_tag"]): boolean }
  warn(error: unknown): void
  /** Reports what a throwing event listener threw. */
  readonly listenerThrew: (error: unknown) => void
  /** Reports a bug in user code (a handler's or middleware's defect): logged and warned, never sent. */
  defect(where: string, cause: Cause.Cause<unknown>): void
  findHandler(event: string): EventHandler | undefined
  /** connecting → open bookkeeping. */
  socketOpened(socket: SocketCore): void
  /** Removes the socket from `clients`/`pendingClients`. */
  socketClosed(socket: SocketCore, wasOpen: boolean): void
  /**
   * Records a subscription locally and makes sure the broker carries the channel; with a
   * recovery request, also replays what the socket missed and resolves with the answer's data.
   * Without one the record is made when called, and the result is finished (an `Exit`)
   * when nothing was left to wait for.
   */
  subscribe(
    socket: SocketCore,
    channel: string,
    recover?: RecoverRequest
  ): Effect.Effect<RecoveryAck | undefined, BrokerError>
  /** The channels `socket` is subscribed to (the registry's record, the only one). */
  channelsOf(socket: SocketCore): ReadonlySet<string>
  /** Removes a subscription locally at once (deliveries stop now); the broker catches up later. */
  unsubscribe(socket: SocketCore, channel: string): void
  publish(channel: string, data: unknown): Effect.Effect<void, BrokerError>
  /**
   * The broker: one without `immediate` (Redis) delivers publications asynchronously, so
   * a delivery cannot name its publisher (see `Congestion`).
   */
  readonly broker: Pick<BrokerShape, "immediate">
  /** Publishes now when the broker can (`BrokerShape.immediate`, no tracer): false when `publish` must be run instead. */
  publishNow(channel: string, data: unknown): boolean
  scheduleUncork(socket: SocketCore): void
  /** Counts a publication dropped for a slow consumer. */
  droppedPublication(socket: SocketCore): void
  /** Counts a socket closed with 4010 for not reading. */
  slowConsumerDisconnected(socket: SocketCore): void
  /** True when a tracer is installed: spans and log annotations are made (see `Tracing`). */
  readonly tracing: boolean
  readonly handshakePermits: { readonly withPermit: <A, E>(effect: Effect.Effect<A, E>) => Effect.Effect<A, E> }
}

/** A congested socket's episode (see `Congestion`): from over the high-water mark until its buffer drains. */
export interface CongestionEpisode {
  stalled: boolean
  /** Publications dropped while stalled. */
  dropped: number
  /** The channels it marked (remote broker): their local publishers are held. */
  channels: Array<string> | undefined
  readonly timer: ReturnType<typeof setTimeout>
  readonly end: () => void
}

/** A server-to-client emit waiting for its answer. */
export interface PendingAck {
  readonly event: string
  readonly data: unknown
  readonly callback: (error: unknown, data: unknown) => void
  readonly timer: ReturnType<typeof setTimeout>
  /**
   * Registered by `invoke`: a client's error answer comes wrapped in `ClientError`, and
   * the socket's close fails it at once. (v14 callbacks wait for their timeout.)
   */
  readonly invoke: boolean
}

/** A publication waiting for this socket's publishOut chain. */
export interface PublishOutItem {
  readonly channel: string
  readonly data: unknown
  readonly frame: () => Frame | undefined
}

/**
 * The writable view of a server socket that its job modules work on. The public
 * `SCSocket` is the same object, read-only.
 */
export interface SocketCore extends SCSocket {
  /** The underlying `ws` WebSocket, the server's own subclass (its TCP socket typed). */
  readonly ws: OwnedWebSocket
  state: SocketState
  authState: AuthState
  authToken: unknown
  signedAuthToken: string | null
  bytesReceived: number
  readonly host: SocketHost
  /** Set while this socket's TCP socket is corked (flushed at the end of the event-loop turn). */
  corked: boolean
  /** Per-socket event handlers (take precedence over the server's); allocated on first use. */
  handlers: Map<string, EventHandler> | undefined
  /** The next cid of a server-to-client emit. */
  cid: number
  pendingAcks: Map<number, PendingAck> | undefined
  pendingInboundRpcs: number
  publishesInFlight: number
  /** Bytes of the publishes handed to the broker and not yet confirmed. */
  publishBytesInFlight: number
  readonly openedAt: number
  lastSeen: number
  nextPing: number
  handshakeReceived: boolean
  /** A packet is being processed asynchronously; later ones wait in `inbox`. */
  busy: boolean
  inbox: Array<InboundPacket> | undefined
  /** The frame bytes of each packet in `inbox`, and their sum. */
  inboxSizes: Array<number> | undefined
  inboxBytes: number
  /** The frame bytes of the packet being started. */
  packetBytes: number
  /** Set while the socket's outbound buffer is over the high-water mark (see `Congestion`). */
  congestion: CongestionEpisode | undefined
  /** Not read because its publications reached a congested subscriber. */
  heldByCongestion: boolean
  /** History it asked for is being written (see the registry's `Subscriber`). */
  replaying: boolean
  /** Frames are held (`held`) while a `#setAuthToken` is being signed. */
  holds: number
  held: Array<Frame> | undefined
  batch: Array<object> | undefined
  publishOutChain: Array<PublishOutItem> | undefined
  publishOutBusy: boolean
  dialect: WireDialect
}

/** A request that wants an answer (v14: a cid of 0 or "" asks for none). */
export const hasCid = (cid: Cid | undefined): cid is Cid => cid !== undefined && cid !== 0 && cid !== ""

/**
 * Reads from TCP again once what paused it is gone: half the queue (count and bytes)
 * done, the unconfirmed publishes under the byte limit, and no congestion holding it.
 */
export function resumeIfDue(s: SocketCore): void {
  if (!s.ws.isPaused || s.heldByCongestion || s.state === "closed") return
  const options = s.host.options
  const queued = s.inbox?.length ?? 0
  if (queued > options.maxQueuedInboundPackets >> 1 || s.inboxBytes > options.maxQueuedInboundBytes >> 1) return
  if (s.publishBytesInFlight >= options.maxQueuedInboundBytes) return
  s.ws.resume()
}
