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
import { Broker } from "@effect-socketcluster/server"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as PubSub from "effect/PubSub"
import * as Redacted from "effect/Redacted"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import { createCluster } from "redis"
import { defaultReconnect } from "./BrokerRedis.js"
import * as Channels from "./internal/Channels.js"
import * as ReconnectStrategy from "./internal/ReconnectStrategy.js"
import * as StreamScripts from "./internal/StreamScripts.js"

/** Options of {@link make} / {@link layer}. */
export interface BrokerRedisClusterOptions extends Channels.CommonOptions {
  /** Some nodes of the cluster (`redis://host:port`); the rest is discovered. */
  readonly rootNodes: ReadonlyArray<string | Redacted.Redacted<string>>
}

/** Builds a sharded Redis Cluster broker (scoped: closing the scope closes every node connection). */
export const make = (options: BrokerRedisClusterOptions): Effect.Effect<Broker.BrokerShape, never, Scope.Scope> =>
  Effect.gen(function* () {
    const prefix = options.prefix ?? "sc:"
    const connectTimeout = Duration.fromInputUnsafe(options.connectTimeout ?? "5 seconds")
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
    const shardChannel = (channel: string) => `${prefix}{${channel}}`
    const channels = yield* Channels.make(
      options,
      "Redis cluster broker",
      {
        // EVAL rather than EVALSHA: the script would have to be loaded on every master, and a
        // NOSCRIPT retry would let a publication overtake the next one. Redis caches the compiled script.
        evalScript: (script, channel, args) => {
          const stream = StreamScripts.streamKey(prefix, channel)
          return cluster.sendCommand(stream, false, [
            "EVAL",
            script.source,
            "2",
            stream,
            StreamScripts.metaKey(prefix, channel),
            ...args
          ])
        },
        readMeta: (channel) => cluster.hmGet(StreamScripts.metaKey(prefix, channel), ["o", "e"]),
        pubSubChannel: shardChannel,
        publish: (redisChannel, message) => cluster.sPublish(redisChannel, message),
        publishCommand: "SPUBLISH"
      },
      (ready) => (effect) => Effect.andThen(ready, effect)
    )
    const { recovery, receive, onPublication } = channels.inbound
    const attempt = <A>(f: () => Promise<A>): Effect.Effect<A, Broker.BrokerError> =>
      channels.started(Effect.tryPromise({ try: f, catch: channels.unavailable }))
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
      PubSub.publishUnsafe(channels.notices, {
        _tag: "ConnectionLost",
        message: "a cluster node connection is reconnecting"
      })
    })
    cluster.on("node-ready", () => {
      if (!reconnecting) return
      reconnecting = false
      channels.recoverAll()
    })
    cluster.on("error", () => {})

    yield* Effect.addFinalizer(() =>
      Effect.sync(() => {
        if (cluster.isOpen) cluster.destroy()
      })
    )
    cluster.connect().then(
      () => channels.connected.openUnsafe(),
      () => undefined
    )

    return Broker.Broker.of({
      subscribe: (channel) =>
        attempt(async () => {
          if (live.has(channel)) return
          live.add(channel)
          try {
            if (channels.policyOf(channel) === undefined)
              return await cluster.sSubscribe(shardChannel(channel), onMessage)
            // The shard's subscriber connection is not ours to query: read where the stream stands,
            // subscribe, then catch up whatever was published in between.
            recovery.track(channel)
            recovery.settle(channel, await channels.readPosition(channel))
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
      publish: channels.publish,
      onPublication,
      ready: channels.ready,
      notices: Stream.fromPubSub(channels.notices),
      history: channels.history,
      stats: channels.stats
    })
  })

/** The sharded Redis Cluster broker as a layer; provide it to `SCServer.layer`. */
export const layer = (options: BrokerRedisClusterOptions): Layer.Layer<Broker.Broker> =>
  Layer.effect(Broker.Broker, make(options))
