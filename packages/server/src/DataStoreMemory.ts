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
import { Clock, Duration, Effect, Layer, Schedule, type Scope } from "effect"
import { apply, fromRunner, sweep } from "./DataCommand.js"
import { DataStore, type DataStoreShape } from "./DataStore.js"
import { Expiries } from "./Expiries.js"
import { KeyChainMap } from "./KeyChainMap.js"

export interface Options {
  /** How often expired chains are removed (default 1 second; v14's framework used 5). */
  readonly expiryAccuracy?: Duration.Input | undefined
}

/** Builds an in-memory store; its expiry sweep runs until the scope closes. */
export const make = (options: Options = {}): Effect.Effect<DataStoreShape, never, Scope.Scope> =>
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

/** The in-memory store as a layer. */
export const layer = (options: Options = {}): Layer.Layer<DataStore> => Layer.effect(DataStore, make(options))
