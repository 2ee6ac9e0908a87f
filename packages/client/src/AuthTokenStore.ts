/**
 * Where the client keeps its signed auth token between connections (and, in a browser,
 * between page loads): a service with a memory default and a `localStorage` layer.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"

/**
 * Loads, saves and removes the signed token. Failures are the store's own business: the
 * client treats a failing `load` as "no token" and a failing `save` as not fatal.
 *
 * @since 0.1.0
 */
export class AuthTokenStore extends Context.Service<
  AuthTokenStore,
  {
    readonly load: Effect.Effect<string | null>
    readonly save: (signedToken: string) => Effect.Effect<void>
    readonly remove: Effect.Effect<void>
  }
>()("@effect-socketcluster/client/AuthTokenStore") {}

/**
 * A store in memory: one per layer build, forgotten when the program ends (the default).
 *
 * @since 0.1.0
 */
export const makeMemory: Effect.Effect<AuthTokenStore["Service"]> = Effect.sync(() => {
  let current: string | null = null
  return AuthTokenStore.of({
    load: Effect.sync(() => current),
    save: (token) =>
      Effect.sync(() => {
        current = token
      }),
    remove: Effect.sync(() => {
      current = null
    })
  })
})

/** @since 0.1.0 */
export const layerMemory: Layer.Layer<AuthTokenStore> = Layer.effect(AuthTokenStore, makeMemory)

/**
 * The Web Storage API subset the localStorage store needs.
 *
 * @since 0.1.0
 */
export interface StorageLike {
  getItem(key: string): string | null
  setItem(key: string, value: string): void
  removeItem(key: string): void
}

/**
 * A store in Web Storage under `key` (default `"socketCluster.authToken"`, the key the
 * official client uses, so a page keeps its login when it moves to this client).
 * Storage errors (quota, privacy mode) are swallowed: the token then lives only as long
 * as the connection.
 *
 * @example
 * ```ts
 * const Client = SCClient.layer("wss://example.com/socketcluster/").pipe(
 *   Layer.provide(AuthTokenStore.layerLocalStorage())
 * )
 * ```
 * @since 0.1.0
 */
export const makeStorage = (storage: StorageLike, key = "socketCluster.authToken"): AuthTokenStore["Service"] =>
  AuthTokenStore.of({
    load: Effect.sync(() => {
      try {
        return storage.getItem(key)
      } catch {
        return null
      }
    }),
    save: (token) =>
      Effect.sync(() => {
        try {
          storage.setItem(key, token)
        } catch {
          // a full or disabled storage leaves the token in the connection only
        }
      }),
    remove: Effect.sync(() => {
      try {
        storage.removeItem(key)
      } catch {
        // nothing to remove from a disabled storage
      }
    })
  })

/**
 * {@link makeStorage} over `globalThis.localStorage`; falls back to memory where there is
 * none (Node, workers).
 *
 * @since 0.1.0
 */
export const layerLocalStorage = (key?: string): Layer.Layer<AuthTokenStore> =>
  Layer.effect(
    AuthTokenStore,
    Effect.suspend(() => {
      const storage: StorageLike | undefined = Reflect.get(globalThis, "localStorage")
      return storage === undefined ? makeMemory : Effect.succeed(makeStorage(storage, key))
    })
  )
