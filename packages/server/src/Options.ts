/**
 * Server options: every socketcluster-server v14 option with its v14 default, validated
 * with Schema. A bad option fails with `InvalidOptionsError` naming the option.
 */
import { InvalidOptionsError } from "@effect-socketcluster/protocol"
import * as Effect from "effect/Effect"
import * as Result from "effect/Result"
import * as Schema from "effect/Schema"
import * as SchemaIssue from "effect/SchemaIssue"

const Millis = Schema.Int.check(Schema.isGreaterThanOrEqualTo(0))
const PositiveInt = Schema.Int.check(Schema.isGreaterThanOrEqualTo(1))

/** What a slow consumer (outbound buffer over `outboundHighWaterMark`) gets. */
export const SlowConsumerPolicy = Schema.Literals(["dropPublications", "disconnect"])
export type SlowConsumerPolicy = typeof SlowConsumerPolicy.Type

/** The options a user may give; every key is optional. */
export const ServerOptionsInput = Schema.Struct({
  /** URL path of the WebSocket endpoint; normalised to start and end with `/`. Default `/socketcluster/`. */
  path: Schema.optionalKey(Schema.String),
  /** Allowed origins in v14 syntax (`host:port` entries, `*` wildcards). Default `*:*`. */
  origins: Schema.optionalKey(Schema.String),
  /** ms from WebSocket open until `#handshake` must arrive, else close 4005. Default 10000. */
  handshakeTimeout: Schema.optionalKey(Millis),
  /** ms a server-to-client emit waits for its ack. Default 10000. */
  ackTimeout: Schema.optionalKey(Millis),
  /** ms between `#1` pings. Default 8000. */
  pingInterval: Schema.optionalKey(PositiveInt),
  /** ms of inbound silence before closing with 4001; sent to the client. Default 20000. */
  pingTimeout: Schema.optionalKey(PositiveInt),
  /**
   * Accept `pingInterval >= pingTimeout` (every client then times out with 4001), as v14
   * did. Default false: refused. The compat facade sets it and warns.
   */
  allowPingIntervalOverTimeout: Schema.optionalKey(Schema.Boolean),
  /** Send no pings and never time out. Default false. */
  pingTimeoutDisabled: Schema.optionalKey(Schema.Boolean),
  /**
   * The SocketCluster protocol spoken: `1` (socketcluster-client 14, byte for byte as v14),
   * `2` (clients 15–20), or `"auto"` (default): each connection's protocol is detected from
   * its first pong, or chosen by the client with the `scProtocolVersion=1|2` query parameter.
   */
  protocolVersion: Schema.optionalKey(Schema.Literals([1, 2, "auto"])),
  /** Whether clients may `#publish`. Default true. */
  allowClientPublish: Schema.optionalKey(Schema.Boolean),
  /**
   * Max channels per socket; more subscribes fail with `BrokerError`. Default 1000 (what
   * SocketCluster 14.4.2 passed to its server); `null` for no limit (v14's standalone default).
   */
  socketChannelLimit: Schema.optionalKey(Schema.NullOr(PositiveInt)),
  /**
   * Max inbound message size in bytes; larger frames close the socket with 1009. Default
   * 16 MiB (v14 left ws's 100 MiB, which lets one client make the server hold 100 MiB).
   */
  maxPayload: Schema.optionalKey(PositiveInt),
  /** permessage-deflate: `true` or a `ws` deflate options object. Default off. */
  perMessageDeflate: Schema.optionalKey(Schema.Union([Schema.Boolean, Schema.Record(Schema.String, Schema.Unknown)])),
  /** Free-form application name (a random UUID when unset). */
  appName: Schema.optionalKey(Schema.String),
  /** Whether middleware rejections are reported as `warning` events. Default true. */
  middlewareEmitWarnings: Schema.optionalKey(Schema.Boolean),
  /** Close with 4009 when a connecting socket's first frame is not `#handshake` (14.6+). Default true. */
  strictHandshake: Schema.optionalKey(Schema.Boolean),
  /** ms to wait before flushing batched subscribe answers (null/0: next tick). Default null. */
  pubSubBatchDuration: Schema.optionalKey(Schema.NullOr(Millis)),
  /** Write all frames queued for a socket within one event-loop turn in one system call. Default true. */
  coalesceWrites: Schema.optionalKey(Schema.Boolean),
  /**
   * Bytes buffered for one socket (`ws` `bufferedAmount`) above which it is congested:
   * publications to it are still written, but a client whose `#publish` reaches it is not
   * read (TCP flow control) until it drains. Default 4 MiB.
   */
  outboundHighWaterMark: Schema.optionalKey(PositiveInt),
  /**
   * ms a socket may stay congested before it counts as stalled: it stops holding
   * publishers back and its publications get `slowConsumerPolicy` until it drains.
   * Default 5000.
   */
  slowConsumerTimeout: Schema.optionalKey(PositiveInt),
  /**
   * What a stalled consumer gets: `dropPublications` (default) skips its publications and
   * counts them in `counters.droppedPublications`; `disconnect` sends `#disconnect` and
   * closes it with 4010 (`SLOW_CONSUMER_CLOSE_CODE`), counted in `counters.slowConsumerDisconnects`.
   * Either way the server emits `SlowConsumer` events.
   */
  slowConsumerPolicy: Schema.optionalKey(SlowConsumerPolicy),
  /** Max inbound RPCs (events with a cid) being handled at once per socket; more get `ResourceLimitError`. Default 256. */
  maxPendingInboundRpcs: Schema.optionalKey(PositiveInt),
  /** Max server-to-client emits awaiting an ack per socket; more fail with `ResourceLimitError`. Default 1024. */
  maxPendingOutboundAcks: Schema.optionalKey(PositiveInt),
  /** Max channel name length in characters; longer names are refused with `BrokerError`. Default 512. */
  maxChannelNameLength: Schema.optionalKey(PositiveInt),
  /**
   * Max sockets per server (open, in the handshake, or waiting for admission under
   * `maxUpgradesPerTurn`); further upgrades get HTTP 503, counted in
   * `counters.rejectedUpgrades`. Default 100,000 (about 1 GiB of memory at ~10 KB per
   * idle socket); `null` for no limit.
   */
  maxConnections: Schema.optionalKey(Schema.NullOr(PositiveInt)),
  /**
   * Max handshakes on the asynchronous path (token verification, handshakeSC middleware)
   * processed at once; the rest wait for a permit. Default 64.
   */
  maxConcurrentHandshakes: Schema.optionalKey(PositiveInt),
  /**
   * Max nesting depth of an inbound packet (a top-level object is depth 1). A deeper frame
   * is not processed: the socket emits `error` (`InvalidMessageError`), each request in it
   * with a cid is answered with that error, and before the handshake the socket closes
   * with 4009. Measured without recursion, so no depth can overflow the stack. Default 64.
   */
  maxPacketDepth: Schema.optionalKey(PositiveInt),
  /**
   * Bytes buffered for one socket above which even frames that cannot be dropped (answers,
   * emits) are refused: the socket is closed with 4010 (`SLOW_CONSUMER_CLOSE_CODE`) and
   * its connection dropped at once. Bounds the memory a client that stops reading can
   * hold. Default: the larger of 16 MiB and 4 × `outboundHighWaterMark`.
   */
  maxOutboundBuffer: Schema.optionalKey(PositiveInt),
  /**
   * Packets of one socket that may wait behind one being processed asynchronously
   * (async middleware, token verification). At the limit the socket stops reading from
   * TCP until half of them are done: back-pressure, no close and no error. Default 1024.
   */
  maxQueuedInboundPackets: Schema.optionalKey(PositiveInt),
  /**
   * Bytes of one socket's inbound frames the server may hold: packets waiting behind one
   * being processed, plus publications handed to the broker and not yet confirmed. At
   * the limit the socket stops reading from TCP until half are done. Default 1 MiB.
   */
  maxQueuedInboundBytes: Schema.optionalKey(PositiveInt),
  /**
   * Upgrades processed per event-loop turn (admission control for reconnect storms). The
   * rest wait, in arrival order, for later turns, so established sockets are served
   * between batches; waiting upgrades count towards `maxConnections`. Default 32.
   */
  maxUpgradesPerTurn: Schema.optionalKey(PositiveInt)
})
export type ServerOptionsInput = typeof ServerOptionsInput.Type

/** Options with every default applied. */
export interface ServerOptions {
  readonly path: string
  readonly origins: string
  readonly handshakeTimeout: number
  readonly ackTimeout: number
  readonly pingInterval: number
  readonly pingTimeout: number
  readonly pingTimeoutDisabled: boolean
  readonly protocolVersion: 1 | 2 | "auto"
  readonly allowClientPublish: boolean
  readonly socketChannelLimit: number | undefined
  readonly maxPayload: number
  readonly perMessageDeflate: boolean | Readonly<Record<string, unknown>>
  readonly appName: string
  readonly middlewareEmitWarnings: boolean
  readonly strictHandshake: boolean
  readonly pubSubBatchDuration: number | null
  readonly coalesceWrites: boolean
  readonly outboundHighWaterMark: number
  readonly slowConsumerTimeout: number
  readonly slowConsumerPolicy: SlowConsumerPolicy
  readonly maxPendingInboundRpcs: number
  readonly maxPendingOutboundAcks: number
  readonly maxChannelNameLength: number
  readonly maxConnections: number
  readonly maxConcurrentHandshakes: number
  readonly maxPacketDepth: number
  readonly maxOutboundBuffer: number
  readonly maxQueuedInboundPackets: number
  readonly maxQueuedInboundBytes: number
  readonly maxUpgradesPerTurn: number
}

/** v14's path rule: a leading and a trailing `/` are added when missing. */
export const normalizePath = (path: string): string => {
  let p = path.startsWith("/") ? path : `/${path}`
  if (!p.endsWith("/")) p = `${p}/`
  return p
}

const decodeInput = Schema.decodeUnknownResult(ServerOptionsInput, { onExcessProperty: "ignore" })
const formatIssue = SchemaIssue.makeFormatterStandardSchemaV1()

/**
 * Validates user options and applies the defaults.
 *
 * @example
 * ```ts
 * const options = yield* resolveOptions({ path: "ws", pingInterval: 5000 })
 * options.path // "/ws/"
 * ```
 */
export const resolveOptions = (input: unknown = {}): Effect.Effect<ServerOptions, InvalidOptionsError> => {
  const decoded = decodeInput(stripUndefined(input))
  if (Result.isFailure(decoded)) {
    const [first] = formatIssue(decoded.failure.issue).issues
    const option = first?.path?.map(String).join(".") ?? "options"
    return Effect.fail(
      new InvalidOptionsError({
        message: `Invalid option ${option}: ${first?.message ?? "invalid value"}`
      })
    )
  }
  const o = decoded.success
  const outboundHighWaterMark = o.outboundHighWaterMark ?? 4 * 1024 * 1024
  const pingInterval = o.pingInterval ?? 8000
  const pingTimeout = o.pingTimeout ?? 20000
  if (!(o.pingTimeoutDisabled ?? false) && !(o.allowPingIntervalOverTimeout ?? false) && pingInterval >= pingTimeout) {
    return Effect.fail(
      new InvalidOptionsError({
        message: `Invalid option pingInterval: must be smaller than pingTimeout (${pingTimeout}), or clients time out`
      })
    )
  }
  if (o.maxOutboundBuffer !== undefined && o.maxOutboundBuffer < outboundHighWaterMark) {
    return Effect.fail(
      new InvalidOptionsError({
        message: `Invalid option maxOutboundBuffer: must be at least outboundHighWaterMark (${outboundHighWaterMark})`
      })
    )
  }
  return Effect.succeed({
    path: normalizePath(o.path ?? "/socketcluster/"),
    origins: o.origins ?? "*:*",
    handshakeTimeout: o.handshakeTimeout ?? 10000,
    ackTimeout: o.ackTimeout ?? 10000,
    pingInterval,
    pingTimeout,
    pingTimeoutDisabled: o.pingTimeoutDisabled ?? false,
    protocolVersion: o.protocolVersion ?? "auto",
    allowClientPublish: o.allowClientPublish ?? true,
    socketChannelLimit: o.socketChannelLimit === null ? undefined : (o.socketChannelLimit ?? 1000),
    maxPayload: o.maxPayload ?? 16 * 1024 * 1024,
    perMessageDeflate: o.perMessageDeflate ?? false,
    appName: o.appName ?? globalThis.crypto.randomUUID(),
    middlewareEmitWarnings: o.middlewareEmitWarnings ?? true,
    strictHandshake: o.strictHandshake ?? true,
    pubSubBatchDuration: o.pubSubBatchDuration ?? null,
    coalesceWrites: o.coalesceWrites ?? true,
    outboundHighWaterMark,
    slowConsumerTimeout: o.slowConsumerTimeout ?? 5000,
    slowConsumerPolicy: o.slowConsumerPolicy ?? "dropPublications",
    maxPendingInboundRpcs: o.maxPendingInboundRpcs ?? 256,
    maxPendingOutboundAcks: o.maxPendingOutboundAcks ?? 1024,
    maxChannelNameLength: o.maxChannelNameLength ?? 512,
    maxConnections: o.maxConnections === null ? Number.POSITIVE_INFINITY : (o.maxConnections ?? 100_000),
    maxConcurrentHandshakes: o.maxConcurrentHandshakes ?? 64,
    maxPacketDepth: o.maxPacketDepth ?? 64,
    maxOutboundBuffer: o.maxOutboundBuffer ?? Math.max(16 * 1024 * 1024, 4 * outboundHighWaterMark),
    maxQueuedInboundPackets: o.maxQueuedInboundPackets ?? 1024,
    maxQueuedInboundBytes: o.maxQueuedInboundBytes ?? 1024 * 1024,
    maxUpgradesPerTurn: o.maxUpgradesPerTurn ?? 32
  })
}

// v14 treats an explicit `undefined` as a value; we treat it as "use the default" (documented deviation).
const stripUndefined = (input: unknown): unknown => {
  if (typeof input !== "object" || input === null || Array.isArray(input)) return input
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(input)) if (v !== undefined) out[k] = v
  return out
}
