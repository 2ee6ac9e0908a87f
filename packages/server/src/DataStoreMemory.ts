/**
 * The in-memory data store: the exchange's data in this process, what the server uses
 * when no `DataStore` layer is provided. Expired chains are swept every `expiryAccuracy`
 * by a fiber of the layer's scope.
 *
 * @example
 * ```ts
 * const program = Effect.gen(function*() {
 *   const data = yield* DataStore.DataStore
 *   yield* data.set("greeting", "hello")
 * }).pipe(Effect.provide(DataStoreMemory.layer()))
 * ```
 */
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"
import { Broker } from "./Broker.js"
import { apply, fromRunner, sweep } from "./DataCommand.js"
import { DataStore, type DataStoreShape } from "./DataStore.js"
import { Expiries } from "./Expiries.js"
import { KeyChainMap } from "./KeyChainMap.js"

export interface Options {
  /** How often expired chains are removed (default 1 second; v14's framework used 5). */
  readonly expiryAccuracy?: Duration.Input | undefined
}

/** The store itself; its expiry sweep runs until the scope closes. */
const build = (options: Options): Effect.Effect<DataStoreShape, never, Scope.Scope> =>
  Effect.gen(function* () {
    const map = new KeyChainMap()
    const expiries = new Expiries()
    const accuracy = Duration.fromInputUnsafe(options.expiryAccuracy ?? "1 second")
    yield* Clock.currentTimeMillis.pipe(
      Effect.flatMap((now) => Effect.sync(() => sweep(map, expiries, now))),
      Effect.repeat(Schedule.spaced(accuracy)),
      Effect.forkScoped
    )
    return fromRunner((command) => Effect.map(Clock.currentTimeMillis, (now) => apply(map, expiries, now, command)))
  })

/**
 * Builds an in-memory store (its expiry sweep runs until the scope closes); the server
 * builds its default store with it when no `DataStore` layer is provided. Beside a
 * `Broker` in the context that is not process-local (Redis, the framework's broker
 * processes) it logs {@link defaultDataStoreWarning}: pub/sub would be shared by every
 * process while each kept its own data, the same silent split a defaulted broker would
 * cause. `layer()` builds silently: providing it is a deliberate choice.
 */
export const make = (options: Options = {}): Effect.Effect<DataStoreShape, never, Scope.Scope> =>
  Effect.gen(function* () {
    const broker = yield* Effect.serviceOption(Broker)
    if (Option.isSome(broker) && broker.value.processLocal !== true) yield* Effect.logWarning(defaultDataStoreWarning)
    return yield* build(options)
  })

/** What {@link make} logs when it keeps the data in memory beside a shared broker. */
export const defaultDataStoreWarning =
  "The exchange data (set/get/add/…) is kept in this process's memory (no DataStore layer was provided) while pub/sub goes through a shared broker. Provide DataStoreRedis.layer (shared) or DataStoreMemory.layer() (per process, on purpose)."

/** The in-memory store as a layer. */
export const layer = (options: Options = {}): Layer.Layer<DataStore> => Layer.effect(DataStore, build(options))
