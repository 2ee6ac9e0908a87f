/**
 * The Redis broker: the `Broker` contract of `@effect-socketcluster/server` on Redis
 * pub/sub, for servers that run as several processes or on several hosts.
 *
 * Per process: one publishing connection and one subscriber connection (a
 * `duplicate()` of the first) carrying every channel; SUBSCRIBE / UNSUBSCRIBE requests
 * are batched per event-loop turn. The server already reference-counts interest, so
 * Redis hears about a channel once per process. Publications made by this process come
 * back through Redis like everyone else's: local subscribers get each one exactly once,
 * in the order Redis saw them.
 *
 * Channel history (on by default, see `History`): a publication is appended to the
 * channel's Redis Stream and announced on pub/sub by one Lua script, so the publisher's
 * ack means both happened; it carries the channel's offset and epoch. When Redis goes
 * away, publish fails with `BrokerError`, the connections reconnect on the `reconnect`
 * schedule and node-redis resubscribes every live channel; then every history channel
 * is caught up from its last delivered offset before its live publications flow again,
 * so subscribers miss nothing that was acknowledged, in order, exactly once. A channel
 * whose history cannot cover the gap (Redis lost its data: new epoch; or trimmed) is
 * reported with a `HistoryGap` notice. `notices` also reports `ConnectionLost`,
 * `ConnectionRestored` and `Recovered`. Channels with history off keep the old
 * at-most-once behaviour across an outage.
 *
 * @example
 * ```ts
 * import { SCServer } from "@effect-socketcluster/server"
 * import { BrokerRedis } from "@effect-socketcluster/broker-redis"
 * const Server = SCServer.layer({ port: 8000 }).pipe(
 *   Layer.provide(BrokerRedis.layer({ url: "redis://:secret@127.0.0.1:6379" }))
 * )
 * ```
 */
import { Broker } from "@effect-socketcluster/server"
import * as Config from "effect/Config"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as PubSub from "effect/PubSub"
import * as Redacted from "effect/Redacted"
import * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import { createClient } from "redis"
import * as Channels from "./internal/Channels.js"
import * as Delivery from "./internal/Delivery.js"
import * as ReconnectStrategy from "./internal/ReconnectStrategy.js"
import * as StreamScripts from "./internal/StreamScripts.js"
import { SubscriptionBatcher, type SubscriptionCommand } from "./internal/SubscriptionBatcher.js"

/** Options of {@link make} / {@link layer}. */
export interface BrokerRedisOptions extends Channels.CommonOptions {
  /** `redis://[[user][:password]@]host[:port][/db]`, or `rediss://` for TLS. */
  readonly url: string | Redacted.Redacted<string>
}

/**
 * Exponential backoff from 20 ms, capped at 500 ms, jittered (±20%), never giving up:
 * a Redis that is back is used again within about half a second, which keeps the
 * window that history recovery must cover short.
 */
export const defaultReconnect: Schedule.Schedule<unknown, Error> = Schedule.min([
  Schedule.exponential("20 millis"),
  Schedule.spaced("500 millis")
]).pipe(Schedule.jittered)

/**
 * Builds a Redis broker (scoped: closing the scope closes both connections). Does not
 * wait for Redis: the first connection is made in the background and `ready` waits
 * for it (up to `connectTimeout`), so a server can start while Redis is still coming up.
 */
export const make = (options: BrokerRedisOptions): Effect.Effect<Broker.BrokerShape, never, Scope.Scope> =>
  Effect.gen(function* () {
    const connectTimeout = Duration.fromInputUnsafe(options.connectTimeout ?? "5 seconds")
    const prefix = options.prefix ?? "sc:"
    const schedule = options.reconnect ?? defaultReconnect
    // Each connection has its own strategy: the schedule's state is per outage and per connection.
    const socket = () => ({
      connectTimeout: Duration.toMillis(connectTimeout),
      reconnectStrategy: ReconnectStrategy.fromSchedule(schedule)
    })
    const url = Redacted.isRedacted(options.url) ? Redacted.value(options.url) : options.url
    // No offline queue for publishing: while Redis is away a publish fails at once (the publisher gets a BrokerError).
    const publisher = createClient({ url, socket: socket(), disableOfflineQueue: true })
    // The subscriber keeps its offline queue: an UNSUBSCRIBE issued during an outage is sent after the resubscription.
    const subscriber = publisher.duplicate({ socket: socket(), disableOfflineQueue: false })

    /** Channels (without prefix) this process carries; messages on other channels are stragglers and dropped. */
    const live = new Set<string>()
    /** Channels whose UNSUBSCRIBE was lost to an outage; sent again on recovery. */
    const strayed = new Set<string>()
    let everConnected = false
    let lostAt: number | undefined
    let subscriberDropped = false

    // The scripts are loaded on every (re)connection before the first EVALSHA goes out: an
    // EVALSHA answered NOSCRIPT and retried as EVAL would overtake later publications.
    let scriptsLoaded = false
    let awaitingScripts: Array<() => void> = []
    const releaseScriptWaiters = () => {
      const waiting = awaitingScripts
      awaitingScripts = []
      for (const send of waiting) send()
    }
    publisher.on("ready", () => {
      scriptsLoaded = false
      Promise.all(
        [StreamScripts.append, StreamScripts.read].map((script) =>
          publisher.sendCommand(["SCRIPT", "LOAD", script.source])
        )
      ).then(
        () => {
          scriptsLoaded = true
          releaseScriptWaiters()
        },
        // The connection failed again: the waiters fail on their own when they send.
        releaseScriptWaiters
      )
    })
    const sendScript = (script: StreamScripts.Script, args: ReadonlyArray<string>): Promise<unknown> =>
      publisher
        .sendCommand(["EVALSHA", script.sha, "2", ...args])
        .catch((error: unknown) =>
          StreamScripts.isNoScript(error)
            ? publisher.sendCommand(["EVAL", script.source, "2", ...args])
            : Promise.reject(error)
        )
    const evalScript = (script: StreamScripts.Script, args: ReadonlyArray<string>): Promise<unknown> => {
      if (scriptsLoaded || !publisher.isReady) return sendScript(script, args)
      return new Promise((resolve, reject) => {
        awaitingScripts.push(() => {
          sendScript(script, args).then(resolve, reject)
        })
      })
    }

    const channels = yield* Channels.make(
      options,
      "Redis broker",
      {
        evalScript: (script, channel, args) =>
          evalScript(script, [
            StreamScripts.streamKey(prefix, channel),
            StreamScripts.metaKey(prefix, channel),
            ...args
          ]),
        readMeta: (channel) => publisher.hmGet(StreamScripts.metaKey(prefix, channel), ["o", "e"]),
        pubSubChannel: (channel) => prefix + channel,
        publish: (redisChannel, message) => publisher.publish(redisChannel, message),
        publishCommand: "PUBLISH"
      },
      // Before the first connection, wait for it (a server accepts sockets before the broker is
      // up); once started, an outage fails fast instead.
      (ready) => (effect) => Effect.suspend(() => (everConnected ? effect : Effect.andThen(ready, effect)))
    )
    const { connected, notices, unavailable, policyOf } = channels
    const { recovery, receive, onPublication } = channels.inbound
    const { started } = channels

    const onMessage = (message: string, redisChannel: string): void => {
      const channel = redisChannel.slice(prefix.length)
      if (live.has(channel)) receive(channel, message)
    }

    const batcher = new SubscriptionBatcher((command: SubscriptionCommand, channels) => {
      const redisChannels = channels.map((channel) => prefix + channel)
      if (command === "unsubscribe") return subscriber.unsubscribe(redisChannels, onMessage)
      const subscribed = subscriber.subscribe(redisChannels, onMessage)
      // Read on the subscriber connection, after SUBSCRIBE (RESP3 allows commands there): the
      // reply comes after every publication already pushed to us, so it marks exactly where
      // live delivery began.
      const settled = channels.flatMap((channel) =>
        recovery.has(channel)
          ? [
              subscriber
                .hmGet(StreamScripts.metaKey(prefix, channel), ["o", "e"])
                .then((meta) => recovery.settle(channel, Delivery.positionFrom(meta)))
            ]
          : []
      )
      return settled.length === 0 ? subscribed : Promise.all([subscribed, ...settled])
    })

    const sendUnsubscribe = (channel: string): void =>
      batcher.request(
        "unsubscribe",
        channel,
        () => strayed.delete(channel),
        () => {
          strayed.add(channel)
        }
      )

    const bothReady = () => publisher.isReady && subscriber.isReady

    const onDown = (error: unknown): void => {
      // An error on a live connection (e.g. a command error) is not an outage.
      if (bothReady()) return
      if (!subscriber.isReady) subscriberDropped = true
      if (!publisher.isReady) scriptsLoaded = false
      connected.closeUnsafe()
      if (!everConnected || lostAt !== undefined) return
      recovery.suspend()
      lostAt = Date.now()
      PubSub.publishUnsafe(notices, { _tag: "ConnectionLost", message: Channels.describe(error) })
    }

    const onReady = (): void => {
      if (!bothReady()) return
      everConnected = true
      connected.openUnsafe()
      if (lostAt === undefined) return
      const downtimeMs = Date.now() - lostAt
      lostAt = undefined
      for (const channel of strayed) if (!live.has(channel)) sendUnsubscribe(channel)
      strayed.clear()
      // node-redis resubscribes before it reports 'ready': these channels are carried again.
      const resubscribed = subscriberDropped ? live.size : 0
      subscriberDropped = false
      PubSub.publishUnsafe(notices, { _tag: "ConnectionRestored", downtimeMs, resubscribed })
      channels.recoverAll()
    }

    for (const client of [publisher, subscriber]) {
      client.on("error", onDown)
      client.on("reconnecting", () => onDown(new Error("reconnecting")))
      client.on("ready", onReady)
    }

    yield* Effect.addFinalizer(() =>
      Effect.sync(() => {
        batcher.close(new Error("Redis broker closed"))
        for (const client of [subscriber, publisher]) {
          // destroy() throws when the client already gave up reconnecting; nothing is left to release then.
          if (client.isOpen) client.destroy()
        }
      })
    )
    // Both connect in the background; connect() settles once connected or when the schedule gives up.
    for (const client of [publisher, subscriber]) client.connect().catch(() => undefined)

    return Broker.Broker.of({
      subscribe: (channel) =>
        started(
          Effect.suspend(() => {
            if (!subscriber.isReady) return Effect.fail(unavailable(new Error("not connected")))
            live.add(channel)
            strayed.delete(channel)
            if (policyOf(channel) !== undefined && !recovery.has(channel)) recovery.track(channel)
            return Effect.callback<void, Broker.BrokerError>((resume) => {
              batcher.request(
                "subscribe",
                channel,
                () => resume(Effect.void),
                (error) => {
                  live.delete(channel)
                  recovery.untrack(channel)
                  resume(Effect.fail(unavailable(error)))
                }
              )
            })
          })
        ),
      unsubscribe: (channel) =>
        Effect.suspend(() => {
          // Local delivery stops now; Redis stops sending once it has the UNSUBSCRIBE.
          if (!live.delete(channel)) return Effect.void
          recovery.untrack(channel)
          if (!subscriber.isReady) {
            // Sent after the resubscription; no point waiting for an outage to end.
            sendUnsubscribe(channel)
            return Effect.void
          }
          return Effect.callback<void>((resume) => {
            batcher.request(
              "unsubscribe",
              channel,
              () => resume(Effect.void),
              () => {
                strayed.add(channel)
                resume(Effect.void)
              }
            )
          })
        }),
      publish: channels.publish,
      onPublication,
      ready: channels.ready,
      notices: Stream.fromPubSub(notices),
      history: channels.history,
      stats: channels.stats
    })
  })

/** The Redis broker as a layer; provide it to `SCServer.layer`. */
export const layer = (options: BrokerRedisOptions): Layer.Layer<Broker.Broker> =>
  Layer.effect(Broker.Broker, make(options))

/**
 * The options from the environment: `BROKER_URL` (required, redacted in logs) and
 * `BROKER_PREFIX` (default `"sc:"`). History keeps its defaults.
 */
export const config: Config.Config<BrokerRedisOptions> = Config.all({
  url: Config.Redacted("BROKER_URL"),
  prefix: Config.String("BROKER_PREFIX").pipe(Config.withDefault("sc:"))
})

/** {@link layer} with options read by {@link config} (`BROKER_URL`, `BROKER_PREFIX`). */
export const layerConfig: Layer.Layer<Broker.Broker, Config.ConfigError> = Layer.effect(
  Broker.Broker,
  Effect.gen(function* () {
    return yield* make(yield* config)
  })
)
