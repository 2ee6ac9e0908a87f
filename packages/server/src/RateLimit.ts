/**
 * Rate limiting as middleware, on Effect's `RateLimiter` (`effect/persistence`).
 *
 * The limiter's store decides where the counts live: `RateLimiter.layerStoreMemory` for
 * one process, `RateLimiter.layerStoreRedis` (with an `effect/persistence` `Redis`
 * service) to share the counts between the processes of a cluster, e.g. the ones already
 * joined by the Redis broker. A request over the limit is refused with a
 * `RateLimitExceeded` error the client sees (with `retryAfter` in ms); the action does not
 * happen. When the store fails (Redis down) requests are let through by default
 * (`onStoreError: "allow"`), so an outage of the limiter is not an outage of the server.
 *
 * @example
 * ```ts
 * import * as RateLimiter from "effect/persistence/RateLimiter"
 *
 * const Limits = Layer.mergeAll(
 *   RateLimit.layer("emit", { limit: 20, window: "1 second" }),
 *   RateLimit.layer("publishIn", { limit: 5, window: "1 second" })
 * ).pipe(Layer.provide(RateLimit.layerMemory))
 * const App = Limits.pipe(Layer.provideMerge(SCServer.layer({ port: 8000 })), Layer.provide(BrokerMemory.layer))
 * ```
 */
import { ApplicationError } from "@effect-socketcluster/protocol"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as RateLimiter from "effect/persistence/RateLimiter"
import type { Middleware, MiddlewareRequests } from "./Middleware.js"
import { SCServer } from "./SCServer.js"
import type { SCSocket } from "./SCSocket.js"

/** The middleware types a client action goes through with its socket. */
export type LimitedType = "handshakeSC" | "authenticate" | "subscribe" | "publishIn" | "emit"

export interface RateLimitOptions<T extends LimitedType> {
  /** Requests allowed per `window` and key. */
  readonly limit: number
  /** The window, e.g. `"1 second"` or a number of ms. */
  readonly window: Duration.Input
  /** `fixed-window` (default) or `token-bucket` (smooth refill). */
  readonly algorithm?: "fixed-window" | "token-bucket"
  /**
   * The bucket a request counts against. Default: the socket (`<type>:<socket id>`); use
   * the remote address or the authenticated user to limit across reconnections.
   */
  readonly key?: (req: MiddlewareRequests[T]) => string
  /** What to do when the store fails: let the request through (default) or refuse it. */
  readonly onStoreError?: "allow" | "refuse"
}

const socketKey = (type: LimitedType, socket: SCSocket) => `${type}:${socket.id}`

/**
 * A rate-limiting middleware of `type`, built from the `RateLimiter` in context.
 *
 * @example
 * ```ts
 * const limit = yield* RateLimit.middleware("emit", { limit: 10, window: "1 second" })
 * yield* server.addMiddleware("emit", limit)
 * ```
 */
export const middleware = <T extends LimitedType>(
  type: T,
  options: RateLimitOptions<T>
): Effect.Effect<Middleware<T>, never, RateLimiter.RateLimiter> =>
  Effect.gen(function* () {
    const limiter = yield* RateLimiter.RateLimiter
    const algorithm = options.algorithm ?? "fixed-window"
    const allowOnStoreError = (options.onStoreError ?? "allow") === "allow"
    const keyOf = options.key ?? ((req: MiddlewareRequests[T]) => socketKey(type, req.socket))
    return (req: MiddlewareRequests[T]): Effect.Effect<void, ApplicationError> =>
      limiter
        .consume({ key: keyOf(req), limit: options.limit, window: options.window, algorithm, onExceeded: "fail" })
        .pipe(
          Effect.asVoid,
          Effect.catch((error: RateLimiter.RateLimiterError) => {
            const reason = error.reason
            if (reason._tag === "RateLimitExceeded") {
              return Effect.fail(
                new ApplicationError({
                  name: "RateLimitExceeded",
                  message: `Rate limit exceeded: ${options.limit} per ${Duration.format(Duration.fromInputUnsafe(options.window))}`,
                  fields: { retryAfter: Duration.toMillis(reason.retryAfter) }
                })
              )
            }
            return allowOnStoreError
              ? Effect.void
              : Effect.fail(new ApplicationError({ name: "RateLimitUnavailable", message: "Rate limiter unavailable" }))
          })
        )
  })

/** The rate-limiting middleware of `type` as a layer on the server (added on build, removed on release). */
export const layer = <T extends LimitedType>(
  type: T,
  options: RateLimitOptions<T>
): Layer.Layer<never, never, SCServer | RateLimiter.RateLimiter> =>
  Layer.effectDiscard(
    Effect.gen(function* () {
      const server = yield* SCServer
      const mw = yield* middleware(type, options)
      yield* Effect.acquireRelease(Effect.orDie(server.addMiddleware(type, mw)), () =>
        Effect.ignore(server.removeMiddleware(type, mw))
      )
    })
  )

/** A `RateLimiter` with the in-memory store (counts per process). */
export const layerMemory: Layer.Layer<RateLimiter.RateLimiter> = RateLimiter.layer.pipe(
  Layer.provide(RateLimiter.layerStoreMemory)
)
