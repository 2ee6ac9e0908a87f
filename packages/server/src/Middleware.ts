/**
 * The seven v14 middleware types as Effects, and what a middleware may fail with.
 *
 * A middleware is `(req) => Effect<void, Error>`: succeeding lets the action through;
 * failing blocks it, and the error reaches the client as a SocketCluster error object
 * (dehydrated: `name`, `message` and the error's own fields). Fail with
 * `SilentMiddlewareBlockedError` (or any error carrying `silent: true`) to block without
 * a warning, and with `MiddlewareRejection` to choose the handshake close code or mark an
 * auth token as bad. Requests carry a writable `data` (and `ackData` for publishIn):
 * assigning it rewrites what the action uses, as in v14.
 *
 * @example
 * ```ts
 * const noEmpty: Middleware.Middleware<"publishIn"> = (req) =>
 *   req.data === "" ? Effect.fail(new ApplicationError({ name: "EmptyMessage", message: "Say something" })) : Effect.void
 * yield* server.addMiddleware("publishIn", noEmpty)
 * ```
 */

import type { IncomingMessage } from "node:http"
import {
  type AuthTokenExpiredError,
  InvalidArgumentsError,
  SilentMiddlewareBlockedError,
  UnknownError
} from "@effect-socketcluster/protocol"
import * as Cause from "effect/Cause"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import type { SCSocket } from "./SCSocket.js"

/** The middleware type names, exactly as in v14 (`server.MIDDLEWARE_*`). */
export const MiddlewareTypes = [
  "handshakeWS",
  "handshakeSC",
  "authenticate",
  "subscribe",
  "publishIn",
  "publishOut",
  "emit"
] as const
export type MiddlewareType = (typeof MiddlewareTypes)[number]

export const isMiddlewareType = (u: unknown): u is MiddlewareType =>
  typeof u === "string" && (MiddlewareTypes as ReadonlyArray<string>).includes(u)

/**
 * Runs `f` when `type` is a middleware type, else fails with `InvalidArgumentsError`
 * (types come from users at run time too: the compat facade passes strings through).
 */
export const withMiddlewareType = (type: string, f: () => void): Effect.Effect<void, InvalidArgumentsError> =>
  Effect.suspend(() => {
    if (!isMiddlewareType(type)) {
      return Effect.fail(new InvalidArgumentsError({ message: `Middleware type "${type}" is not supported` }))
    }
    f()
    return Effect.void
  })

/** handshakeWS: the HTTP upgrade request, before the WebSocket exists. Rejections answer HTTP 401. */
export interface HandshakeWSRequest {
  readonly request: IncomingMessage
}
/** handshakeSC: a socket whose `#handshake` arrived, before token processing. */
export interface HandshakeSCRequest {
  readonly socket: SCSocket
}
/** authenticate: a token that verified, before the socket counts as authenticated. */
export interface AuthenticateRequest {
  readonly socket: SCSocket
  readonly authToken: unknown
}
/** subscribe: a client `#subscribe`. `data` is writable and kept in the subscription options. */
export interface SubscribeRequest {
  readonly socket: SCSocket
  readonly channel: string
  readonly waitForAuth: boolean
  data: unknown
  readonly authTokenExpiredError: AuthTokenExpiredError | undefined
}
/** publishIn: a client `#publish`. `data` is what gets published; `ackData` rides on the ack. */
export interface PublishInRequest {
  readonly socket: SCSocket
  readonly channel: string
  data: unknown
  ackData: unknown
  readonly authTokenExpiredError: AuthTokenExpiredError | undefined
}
/** publishOut: one delivery to one subscribed socket. `data` rewrites what this socket gets. */
export interface PublishOutRequest {
  readonly socket: SCSocket
  readonly channel: string
  data: unknown
}
/** emit: a client event (not `#...`). `data` is what the handler receives. */
export interface EmitRequest {
  readonly socket: SCSocket
  readonly event: string
  data: unknown
  readonly authTokenExpiredError: AuthTokenExpiredError | undefined
}

export interface MiddlewareRequests {
  readonly handshakeWS: HandshakeWSRequest
  readonly handshakeSC: HandshakeSCRequest
  readonly authenticate: AuthenticateRequest
  readonly subscribe: SubscribeRequest
  readonly publishIn: PublishInRequest
  readonly publishOut: PublishOutRequest
  readonly emit: EmitRequest
}

/**
 * A middleware of type `T`: fails with `E` to block (the client sees `E`), may need
 * services `R` (`SCServer.middleware` provides them from the app; `addMiddleware` takes
 * only middleware without requirements).
 */
export type Middleware<T extends MiddlewareType, E = unknown, R = never> = (
  req: MiddlewareRequests[T]
) => Effect.Effect<void, E, R>

/**
 * A rejection with the extra value v14's `next(err, value)` carried: the close code for
 * handshakeSC, the bad-token flag for authenticate. `error` is what the client sees
 * (an Error, or a string sent as is).
 */
export class MiddlewareRejection extends Data.TaggedError("MiddlewareRejection")<{
  readonly error: unknown
  readonly statusCode?: number | undefined
  readonly isBadToken?: boolean | undefined
}> {}

/**
 * Why a chain stopped, typed by the middleware's error `E`. `error` is what the client
 * sees: the middleware's failure `E` itself (a tagged error goes on the wire as `name` =
 * `_tag` plus its fields), `SilentMiddlewareBlockedError` for a silent block, or
 * `UnknownError` for a defect (whose text never leaves the server).
 */
export class MiddlewareBlocked<E = unknown> extends Data.TaggedClass("MiddlewareBlocked")<{
  readonly type: MiddlewareType
  readonly error: E | SilentMiddlewareBlockedError | UnknownError
  readonly silent: boolean
  /** handshakeSC: the close code (`MiddlewareRejection.statusCode`, or the error's own `statusCode`). */
  readonly statusCode: number | undefined
  /** authenticate: the token is bad (`MiddlewareRejection.isBadToken`). */
  readonly isBadToken: boolean
}> {}

const hasSilentFlag = (e: unknown): boolean =>
  typeof e === "object" && e !== null && "silent" in e && Boolean((e as { readonly silent: unknown }).silent)

const statusCodeOf = (e: unknown): number | undefined => {
  if (typeof e !== "object" || e === null || !("statusCode" in e)) return undefined
  const code = (e as { readonly statusCode: unknown }).statusCode
  return typeof code === "number" ? code : undefined
}

/** Turns a middleware failure into the value the server acts on. */
export const toBlocked = <E>(
  type: MiddlewareType,
  failure: E | MiddlewareRejection | UnknownError
): MiddlewareBlocked<E> => {
  let error: unknown = failure
  let statusCode: number | undefined
  let isBadToken = false
  if (failure instanceof MiddlewareRejection) {
    error = failure.error
    statusCode = failure.statusCode
    isBadToken = failure.isBadToken === true
  }
  const silent = error === true || error instanceof SilentMiddlewareBlockedError || hasSilentFlag(error)
  if (silent) {
    error = new SilentMiddlewareBlockedError({ message: `Action was silently blocked by ${type} middleware`, type })
  }
  return new MiddlewareBlocked({
    type,
    // A MiddlewareRejection carries the error the client sees; otherwise it is the failure itself.
    error: error as E | SilentMiddlewareBlockedError | UnknownError,
    silent,
    statusCode: statusCodeOf(error) ?? statusCode,
    isBadToken
  })
}

/**
 * Runs one middleware as the server does: its failure `E` becomes `MiddlewareBlocked<E>`;
 * a defect becomes one with an `UnknownError` (and goes to `onDefect`); interruption
 * stays interruption.
 *
 * @example
 * ```ts
 * const blocked = yield* Middleware.run("emit", adminsOnly, req).pipe(Effect.flip)
 * if (blocked.error._tag === "NotAdmin") console.log(blocked.error.user)
 * ```
 */
export const run = <T extends MiddlewareType, E, R>(
  type: T,
  middleware: Middleware<T, E, R>,
  req: MiddlewareRequests[T],
  onDefect?: (type: T, cause: Cause.Cause<unknown>) => void
): Effect.Effect<void, MiddlewareBlocked<E>, R> =>
  Effect.suspend(() => middleware(req)).pipe(Effect.catchCause((cause) => blockedBy<T, E>(type, cause, onDefect)))

/**
 * What a middleware's failure `cause` means for the action, as `run` reads it (the
 * result is always an `Exit`, so it can be acted on at once).
 * @internal
 */
export const blockedBy = <T extends MiddlewareType, E>(
  type: T,
  cause: Cause.Cause<unknown>,
  onDefect?: (type: T, cause: Cause.Cause<unknown>) => void
): Effect.Effect<never, MiddlewareBlocked<E>> => {
  const failure = Cause.findErrorOption(cause)
  if (failure._tag === "Some") return Effect.fail(toBlocked<E>(type, failure.value as E | MiddlewareRejection))
  if (Cause.hasInterruptsOnly(cause)) return Effect.failCause(cause as Cause.Cause<never>)
  onDefect?.(type, cause)
  return Effect.fail(toBlocked<E>(type, new UnknownError({ message: `The ${type} middleware failed` })))
}
