/**
 * The broker contract: how one server process shares publications with every other
 * process that serves the same app.
 *
 * The broker only ever hears about channels, never about sockets: the server keeps
 * one broker subscription per channel per process (reference-counted over its local
 * sockets and exchange watchers) and fans each publication out to its own sockets.
 *
 * @example
 * ```ts
 * import { Broker, BrokerMemory } from "@effect-socketcluster/server"
 * const program = Effect.gen(function*() {
 *   const broker = yield* Broker.Broker
 *   yield* broker.onPublication((channel, data) => console.log(channel, data))
 *   yield* broker.subscribe("news")
 *   yield* broker.publish("news", { headline: "hi" })
 * }).pipe(Effect.scoped, Effect.provide(BrokerMemory.layer))
 * ```
 */
import { BrokerError } from "@effect-socketcluster/protocol"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Queue from "effect/Queue"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import type { GapReason, HistoryRead, StreamPosition } from "./History.js"

/** A publication as the broker delivers it to this process. */
export interface Publication {
  readonly channel: string
  readonly data: unknown
  /** Its offset in the channel's history (absent when history is off for the channel). */
  readonly offset?: number | undefined
  /** The epoch of the channel's history stream (present with `offset`). */
  readonly epoch?: string | undefined
}

/**
 * Called synchronously, in publish order per channel, for every publication on a channel
 * this process subscribed. `offset` and `epoch` are given for channels with history;
 * `json`, when the broker has it at hand, is the data's JSON text, `Payload.plainJson(data)`
 * (the memory broker keeps it as history; the Redis broker receives it after the "J" of a
 * `Payload.encode` message), so fan-out need not encode the data again.
 */
export type PublicationHandler = (
  channel: string,
  data: unknown,
  offset?: number,
  epoch?: string,
  json?: string
) => void

/** What a broker layer reports about its own health (the server re-emits these as `notice` events). */
export type BrokerNotice =
  | { readonly _tag: "ConnectionLost"; readonly message: string }
  | { readonly _tag: "ConnectionRestored"; readonly downtimeMs: number; readonly resubscribed: number }
  | {
      /** The channels caught up from history after a reconnection, before live delivery resumed. */
      readonly _tag: "Recovered"
      readonly channels: number
      /** Publications delivered from history (they were missed live). */
      readonly replayed: number
    }
  | {
      /**
       * Publications on `channel` may have been missed: its history could not prove
       * otherwise (see `GapReason`). Delivery goes on from `position`.
       */
      readonly _tag: "HistoryGap"
      readonly channel: string
      readonly reason: GapReason
      /** Where this process stood. */
      readonly previous: StreamPosition
      /** Where the stream stands now. */
      readonly position: StreamPosition | undefined
    }

/**
 * The history side of a broker (optional: a broker without it delivers at most once).
 * Which channels have history, and how much, is the broker's configuration.
 */
export interface BrokerHistory {
  /** Where `channel`'s stream stands now (`{ offset: 0, epoch: "" }` before its first publication); undefined when history is off for it. */
  readonly position: (channel: string) => Effect.Effect<StreamPosition | undefined, BrokerError>
  /** The publications after `since`, oldest first, and whether that is all of them. */
  readonly read: (channel: string, since: StreamPosition) => Effect.Effect<HistoryRead, BrokerError>
}

/** Running totals of a broker's history work (monotonic; exported as metrics). */
export interface BrokerStats {
  /** Publications appended to a history stream. */
  appends: number
  /** Channels caught up from history after a reconnection or on a client's request. */
  recoveries: number
  /** Publications delivered from history. */
  replayed: number
  /** Gaps found: history could not cover what was missed. */
  gaps: number
}

/** A fresh set of zeroed {@link BrokerStats}. */
export const makeStats = (): BrokerStats => ({ appends: 0, recoveries: 0, replayed: 0, gaps: 0 })

export interface BrokerShape {
  /**
   * Declares this process's interest in `channel`. The server calls it once when the
   * first local subscriber appears; a broker may treat repeated calls as no-ops.
   */
  readonly subscribe: (channel: string) => Effect.Effect<void, BrokerError>
  /** Withdraws this process's interest in `channel` (called when the last local subscriber leaves). */
  readonly unsubscribe: (channel: string) => Effect.Effect<void, BrokerError>
  /**
   * Publishes `data` (a value the codec can encode) to every process subscribed to `channel`,
   * this one included. Succeeds once the broker has accepted the message.
   */
  readonly publish: (channel: string, data: unknown) => Effect.Effect<void, BrokerError>
  /**
   * Registers the handler that receives publications for the channels this process subscribed,
   * until the scope closes. A callback rather than a stream so that fan-out runs in the same
   * tick as the delivery: no fiber hop per message. {@link publications} gives the stream view.
   */
  readonly onPublication: (handler: PublicationHandler) => Effect.Effect<void, never, Scope.Scope>
  /**
   * An in-process broker that does its work synchronously may offer the same three
   * operations done at once. The server then calls these on its hot paths instead of
   * running the effects, which saves a fiber per new channel, per client publish and per
   * released channel. They must behave exactly as the effects do, and cannot fail.
   */
  readonly immediate?: {
    readonly subscribe: (channel: string) => void
    readonly unsubscribe: (channel: string) => void
    readonly publish: (channel: string, data: unknown) => void
  }
  /** Completes once the broker can serve subscribe and publish. */
  readonly ready: Effect.Effect<void, BrokerError>
  /** Connection-level news (loss, recovery, history gaps); empty for brokers without a connection. */
  readonly notices: Stream.Stream<BrokerNotice>
  /** Channel history (offsets, epochs, reads); absent for brokers without it. */
  readonly history?: BrokerHistory | undefined
  /** History counters; absent for brokers without history. */
  readonly stats?: BrokerStats | undefined
  /**
   * `true` when every subscriber lives in this process (`BrokerMemory`). The server then
   * keeps the exchange data in memory too without a word when no `DataStore` is provided;
   * with any other broker it warns, since the data would stay per process while pub/sub
   * is shared.
   */
  readonly processLocal?: boolean | undefined
}

/**
 * The broker service. Implementations: `BrokerMemory.layer` (embedded default, one
 * process) and `BrokerRedis.layer` from `@effect-socketcluster/broker-redis`.
 * Check a custom implementation with `runBrokerConformance` from
 * `@effect-socketcluster/server/testing`.
 */
export class Broker extends Context.Service<Broker, BrokerShape>()("@effect-socketcluster/server/Broker") {}

/** The usual `onPublication`: keeps `handler` in `handlers` until the scope closes. */
export const addHandler = (
  handlers: Set<PublicationHandler>,
  handler: PublicationHandler
): Effect.Effect<void, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.sync(() => {
      handlers.add(handler)
    }),
    () =>
      Effect.sync(() => {
        handlers.delete(handler)
      })
  )

/**
 * Every publication the broker delivers to this process, as a stream (it registers a
 * handler for as long as the stream runs). Buffered without bound: the consumer must keep up.
 */
export const publications = (broker: BrokerShape): Stream.Stream<Publication> =>
  Stream.callback<Publication>((queue) =>
    broker.onPublication((channel, data, offset, epoch) => {
      Queue.offerUnsafe(queue, offset === undefined ? { channel, data } : { channel, data, offset, epoch })
    })
  )

export type { GapReason, HistoryRead, StreamPosition } from "./History.js"
export { BrokerError }
