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
import { Context, type Effect, Queue, type Scope, Stream } from "effect"

/** A publication as the broker delivers it to this process. */
export interface Publication {
  readonly channel: string
  readonly data: unknown
}

/** Called synchronously, in publish order per channel, for every publication on a channel this process subscribed. */
export type PublicationHandler = (channel: string, data: unknown) => void

/** What a broker layer reports about its own health (the server re-emits these as `notice` events). */
export type BrokerNotice =
  | { readonly _tag: "ConnectionLost"; readonly message: string }
  | { readonly _tag: "ConnectionRestored"; readonly downtimeMs: number; readonly resubscribed: number }

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
  /** Completes once the broker can serve subscribe and publish. */
  readonly ready: Effect.Effect<void, BrokerError>
  /** Connection-level news (loss, recovery); empty for brokers without a connection. */
  readonly notices: Stream.Stream<BrokerNotice>
}

/**
 * The broker service. Implementations: `BrokerMemory.layer` (embedded default, one
 * process) and `BrokerRedis.layer` from `@effect-socketcluster/broker-redis`.
 * Check a custom implementation with `runBrokerConformance` from
 * `@effect-socketcluster/server/testing`.
 */
export class Broker extends Context.Service<Broker, BrokerShape>()("@effect-socketcluster/server/Broker") {}

/**
 * Every publication the broker delivers to this process, as a stream (it registers a
 * handler for as long as the stream runs). Buffered without bound: the consumer must keep up.
 */
export const publications = (broker: BrokerShape): Stream.Stream<Publication> =>
  Stream.callback<Publication>((queue) =>
    broker.onPublication((channel, data) => {
      Queue.offerUnsafe(queue, { channel, data })
    })
  )

export { BrokerError }
