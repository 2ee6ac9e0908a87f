/**
 * The typed failures of a socket's Effect methods (`invoke`, `setAuthToken`).
 *
 * @example
 * ```ts
 * const answer = socket.invoke("ping").pipe(
 *   Effect.catchTag("ClientError", (e) => Effect.succeed(`client said no: ${e.message}`)),
 *   Effect.catchTag("BadConnectionError", () => Effect.succeed("gone"))
 * )
 * ```
 */
import {
  type AuthTokenError,
  BadConnectionError,
  type InvalidActionError,
  type InvalidArgumentsError,
  isSCError,
  ResourceLimitError,
  TimeoutError
} from "@effect-socketcluster/protocol"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"

/** The client answered an `invoke` with an error; `error` is what it sent, hydrated (sc-errors). */
export class ClientError extends Data.TaggedError("ClientError")<{
  readonly event: string
  readonly message: string
  readonly error: unknown
}> {
  static of(event: string, error: unknown): ClientError {
    const message =
      error instanceof Error ? error.message : typeof error === "string" ? error : `The client rejected '${event}'`
    return new ClientError({ event, message, error })
  }
}

/** Why an `invoke` failed. `InvalidActionError`: the event name is reserved. */
export type InvokeError = ClientError | TimeoutError | BadConnectionError | ResourceLimitError | InvalidActionError

/** Why a `setAuthToken` failed: the socket is closed (`InvalidActionError`), or signing failed. */
export type SetAuthTokenError = InvalidActionError | AuthTokenError | InvalidArgumentsError

const invokeErrors: ReadonlySet<string> = new Set([
  "ClientError",
  "TimeoutError",
  "BadConnectionError",
  "ResourceLimitError",
  "InvalidActionError"
])
const setAuthTokenErrors: ReadonlySet<string> = new Set([
  "InvalidActionError",
  "AuthTokenError",
  "InvalidArgumentsError"
])

const tagOf = (error: unknown): string | undefined =>
  error instanceof ClientError || isSCError(error) || error instanceof BadConnectionError
    ? (error as { readonly _tag: string })._tag
    : undefined

/** @internal An ack callback's error as `invoke`'s failure; anything else is a defect (a bug). */
export const invokeFailure = (error: unknown): Effect.Effect<never, InvokeError> => {
  const tag = tagOf(error)
  return tag !== undefined && invokeErrors.has(tag) ? Effect.fail(error as InvokeError) : Effect.die(error)
}

/** @internal `setAuthTokenUnsafe`'s error as `setAuthToken`'s failure; anything else is a defect. */
export const setAuthTokenFailure = (error: unknown): Effect.Effect<never, SetAuthTokenError> => {
  const tag = tagOf(error)
  return tag !== undefined && setAuthTokenErrors.has(tag) ? Effect.fail(error as SetAuthTokenError) : Effect.die(error)
}

export { BadConnectionError, ResourceLimitError, TimeoutError }
