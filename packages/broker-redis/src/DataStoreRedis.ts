/**
 * The exchange's data API on Redis: the `DataStore` contract of
 * `@effect-socketcluster/server` for servers on several hosts.
 *
 * Layout: each top-level key (the first key of a chain) is one Redis string
 * `<prefix>data:{<key>}` holding that subtree as JSON; the `{…}` hash tag puts it on its
 * own cluster slot, so keys shard over a Redis Cluster as channels do. A command on a
 * chain reads the subtree, applies the key-chain semantics (the same `KeyChainMap` code
 * as the in-memory store and the broker processes), and writes it back with a
 * server-side compare-and-set script: the write happens only if nobody changed the
 * subtree meanwhile, else the command is retried, so concurrent writers on many hosts
 * never lose each other's updates. Expiries are a sorted set `<prefix>data-expiry`
 * (chain → Unix seconds); every process sweeps it every `expiryAccuracy`, taking due
 * entries out atomically with a script, so each expiry is carried out once.
 *
 * Refused on Redis: running user code (v14's `exec`/`run`, `query`). Redis runs Lua, not
 * an app's JavaScript, and this layer never sends script text built from anything but
 * its own constants — keys and values travel only as script arguments, so client input
 * cannot become code. Apps that need `exec` use the framework's broker processes.
 *
 * @example
 * ```ts
 * const Server = SCServer.layer({ port: 8000 }).pipe(
 *   Layer.provide(BrokerRedis.layer({ url })),
 *   Layer.provide(DataStoreRedis.layer({ url }))
 * )
 * ```
 */
import { DataCommand, DataStore, Expiries, KeyChainMap } from "@effect-socketcluster/server"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"
import { createClient } from "redis"

export interface DataStoreRedisOptions {
  /** `redis://[[user][:password]@]host[:port][/db]`, or `rediss://` for TLS. */
  readonly url: string | Redacted.Redacted<string>
  /** Prepended to every Redis key (default `"sc:"`); processes of one app share it. */
  readonly prefix?: string | undefined
  /** How often this process sweeps due expiries (default 1 second). */
  readonly expiryAccuracy?: Duration.Input | undefined
}

/** Writes `ARGV[2]` (or deletes, for `""`) only if the key still holds `ARGV[1]` (`""` = absent). */
const compareAndSet = `
local current = redis.call('GET', KEYS[1]) or ''
if current ~= ARGV[1] then return 0 end
if ARGV[2] == '' then redis.call('DEL', KEYS[1]) else redis.call('SET', KEYS[1], ARGV[2]) end
return 1`

/** Takes out and returns the members due at `ARGV[1]` (Unix seconds). */
const takeDue = `
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if #due > 0 then redis.call('ZREM', KEYS[1], unpack(due)) end
return due`

const readOnly = new Set<DataCommand.DataAction>(["get", "getRange", "count", "hasKey"])
const maxAttempts = 50

const describe = (error: unknown): string => (error instanceof Error ? error.message : String(error))

/** Builds the store (scoped: closing the scope stops the sweep and closes the connection). */
export const make = (options: DataStoreRedisOptions): Effect.Effect<DataStore.DataStoreShape, never, Scope.Scope> =>
  Effect.gen(function* () {
    const prefix = options.prefix ?? "sc:"
    const expiryKey = `${prefix}data-expiry`
    const url = Redacted.isRedacted(options.url) ? Redacted.value(options.url) : options.url
    const client = yield* Effect.acquireRelease(
      Effect.sync(() => {
        const c = createClient({ url })
        c.on("error", () => {})
        void c.connect().catch(() => {})
        return c
      }),
      (c) => Effect.promise(() => c.close().catch(() => {}))
    )
    const redis = <A>(f: () => Promise<A>) =>
      Effect.tryPromise({
        try: f,
        catch: (cause) =>
          new DataStore.DataStoreError({
            reason: "Unavailable",
            message: `Redis data store: ${describe(cause)}`,
            cause
          })
      })
    const keyOf = (head: DataStore.Key) => `${prefix}data:{${String(head)}}`
    const headOfKey = (key: string) => key.slice(prefix.length + 6, -1)
    const dataKeys = Effect.gen(function* () {
      const keys: Array<string> = []
      yield* redis(async () => {
        for await (const batch of client.scanIterator({ MATCH: `${prefix}data:{*}`, COUNT: 500 })) keys.push(...batch)
      })
      return keys
    })

    /** Applies a keyed command to its subtree, retrying when another writer got there first. */
    const onSubtree = (command: Extract<DataCommand.DataCommand, { key: DataStore.KeyChain }>) =>
      Effect.gen(function* () {
        const head = DataStore.headOf(command.key)
        const key = keyOf(head)
        for (let attempt = 0; attempt < maxAttempts; attempt++) {
          const raw = (yield* redis(() => client.get(key))) ?? ""
          const map = new KeyChainMap.KeyChainMap()
          if (raw !== "") map.set(head, JSON.parse(raw))
          const now = yield* Clock.currentTimeMillis
          const result = DataCommand.apply(map, new Expiries.Expiries(), now, command)
          if (readOnly.has(command.action)) return result
          const next = map.hasKey(head) ? JSON.stringify(map.get(head)) : ""
          if (next === raw) return result
          const written = yield* redis(() => client.eval(compareAndSet, { keys: [key], arguments: [raw, next] }))
          if (written === 1) return result
        }
        return yield* new DataStore.DataStoreError({
          reason: "Timeout",
          message: `Redis data store: ${String(head)} kept changing; gave up after ${maxAttempts} attempts`
        })
      })

    const run: DataCommand.Runner = (command) => {
      switch (command.action) {
        case "getAll":
          return Effect.gen(function* () {
            const keys = yield* dataKeys
            const values = keys.length === 0 ? [] : yield* redis(() => client.mGet(keys))
            const out: Record<string, unknown> = {}
            keys.forEach((key, i) => {
              const value = values[i]
              if (typeof value === "string") out[headOfKey(key)] = JSON.parse(value)
            })
            return out
          })
        case "removeAll":
          return Effect.gen(function* () {
            const keys = yield* dataKeys
            for (const key of keys) yield* redis(() => client.del(key))
          })
        case "expire":
          return Effect.gen(function* () {
            const now = yield* Clock.currentTimeMillis
            const score = Math.round(now / 1000) + command.seconds
            if (command.keys.length === 0) return
            yield* redis(() =>
              client.zAdd(
                expiryKey,
                command.keys.map((k) => ({ score, value: JSON.stringify(k) }))
              )
            )
          })
        case "unexpire":
          return command.keys.length === 0
            ? Effect.void
            : Effect.asVoid(
                redis(() =>
                  client.zRem(
                    expiryKey,
                    command.keys.map((k) => JSON.stringify(k))
                  )
                )
              )
        case "getExpiry":
          return Effect.map(
            redis(() => client.zScore(expiryKey, JSON.stringify(command.key))),
            (score) => (score === null ? undefined : score)
          )
        default:
          return onSubtree(command)
      }
    }

    const sweep = Effect.gen(function* () {
      const now = yield* Clock.currentTimeMillis
      const due = yield* redis(() => client.eval(takeDue, { keys: [expiryKey], arguments: [String(now / 1000)] }))
      if (!Array.isArray(due)) return
      for (const member of due) {
        const keyChain: unknown = JSON.parse(String(member))
        if (DataStore.isKeyChain(keyChain)) yield* onSubtree({ action: "remove", key: keyChain })
      }
    })
    const accuracy = Duration.fromInputUnsafe(options.expiryAccuracy ?? "1 second")
    yield* sweep.pipe(Effect.ignore, Effect.repeat(Schedule.spaced(accuracy)), Effect.forkScoped)
    return DataCommand.fromRunner(run)
  })

/** The Redis store as a layer. */
export const layer = (options: DataStoreRedisOptions): Layer.Layer<DataStore.DataStore> =>
  Layer.effect(DataStore.DataStore, make(options))
