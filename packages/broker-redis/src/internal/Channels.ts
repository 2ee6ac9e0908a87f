/**
 * What the single-node and the cluster broker share around their connections: the
 * common options, the `ready` latch, notices, and the channel side of the contract —
 * history reads, the inbound path and the publish path (plain or appended to the
 * channel's stream) — over a small {@link Transport} each broker implements with its
 * own Redis commands.
 */
import { Broker, History } from "@effect-socketcluster/server"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Latch from "effect/Latch"
import * as PubSub from "effect/PubSub"
import type * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"
import * as Delivery from "./Delivery.js"
import * as StreamScripts from "./StreamScripts.js"

/** The options both brokers take. */
export interface CommonOptions {
  /**
   * Prepended to every key and channel name in Redis, so that several apps can share one
   * Redis (default `"sc:"`). Processes of one app must use the same prefix.
   */
  readonly prefix?: string | undefined
  /** How long one connection attempt may take, and how long `ready` waits for the first one (default 5 seconds). */
  readonly connectTimeout?: Duration.Input | undefined
  /**
   * Delays between reconnection attempts, restarted for each outage (input: the
   * connection error). Default `BrokerRedis.defaultReconnect`. When it ends the broker
   * stops reconnecting and stays unavailable.
   */
  readonly reconnect?: Schedule.Schedule<unknown, Error> | undefined
  /** Channel history per channel-name pattern (default: `History.defaultPolicy` for every channel). */
  readonly history?: History.HistoryConfig | undefined
  /**
   * How long a channel's offset and epoch outlive its last publication (default 1 day).
   * After that the next publication starts a new epoch.
   */
  readonly historyMetaTtl?: Duration.Input | undefined
}

/** The Redis commands a broker runs for one channel. */
export interface Transport {
  /** Runs a stream script with the channel's stream and meta keys, then `args`. */
  readonly evalScript: (script: StreamScripts.Script, channel: string, args: ReadonlyArray<string>) => Promise<unknown>
  /** `HMGET <meta> o e` for the channel. */
  readonly readMeta: (channel: string) => Promise<ReadonlyArray<string | null | undefined>>
  /** The Redis pub/sub channel of a channel. */
  readonly pubSubChannel: (channel: string) => string
  /** Publishes on the Redis channel without history. */
  readonly publish: (redisChannel: string, message: string) => Promise<unknown>
  /** The command the append script announces with. */
  readonly publishCommand: "PUBLISH" | "SPUBLISH"
}

export const describe = (error: unknown): string => (error instanceof Error ? error.message : String(error))

/** The state and channel operations of one broker. */
export interface Channels {
  readonly prefix: string
  readonly policyOf: (channel: string) => History.ResolvedPolicy | undefined
  readonly connectTimeout: Duration.Duration
  readonly stats: Broker.BrokerStats
  readonly notices: PubSub.PubSub<Broker.BrokerNotice>
  /** Open while connected. */
  readonly connected: Latch.Latch
  /** Waits for a connection, at most `connectTimeout`. */
  readonly ready: Effect.Effect<void, Broker.BrokerError>
  /** Runs an operation as the broker's `Started` says (waiting for the first connection, or not). */
  readonly started: <A>(effect: Effect.Effect<A, Broker.BrokerError>) => Effect.Effect<A, Broker.BrokerError>
  /** The `BrokerError` a publisher or subscriber gets while Redis is away. */
  readonly unavailable: (error: unknown) => Broker.BrokerError
  readonly inbound: Delivery.Inbound
  readonly readPosition: (channel: string) => Promise<History.StreamPosition>
  /** `BrokerShape.publish`, run through `started`. */
  readonly publish: (channel: string, data: unknown) => Effect.Effect<void, Broker.BrokerError>
  /** `BrokerShape.history`. */
  readonly history: Broker.BrokerHistory
  /** Catches every history channel up (after a reconnection) and says so with a `Recovered` notice. */
  readonly recoverAll: () => void
}

/** How a broker runs an operation given its `ready`: wait for the first connection, or not. */
export type Started = (
  ready: Effect.Effect<void, Broker.BrokerError>
) => <A>(effect: Effect.Effect<A, Broker.BrokerError>) => Effect.Effect<A, Broker.BrokerError>

/** Builds the shared part of a broker (`label` names it in errors and logs). */
export const make = (
  options: CommonOptions,
  label: string,
  transport: Transport,
  started: Started
): Effect.Effect<Channels, never, Scope.Scope> =>
  Effect.gen(function* () {
    const prefix = options.prefix ?? "sc:"
    const policyOf = History.compile(options.history)
    const metaTtl = String(Duration.toMillis(Duration.fromInputUnsafe(options.historyMetaTtl ?? "1 day")))
    const connectTimeout = Duration.fromInputUnsafe(options.connectTimeout ?? "5 seconds")
    const stats = Broker.makeStats()
    const notices = yield* Effect.acquireRelease(PubSub.unbounded<Broker.BrokerNotice>(), PubSub.shutdown)
    const connected = Latch.makeUnsafe(false)
    const unavailable = (error: unknown) =>
      new Broker.BrokerError({ message: `${label} unavailable: ${describe(error)}` })
    const ready: Effect.Effect<void, Broker.BrokerError> = connected.await.pipe(
      Effect.timeoutOrElse({
        duration: connectTimeout,
        orElse: () =>
          Effect.fail(
            new Broker.BrokerError({ message: `${label} not connected within ${Duration.format(connectTimeout)}` })
          )
      })
    )
    const run = started(ready)
    const attempt = <A>(f: () => Promise<A>) => run(Effect.tryPromise({ try: f, catch: unavailable }))

    const readHistory = async (channel: string, since: History.StreamPosition): Promise<History.HistoryRead> => {
      if (policyOf(channel) === undefined) return Delivery.noHistory
      const reply = await transport.evalScript(StreamScripts.read, channel, [String(since.offset), since.epoch])
      return Delivery.historyRead(reply, since)
    }
    const readPosition = async (channel: string): Promise<History.StreamPosition> =>
      Delivery.positionFrom(await transport.readMeta(channel))
    const inbound = Delivery.makeInbound({ label, read: readHistory, notices, stats })

    return {
      prefix,
      policyOf,
      connectTimeout,
      stats,
      notices,
      connected,
      ready,
      started: run,
      unavailable,
      inbound,
      readPosition,
      publish: (channel, data) =>
        run(
          Effect.flatMap(Delivery.encodePublication(data), (message) => {
            const t = transport
            const policy = policyOf(channel)
            const redisChannel = t.pubSubChannel(channel)
            const sent =
              policy === undefined
                ? t.publish(redisChannel, message)
                : t
                    .evalScript(
                      StreamScripts.append,
                      channel,
                      StreamScripts.appendArgs(policy, redisChannel, message, metaTtl, t.publishCommand)
                    )
                    .then(() => {
                      stats.appends++
                    })
            return Delivery.settle(sent, unavailable)
          })
        ),
      history: {
        position: (channel) =>
          policyOf(channel) === undefined ? Effect.succeed(undefined) : attempt(() => readPosition(channel)),
        read: (channel, since) => attempt(() => readHistory(channel, since))
      },
      recoverAll: () => {
        inbound.recovery.resumeAll().then(
          ({ channels, replayed }) => {
            if (channels > 0) PubSub.publishUnsafe(notices, { _tag: "Recovered", channels, replayed })
          },
          () => undefined
        )
      }
    }
  })
