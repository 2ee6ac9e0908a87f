/**
 * The Redis broker for a Redis Cluster, in sharded mode: channels are shard channels
 * (SPUBLISH / SSUBSCRIBE, Redis 7), so a publication travels only inside the shard that
 * owns its channel instead of being broadcast to every node, and each channel's history
 * stream and meta hash live in that same shard (keys with the channel as hash tag).
 *
 * Same contract and history as `BrokerRedis`: a publication is appended to the
 * channel's stream and announced with SPUBLISH by one Lua script (EVAL, routed by key);
 * every history channel is delivered in order, exactly once, caught up from history
 * when a publication was missed or a node connection came back.
 *
 * @example
 * ```ts
 * const Broker = BrokerRedisCluster.layer({
 *   rootNodes: ["redis://10.0.0.1:7000", "redis://10.0.0.2:7000", "redis://10.0.0.3:7000"]
 * })
 * const Server = SCServer.layer({ port: 8000 }).pipe(Layer.provide(Broker))
 * ```
 */
import { Broker, History } from "@effect-socketcluster/server"
import { Duration, Effect, Latch, Layer, PubSub, Redacted, type Schedule, type Scope, Stream } from "effect"
import { createCluster } from "redis"
import { defaultReconnect } from "./BrokerRedis.js"
import * as Delivery from "./internal/Delivery.js"
import * as ReconnectStrategy from "./internal/ReconnectStrategy.js"
import * as StreamScripts from "./internal/StreamScripts.js"

/** Options of {@link make} / {@link layer}. */
export interface BrokerRedisClusterOptions {
  /** Some nodes of the cluster (`redis://host:port`); the rest is discovered. */
  readonly rootNodes: ReadonlyArray<string | Redacted.Redacted<string>>
  /** Prepended to every key and channel (default `"sc:"`); processes of one app must agree. */
  readonly prefix?: string | undefined
  /** How long one connection attempt may take, and how long `ready` waits (default 5 seconds). */
  readonly connectTimeout?: Duration.Input | undefined
  /** Delays between reconnection attempts of each node connection (default `BrokerRedis.defaultReconnect`). */
  readonly reconnect?: Schedule.Schedule<unknown, Error> | undefined
  /** Channel history per channel-name pattern (default: `History.defaultPolicy`). */
  readonly history?: History.HistoryConfig | undefined
  /** How long a channel's offset and epoch outlive its last publication (default 1 day). */
  readonly historyMetaTtl?: Duration.Input | undefined
}

const describe = (error: unknown): string => (error instanceof Error ? error.message : String(error))

const unavailable = (error: unknown) =>
  new Broker.BrokerError({ message: `Redis cluster broker unavailable: ${describe(error)}` })

/** Builds a sharded Redis Cluster broker (scoped: closing the scope closes every node connection). */
export const make = (options: BrokerRedisClusterOptions): Effect.Effect<Broker.BrokerShape, never, Scope.Scope> =>
  Effect.gen(function* () {
    const prefix = options.prefix ?? "sc:"
    const policyOf = History.compile(options.history)
    const metaTtl = String(Duration.toMillis(Duration.fromInputUnsafe(options.historyMetaTtl ?? "1 day")))
    const connectTimeout = Duration.fromInputUnsafe(options.connectTimeout ?? "5 seconds")
    const stats = Broker.makeStats()
    const cluster = createCluster({
      rootNodes: options.rootNodes.map((url) => ({ url: Redacted.isRedacted(url) ? Redacted.value(url) : url })),
      defaults: {
        socket: {
          connectTimeout: Duration.toMillis(connectTimeout),
          reconnectStrategy: ReconnectStrategy.fromSchedule(options.reconnect ?? defaultReconnect)
        },
        disableOfflineQueue: true
      }
    })
    const live = new Set<string>()
    const notices = yield* Effect.acquireRelease(PubSub.unbounded<Broker.BrokerNotice>(), PubSub.shutdown)
    const connected = Latch.makeUnsafe(false)

    const ready: Effect.Effect<void, Broker.BrokerError> = connected.await.pipe(
      Effect.timeoutOrElse({
        duration: connectTimeout,
        orElse: () =>
          Effect.fail(
            new Broker.BrokerError({
              message: `Redis cluster broker not connected within ${Duration.format(connectTimeout)}`
            })
          )
      })
    )
    const started = <A>(effect: Effect.Effect<A, Broker.BrokerError>): Effect.Effect<A, Broker.BrokerError> =>
      Effect.andThen(ready, effect)
    const attempt = <A>(f: () => Promise<A>): Effect.Effect<A, Broker.BrokerError> =>
      started(Effect.tryPromise({ try: f, catch: unavailable }))

    const shardChannel = (channel: string) => `${prefix}{${channel}}`
    // EVAL rather than EVALSHA: the script would have to be loaded on every master, and a
    // NOSCRIPT retry would let a publication overtake the next one. Redis caches the compiled script.
    const evalScript = (script: StreamScripts.Script, channel: string, args: ReadonlyArray<string>) => {
      const stream = StreamScripts.streamKey(prefix, channel)
      return cluster.sendCommand(stream, false, [
        "EVAL",
        script.source,
        "2",
        stream,
        StreamScripts.metaKey(prefix, channel),
        ...args
      ])
    }
    const readHistory = async (channel: string, since: History.StreamPosition): Promise<History.HistoryRead> => {
      if (policyOf(channel) === undefined) return Delivery.noHistory
      const reply = await evalScript(StreamScripts.read, channel, [String(since.offset), since.epoch])
      return Delivery.historyRead(reply, since)
    }
    const readPosition = async (channel: string): Promise<History.StreamPosition> => {
      return Delivery.positionFrom(await cluster.hmGet(StreamScripts.metaKey(prefix, channel), ["o", "e"]))
    }
    const { recovery, receive, onPublication } = Delivery.makeInbound({
      label: "BrokerRedisCluster",
      read: readHistory,
      notices,
      stats
    })
    const onMessage = (message: string, redisChannel: string): void => {
      const channel = redisChannel.slice(prefix.length + 1, -1)
      if (live.has(channel)) receive(channel, message)
    }

    // A node connection that comes back may have missed publications: every channel catches up.
    let reconnecting = false
    cluster.on("node-reconnecting", () => {
      if (reconnecting) return
      reconnecting = true
      recovery.suspend()
      PubSub.publishUnsafe(notices, { _tag: "ConnectionLost", message: "a cluster node connection is reconnecting" })
    })
    cluster.on("node-ready", () => {
      if (!reconnecting) return
      reconnecting = false
      recovery.resumeAll().then(
        ({ channels, replayed }) => {
          if (channels > 0) PubSub.publishUnsafe(notices, { _tag: "Recovered", channels, replayed })
        },
        () => undefined
      )
    })
    cluster.on("error", () => {})

    yield* Effect.addFinalizer(() =>
      Effect.sync(() => {
        if (cluster.isOpen) cluster.destroy()
      })
    )
    cluster.connect().then(
      () => connected.openUnsafe(),
      () => undefined
    )

    return Broker.Broker.of({
      subscribe: (channel) =>
        attempt(async () => {
          if (live.has(channel)) return
          live.add(channel)
          try {
            if (policyOf(channel) === undefined) return await cluster.sSubscribe(shardChannel(channel), onMessage)
            // The shard's subscriber connection is not ours to query: read where the stream stands,
            // subscribe, then catch up whatever was published in between.
            recovery.track(channel)
            recovery.settle(channel, await readPosition(channel))
            await cluster.sSubscribe(shardChannel(channel), onMessage)
            await recovery.resync(channel)
          } catch (error) {
            live.delete(channel)
            recovery.untrack(channel)
            throw error
          }
        }),
      unsubscribe: (channel) =>
        Effect.suspend(() => {
          if (!live.delete(channel)) return Effect.void
          recovery.untrack(channel)
          return Effect.promise(() => cluster.sUnsubscribe(shardChannel(channel), onMessage).catch(() => undefined))
        }),
      publish: (channel, data) =>
        started(
          Effect.flatMap(Delivery.encodePublication(data), (message) => {
            const policy = policyOf(channel)
            const sent =
              policy === undefined
                ? cluster.sPublish(shardChannel(channel), message)
                : evalScript(
                    StreamScripts.append,
                    channel,
                    StreamScripts.appendArgs(policy, shardChannel(channel), message, metaTtl, "SPUBLISH")
                  ).then(() => {
                    stats.appends++
                  })
            return Delivery.settle(sent, unavailable)
          })
        ),
      onPublication,
      ready,
      notices: Stream.fromPubSub(notices),
      history: {
        position: (channel) =>
          policyOf(channel) === undefined ? Effect.succeed(undefined) : attempt(() => readPosition(channel)),
        read: (channel, since) => attempt(() => readHistory(channel, since))
      },
      stats
    })
  })

/** The sharded Redis Cluster broker as a layer; provide it to `SCServer.layer`. */
export const layer = (options: BrokerRedisClusterOptions): Layer.Layer<Broker.Broker> =>
  Layer.effect(Broker.Broker, make(options))
