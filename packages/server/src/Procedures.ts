/**
 * Procedures and event handlers as scoped layers: registered when the layer is built,
 * removed when it is released, a second registration of one event fails with
 * `DuplicateHandlerError`. The handler's requirements become the layer's, so handlers use
 * the app's services.
 *
 * `layer` serves a declared `Procedure` (Schemas for payload, success, error): a payload
 * that does not decode is answered with `InvalidArgumentsError` (the handler never runs),
 * the success and the error go out in their encoded form. `handler` is the quick untyped
 * form: the data as it arrived, any success as the ack data, any failure as the ack error.
 *
 * @example
 * ```ts
 * const AddLive = Procedures.layer(Add, ({ a, b }) => Effect.succeed(a + b))
 * const App = AddLive.pipe(Layer.provideMerge(SCServer.layer({ port: 8000 })), Layer.provide(BrokerMemory.layer))
 * ```
 */
import { InvalidArgumentsError, type Procedure } from "@effect-socketcluster/protocol"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import { SCServer } from "./SCServer.js"
import type { SCSocket } from "./SCSocket.js"
import type { DuplicateHandlerError } from "./ServerErrors.js"

/**
 * Serves `procedure` with `handler` for as long as the layer lives.
 */
export const layer = <P extends Procedure.Any, R = never>(
  procedure: P,
  handler: (
    payload: Procedure.Payload<P>,
    socket: SCSocket
  ) => Effect.Effect<Procedure.Success<P>, Procedure.Error<P>, R>
): Layer.Layer<never, DuplicateHandlerError, SCServer | R | Procedure.Services<P>> =>
  Layer.effectDiscard(
    Effect.gen(function* () {
      const server = yield* SCServer
      const context = yield* Effect.context<R | Procedure.Services<P>>()
      const decode: (
        data: unknown
      ) => Effect.Effect<Procedure.Payload<P>, Schema.SchemaError, P["payload"]["DecodingServices"]> =
        Schema.decodeUnknownEffect(procedure.payload)
      const encodeSuccess: (
        value: Procedure.Success<P>
      ) => Effect.Effect<unknown, Schema.SchemaError, P["success"]["EncodingServices"]> = Schema.encodeEffect(
        procedure.success
      )
      const encodeError: (
        error: Procedure.Error<P>
      ) => Effect.Effect<unknown, Schema.SchemaError, P["error"]["EncodingServices"]> = Schema.encodeEffect(
        procedure.error
      )
      yield* server.register(procedure.name, (data, socket) =>
        decode(data).pipe(
          Effect.matchEffect({
            onFailure: (error) =>
              Effect.fail(
                new InvalidArgumentsError({ message: `Invalid payload for '${procedure.name}': ${error.message}` })
              ),
            onSuccess: (payload) =>
              handler(payload, socket).pipe(
                Effect.matchEffect({
                  // An answer its own Schema cannot encode is a bug in the handler: a defect.
                  onFailure: (error) => Effect.flatMap(Effect.orDie(encodeError(error)), Effect.fail),
                  onSuccess: (value) => Effect.orDie(encodeSuccess(value))
                })
              )
          }),
          Effect.provideContext(context)
        )
      )
    })
  )

/**
 * Handles `event` with an untyped handler for as long as the layer lives: its success is
 * the ack data, its failure the ack error.
 */
export const handler = <E, R = never>(
  event: string,
  run: (data: unknown, socket: SCSocket) => Effect.Effect<unknown, E, R>
): Layer.Layer<never, DuplicateHandlerError, SCServer | R> =>
  Layer.effectDiscard(
    Effect.gen(function* () {
      const server = yield* SCServer
      const context = yield* Effect.context<R>()
      yield* server.register(event, (data, socket) => Effect.provideContext(run(data, socket), context))
    })
  )
