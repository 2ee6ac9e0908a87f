/**
 * The exchange's data API (v14 `exchange.set/get/add/remove/expire/…`): a key/value tree
 * shared by every process that serves the app, addressed by key chains.
 *
 * A contract apart from the `Broker` (pub/sub): `DataStoreMemory.layer` keeps the data in
 * this process (the default), the framework's broker processes keep it for the workers of
 * one host, `@effect-socketcluster/broker-redis` keeps it in Redis for many hosts.
 * Values keep JSON semantics in every store (functions and `undefined` members are
 * dropped, Dates become strings), so an app behaves the same whichever store it gets.
 *
 * @example
 * ```ts
 * const data = yield* DataStore.DataStore
 * yield* data.set(["users", "42"], { name: "Ada" })
 * yield* data.add(["users", "42", "tags"], "admin")   // -> 0
 * yield* data.get(["users", "42"])                    // { name: "Ada", tags: ["admin"] }
 * yield* data.expire([["users", "42"]], 60)           // gone in about a minute
 * ```
 */
import * as Context from "effect/Context"
import * as Data from "effect/Data"
import type * as Effect from "effect/Effect"

/** One key of a chain: `0` and `"0"` name the same slot; there is no dot-path parsing. */
export type Key = string | number

/** One key, or an array of keys each naming a child of the previous one. */
export type KeyChain = Key | ReadonlyArray<Key>

/** What `splice` does (as `Array.prototype.splice(index, count, ...items)`). */
export interface SpliceOptions {
  /** No index: nothing is removed. */
  readonly index?: number | undefined
  /** No count: everything from `index` is removed (unless `items` are given). */
  readonly count?: number | undefined
  readonly items?: ReadonlyArray<unknown> | undefined
}

/**
 * A data command that could not be carried out. `reason`: `InvalidArguments` (a malformed
 * key chain or option, nothing changed), `Unavailable` (the store could not be reached),
 * `Timeout` (no answer in time; the command may or may not have run), `Remote` (the store
 * reported an error), `Refused` (this store does not offer the command).
 */
export class DataStoreError extends Data.TaggedError("DataStoreError")<{
  readonly reason: "InvalidArguments" | "Unavailable" | "Timeout" | "Remote" | "Refused"
  readonly message: string
  readonly cause?: unknown
}> {}

export interface DataStoreShape {
  /** Stores `value` at the chain, creating (or replacing non-containers on) the path. */
  readonly set: (keyChain: KeyChain, value: unknown) => Effect.Effect<void, DataStoreError>
  /** A plain copy of the value at the chain; `undefined` when absent. */
  readonly get: (keyChain: KeyChain) => Effect.Effect<unknown, DataStoreError>
  /** Everything in the store, as one object. */
  readonly getAll: Effect.Effect<unknown, DataStoreError>
  /**
   * Array: items `fromIndex…toIndex−1` (`toIndex` absent, 0 or past the end: to the end).
   * Object: own keys from the one equal to `fromIndex` up to the one equal to `toIndex`. Missing: `{}`.
   */
  readonly getRange: (
    keyChain: KeyChain,
    fromIndex: number | string,
    toIndex?: number | string
  ) => Effect.Effect<unknown, DataStoreError>
  /** Own keys of a container; 1 for a truthy value; 0 for a falsy value or absent key. */
  readonly count: (keyChain: KeyChain) => Effect.Effect<number, DataStoreError>
  readonly hasKey: (keyChain: KeyChain) => Effect.Effect<boolean, DataStoreError>
  /** Appends `value`; returns its index. A missing key becomes `[value]`, a value `s` becomes `[s, value]`. */
  readonly add: (keyChain: KeyChain, value: unknown) => Effect.Effect<number, DataStoreError>
  /** Appends an array's items (or merges an object's keys; another value is appended as one item). */
  readonly concat: (keyChain: KeyChain, value: unknown) => Effect.Effect<void, DataStoreError>
  /** Removes the chain; returns the removed value (`undefined` when absent). */
  readonly remove: (keyChain: KeyChain) => Effect.Effect<unknown, DataStoreError>
  /** Removes a window (as `getRange`); returns it. */
  readonly removeRange: (
    keyChain: KeyChain,
    fromIndex: number | string,
    toIndex?: number | string
  ) => Effect.Effect<unknown, DataStoreError>
  /** Empties the store (every shard of it). Expiries are kept: they belong to key names. */
  readonly removeAll: Effect.Effect<void, DataStoreError>
  /** Splices the numeric slots of the container at the chain; returns the removed items (`[]` when none). */
  readonly splice: (keyChain: KeyChain, options: SpliceOptions) => Effect.Effect<Array<unknown>, DataStoreError>
  /** Removes the last numeric slot; returns `[item]` (or `[]`). */
  readonly pop: (keyChain: KeyChain) => Effect.Effect<Array<unknown>, DataStoreError>
  /**
   * Removes each chain about `seconds` from now (whole seconds; the sweep runs every
   * `expiryAccuracy`). The expiry belongs to the chain's name: a value set there again
   * before that time is removed too. A later `expire` replaces an earlier one.
   */
  readonly expire: (keyChains: ReadonlyArray<KeyChain>, seconds: number) => Effect.Effect<void, DataStoreError>
  /** Cancels the expiry of each chain. */
  readonly unexpire: (keyChains: ReadonlyArray<KeyChain>) => Effect.Effect<void, DataStoreError>
  /** The expiry of a chain in Unix seconds, or `undefined`. */
  readonly getExpiry: (keyChain: KeyChain) => Effect.Effect<number | undefined, DataStoreError>
}

/**
 * The data store service. The server uses `DataStoreMemory` when none is provided (and warns
 * when its broker is not process-local, see `DataStoreMemory.make`); check a
 * custom implementation with `runDataStoreConformance` from `@effect-socketcluster/server/testing`.
 */
export class DataStore extends Context.Service<DataStore, DataStoreShape>()("@effect-socketcluster/server/DataStore") {}

const isKey = (key: unknown): key is Key => typeof key === "string" || (typeof key === "number" && Number.isFinite(key))

/** Whether `value` is a usable key chain (a key, or a non-empty array of keys). */
export const isKeyChain = (value: unknown): value is KeyChain =>
  isKey(value) || (Array.isArray(value) && value.length > 0 && value.every(isKey))

/** The first key of a chain: it decides which shard holds the chain. */
export const headOf = (keyChain: KeyChain): Key =>
  typeof keyChain === "string" || typeof keyChain === "number" ? keyChain : (keyChain[0] as Key)

/** A JSON copy of `value` (what every store keeps), or `undefined` for values JSON drops. */
export const jsonCopy = (value: unknown): unknown => {
  if (value === null || typeof value === "number" || typeof value === "boolean" || typeof value === "string") {
    return typeof value === "number" && !Number.isFinite(value) ? null : value
  }
  const text = JSON.stringify(value)
  return text === undefined ? undefined : JSON.parse(text)
}

/** The `InvalidArguments` error for a malformed key chain. */
export const invalidKeyChain = (keyChain: unknown): DataStoreError =>
  new DataStoreError({
    reason: "InvalidArguments",
    message: `Invalid key chain ${describe(keyChain)}: expected a string or finite number, or a non-empty array of them`
  })

const describe = (value: unknown): string => {
  try {
    return JSON.stringify(value) ?? String(value)
  } catch {
    return String(value)
  }
}
