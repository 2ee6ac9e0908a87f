/**
 * v14 middleware (`(req, next) => void`, or a native `async (req) => …`) as the server's
 * Effect middleware (spec server-api.md §6.1).
 *
 * `next()` lets the action through; `next(err)` blocks it with `err` (a string is sent as
 * is); `next(true)` or an error with `silent: true` blocks silently; `next(err, value)`
 * carries v14's extra value: the close code for handshakeSC, the bad-token flag for
 * authenticate. A second `next` call is ignored and reported as an `InvalidActionError`
 * warning; a synchronous throw counts as `next(err)`.
 */
import { InvalidActionError } from "@effect-socketcluster/protocol"
import { Middleware as CoreMiddleware } from "@effect-socketcluster/server"
import * as Effect from "effect/Effect"

/** v14's middleware callback. */
export type Next = (error?: unknown, value?: unknown) => void

/**
 * A v14 middleware: the callback form `(req, next) => void`, or a native async function
 * (`async (req) => …`, called with `req` only: resolving passes, throwing blocks).
 */
export type V14Middleware<Req> = (req: Req, next: Next) => unknown

const isNativeAsync = (fn: unknown): boolean => Object.prototype.toString.call(fn) === "[object AsyncFunction]"

const rejection = (type: CoreMiddleware.MiddlewareType, error: unknown, value: unknown) =>
  new CoreMiddleware.MiddlewareRejection({
    error,
    statusCode: type === "handshakeSC" && typeof value === "number" ? value : undefined,
    isBadToken: type === "authenticate" ? Boolean(value) : undefined
  })

/**
 * Wraps a v14 middleware. `toRequest` builds the v14 `req` from the server's request
 * (its writable fields must write through); `warn` reports a second `next` call.
 */
export const fromV14 = <T extends CoreMiddleware.MiddlewareType, Req>(
  type: T,
  fn: V14Middleware<Req>,
  toRequest: (req: CoreMiddleware.MiddlewareRequests[T]) => Req,
  warn: (error: unknown) => void
): CoreMiddleware.Middleware<T> => {
  if (isNativeAsync(fn)) {
    const run = fn as (req: Req) => Promise<unknown>
    return (req) =>
      Effect.callback<void, CoreMiddleware.MiddlewareRejection>((resume) => {
        run(toRequest(req)).then(
          () => resume(Effect.void),
          (error: unknown) => resume(Effect.fail(rejection(type, error, undefined)))
        )
      })
  }
  const callback = fn as (req: Req, next: Next) => void
  return (req) =>
    Effect.callback<void, CoreMiddleware.MiddlewareRejection>((resume) => {
      let called = false
      const next: Next = (error, value) => {
        if (called) {
          warn(new InvalidActionError({ message: `Callback for ${type} middleware was already invoked` }))
          return
        }
        called = true
        if (error === undefined || error === null || error === false) resume(Effect.void)
        else resume(Effect.fail(rejection(type, error, value)))
      }
      try {
        callback(toRequest(req), next)
      } catch (error) {
        next(error)
      }
    })
}
