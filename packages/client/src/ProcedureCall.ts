/**
 * Calling a declared procedure (`Procedure.make` from `@effect-socketcluster/protocol`):
 * the declaration the server serves with `Procedures.layer` types the client's call too.
 * The payload is encoded with the payload Schema, the answer decoded with the success
 * Schema, and an error the server sends in the declared error's encoded form decoded
 * into that error, so `Effect.catchTag` sees the app's own error class.
 *
 * @example
 * ```ts
 * import { Procedure } from "@effect-socketcluster/protocol"
 * import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
 *
 * class Forbidden extends Schema.TaggedError<Forbidden>()("Forbidden", { role: Schema.String }) {}
 * const Add = Procedure.make("add", {
 *   payload: Schema.Struct({ a: Schema.Number, b: Schema.Number }),
 *   success: Schema.Number,
 *   error: Forbidden
 * })
 *
 * // client: SCClient.Client
 * const sum = client.call(Add, { a: 1, b: 2 }).pipe(
 *   Effect.catchTag("Forbidden", (e) => Effect.succeed(`not as ${e.role}`))
 * )
 * ```
 *
 * @since 0.2.0
 */
import type { BadConnectionError, InvalidArgumentsError, Procedure, TimeoutError } from "@effect-socketcluster/protocol"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Schema from "effect/Schema"
import { fromWire, type InvokeError, ProcedureSchemaError } from "./ClientError.js"

/**
 * What a call of `P` can fail with: the declared error, the client's and the server's
 * own errors (`TimeoutError`, `BadConnectionError`, a middleware's refusal, the server's
 * `InvalidArgumentsError` for a payload it could not decode, …) and
 * {@link ProcedureSchemaError} when the payload does not encode or the answer does not
 * decode.
 *
 * @since 0.2.0
 */
export type CallError<P extends Procedure.Any> = Procedure.Error<P> | InvokeError | ProcedureSchemaError

/**
 * The services the procedure's Schemas need on the client: to encode a payload and to
 * decode an answer (`never` for plain Schemas).
 *
 * @since 0.2.0
 */
export type CallServices<P extends Procedure.Any> =
  | P["payload"]["EncodingServices"]
  | P["success"]["DecodingServices"]
  | P["error"]["DecodingServices"]

/**
 * Options of a call.
 *
 * @since 0.2.0
 */
export interface CallOptions {
  /** How long to wait for the answer (default: the client's `ackTimeout`). */
  readonly timeout?: Duration.Input | undefined
}

/**
 * The arguments after the procedure: its payload (optional when the payload Schema
 * accepts `undefined`, as the default `Schema.Void` does) and {@link CallOptions}.
 *
 * @since 0.2.0
 */
export type CallArgs<P extends Procedure.Any> =
  undefined extends Procedure.Payload<P>
    ? [payload?: Procedure.Payload<P>, options?: CallOptions]
    : [payload: Procedure.Payload<P>, options?: CallOptions]

/** An answer as it came: `error` absent or null when the call succeeded. */
export interface RawAnswer {
  readonly error: unknown
  readonly data: unknown
}

/** Sends an event with a cid and waits for its answer, as is. */
export type RawInvoke = (
  event: string,
  data: unknown
) => Effect.Effect<RawAnswer, BadConnectionError | TimeoutError | InvalidArgumentsError>

const isRecord = (value: unknown): value is Readonly<Record<string, unknown>> =>
  typeof value === "object" && value !== null && !Array.isArray(value)

/**
 * The wire turns a tagged error's `_tag` into the SocketCluster error `name`; this puts
 * it back, for an error Schema that is a tagged error (or a union of them).
 */
const retagged = (wire: unknown): unknown => {
  if (!isRecord(wire) || typeof wire.name !== "string" || Object.hasOwn(wire, "_tag")) return undefined
  const { name, ...fields } = wire
  return { ...fields, _tag: name }
}

/**
 * Calls `procedure` through `raw`, encoding and decoding with its Schemas.
 *
 * @since 0.2.0
 */
export const make = <P extends Procedure.Any>(
  procedure: P,
  payload: Procedure.Payload<P> | undefined,
  raw: RawInvoke
): Effect.Effect<Procedure.Success<P>, CallError<P>, CallServices<P>> => {
  const encodePayload: (
    payload: Procedure.Payload<P>
  ) => Effect.Effect<unknown, Schema.SchemaError, P["payload"]["EncodingServices"]> = Schema.encodeEffect(
    procedure.payload
  )
  const decodeSuccess: (
    data: unknown
  ) => Effect.Effect<Procedure.Success<P>, Schema.SchemaError, P["success"]["DecodingServices"]> =
    Schema.decodeUnknownEffect(procedure.success)
  const decodeError: (
    error: unknown
  ) => Effect.Effect<Procedure.Error<P>, Schema.SchemaError, P["error"]["DecodingServices"]> =
    Schema.decodeUnknownEffect(procedure.error)
  const schemaError = (part: "payload" | "success") => (cause: Schema.SchemaError) =>
    new ProcedureSchemaError({
      procedure: procedure.name,
      part,
      message:
        part === "payload"
          ? `The payload of '${procedure.name}' does not encode: ${cause.message}`
          : `The answer of '${procedure.name}' does not decode: ${cause.message}`,
      cause
    })
  // The declared error as sent (an untagged Schema), else with its tag back; anything
  // else the server sent is its own error, hydrated by name as for `invoke`.
  const failWith = (wire: unknown): Effect.Effect<never, CallError<P>, P["error"]["DecodingServices"]> =>
    Effect.flatMap(Effect.exit(decodeError(wire)), (asSent) => {
      if (Exit.isSuccess(asSent)) return Effect.fail(asSent.value)
      const tagged = retagged(wire)
      if (tagged === undefined) return Effect.fail(fromWire(wire))
      return Effect.flatMap(Effect.exit(decodeError(tagged)), (asTagged) =>
        Effect.fail(Exit.isSuccess(asTagged) ? asTagged.value : fromWire(wire))
      )
    })
  return encodePayload(payload).pipe(
    Effect.mapError(schemaError("payload")),
    Effect.flatMap((data) => raw(procedure.name, data)),
    Effect.flatMap(
      (answer): Effect.Effect<Procedure.Success<P>, CallError<P>, CallServices<P>> =>
        answer.error === undefined || answer.error === null
          ? Effect.mapError(decodeSuccess(answer.data), schemaError("success"))
          : failWith(answer.error)
    )
  )
}
