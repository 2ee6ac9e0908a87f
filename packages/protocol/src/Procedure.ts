/**
 * A procedure declaration: an event name with Schemas for its payload, its success and
 * its error, in the spirit of effect's `Rpc.make`. It holds no handler, so a server
 * (`Procedures.layer` in `@effect-socketcluster/server`) and a client can share one
 * declaration: the server decodes the payload and encodes the answer with it, a client
 * encodes the payload and decodes the answer.
 *
 * On the wire the payload is the event's `data`, the success the ack's `data`, and the
 * error the ack's `error`: the error Schema's encoded form, with a tagged error's `_tag`
 * sent as the SocketCluster error `name`.
 *
 * @example
 * ```ts
 * import { Procedure } from "@effect-socketcluster/protocol"
 * import * as Schema from "effect/Schema"
 *
 * class Forbidden extends Schema.TaggedError<Forbidden>()("Forbidden", { role: Schema.String }) {}
 * export const Add = Procedure.make("add", {
 *   payload: Schema.Struct({ a: Schema.Number, b: Schema.Number }),
 *   success: Schema.Number,
 *   error: Forbidden
 * })
 * ```
 *
 * @since 0.2.0
 */
import * as Schema from "effect/Schema"

/**
 * A declared procedure.
 *
 * @since 0.2.0
 */
export interface Procedure<
  Name extends string,
  Payload extends Schema.Top,
  Success extends Schema.Top,
  Error extends Schema.Top
> {
  readonly _tag: "Procedure"
  /** The event name clients emit. */
  readonly name: Name
  readonly payload: Payload
  readonly success: Success
  readonly error: Error
}

/**
 * Any procedure.
 *
 * @since 0.2.0
 */
export type Any = Procedure<string, Schema.Top, Schema.Top, Schema.Top>

/**
 * The decoded payload a handler receives.
 *
 * @since 0.2.0
 */
export type Payload<P extends Any> = P["payload"]["Type"]

/**
 * What a handler succeeds with.
 *
 * @since 0.2.0
 */
export type Success<P extends Any> = P["success"]["Type"]

/**
 * What a handler may fail with.
 *
 * @since 0.2.0
 */
export type Error<P extends Any> = P["error"]["Type"]

/**
 * The services the procedure's Schemas need to decode a payload and encode an answer.
 *
 * @since 0.2.0
 */
export type Services<P extends Any> =
  | P["payload"]["DecodingServices"]
  | P["success"]["EncodingServices"]
  | P["error"]["EncodingServices"]

/**
 * Declares a procedure. Payload and success default to `Schema.Void`, the error to
 * `Schema.Never` (the handler cannot fail).
 *
 * @since 0.2.0
 */
export const make = <
  const Name extends string,
  Payload extends Schema.Top = typeof Schema.Void,
  Success extends Schema.Top = typeof Schema.Void,
  Error extends Schema.Top = typeof Schema.Never
>(
  name: Name,
  options: {
    readonly payload?: Payload | undefined
    readonly success?: Success | undefined
    readonly error?: Error | undefined
  } = {}
): Procedure<Name, Payload, Success, Error> => ({
  _tag: "Procedure",
  name,
  // The defaults are exactly the type parameters' defaults.
  payload: options.payload ?? (Schema.Void as unknown as Payload),
  success: options.success ?? (Schema.Void as unknown as Success),
  error: options.error ?? (Schema.Never as unknown as Error)
})
