/**
 * What the client's calls fail with: the sc-errors catalogue (reused from
 * `@effect-socketcluster/protocol`, so `TimeoutError` and `BadConnectionError` are the
 * classes a v14 user knows) plus {@link ApplicationError} for any other error name the
 * server sends, and {@link ConnectError} when a connection cannot be made at all.
 *
 * @since 0.1.0
 */
import { ApplicationError, hydrate, isSCError, type SCError } from "@effect-socketcluster/protocol"
import * as Data from "effect/Data"
import type * as Schema from "effect/Schema"

/**
 * An error the server put on the wire, hydrated by name: a catalogue name gives its class
 * (`Effect.catchTag("InvalidActionError", …)`), any other name an `ApplicationError` whose
 * `name` is the wire name and whose `fields` hold the other properties.
 *
 * @since 0.1.0
 */
export type ServerError = SCError | ApplicationError

/**
 * What `invoke`, `publish` and `authenticate` fail with: a `TimeoutError` (no answer in
 * time), a `BadConnectionError` (the connection dropped or was closed first) or the
 * server's error.
 *
 * @since 0.1.0
 */
export type InvokeError = ServerError

const reservedKeys = new Set(["name", "message"])

/**
 * Turns an error from the wire (`{name, message, ...}`, a string, anything) into a
 * {@link ServerError}, reusing the protocol package's sc-errors hydration.
 *
 * @example
 * ```ts
 * fromWire({ name: "LoginError", message: "bad password", retry: 3 })
 * // ApplicationError { name: "LoginError", message: "bad password", fields: { retry: 3 } }
 * ```
 * @since 0.1.0
 */
export const fromWire = (wire: unknown): ServerError => {
  const hydrated = hydrate(wire)
  if (isSCError(hydrated)) return hydrated
  if (hydrated instanceof Error) {
    const fields: Record<string, unknown> = {}
    for (const key of Object.keys(hydrated)) {
      if (!reservedKeys.has(key)) fields[key] = Reflect.get(hydrated, key)
    }
    return new ApplicationError({ name: hydrated.name, message: hydrated.message, fields })
  }
  return new ApplicationError({ name: "Error", message: typeof hydrated === "string" ? hydrated : String(hydrated) })
}

/**
 * The client gave up connecting: the reconnect schedule ran out, the server rejected the
 * handshake with a code that forbids reconnecting (4500–4999), or the client was closed.
 * `code` is the last close code, `reason` its text, `cause` the handshake error if any.
 *
 * @since 0.1.0
 */
export class ConnectError extends Data.TaggedError("ConnectError")<{
  readonly message: string
  readonly code: number
  readonly reason: string
  readonly cause?: ServerError | undefined
}> {}

/**
 * The server kicked this client out of a channel (`#kickOut`); the subscription's stream
 * fails with it.
 *
 * @since 0.1.0
 */
export class KickedOutError extends Data.TaggedError("KickedOutError")<{
  readonly channel: string
  readonly message: string
  readonly data: unknown
}> {}

/**
 * A typed call's Schemas did not fit: the payload did not encode (`part: "payload"`, the
 * call was not sent) or the server's answer did not decode with the success Schema
 * (`part: "success"`). `cause` holds the Schema issue.
 *
 * @since 0.2.0
 */
export class ProcedureSchemaError extends Data.TaggedError("ProcedureSchemaError")<{
  readonly procedure: string
  readonly part: "payload" | "success"
  readonly message: string
  readonly cause: Schema.SchemaError
}> {}
