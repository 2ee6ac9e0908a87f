/**
 * One procedure declaration types both ends: the server serves it with
 * `Procedures.layer`, the client calls it with `client.call`, over real sockets.
 */
import { assert, describe, it } from "@effect/vitest"
import { InvalidArgumentsError, Procedure } from "@effect-socketcluster/protocol"
import { Procedures } from "@effect-socketcluster/server"
import { Effect, Layer, Schema } from "effect"
import { expectTypeOf } from "vitest"
import type { InvokeError, ProcedureSchemaError } from "../src/index.js"
import { TestServer } from "../src/testing/index.js"

class Forbidden extends Schema.TaggedError<Forbidden>()("Forbidden", { role: Schema.String }) {}
class Overflow extends Schema.TaggedError<Overflow>()("Overflow", { limit: Schema.Number }) {}

/** The shared declaration: a Date that travels as a string, and two declared errors. */
const Add = Procedure.make("add", {
  payload: Schema.Struct({ a: Schema.Number, b: Schema.Number }),
  success: Schema.Struct({ sum: Schema.Number, at: Schema.DateFromString }),
  error: Schema.Union([Forbidden, Overflow])
})
/** No payload, no answer, cannot fail. */
const Ping = Procedure.make("ping")
/** An error that is not a tagged error: sent and decoded as is. */
const Quota = Procedure.make("quota", {
  payload: Schema.Number,
  success: Schema.Number,
  error: Schema.Struct({ code: Schema.Literal("quota"), left: Schema.Number })
})

const App = Layer.mergeAll(
  Procedures.layer(Add, ({ a, b }) => {
    if (a < 0 || b < 0) return Effect.fail(new Forbidden({ role: "guest" }))
    if (a + b > 100) return Effect.fail(new Overflow({ limit: 100 }))
    return Effect.succeed({ sum: a + b, at: new Date(Date.UTC(2026, 11, 2)) })
  }),
  Procedures.layer(Ping, () => Effect.void),
  Procedures.layer(Quota, (n) => (n > 3 ? Effect.fail({ code: "quota" as const, left: 3 }) : Effect.succeed(n)))
).pipe(Layer.provideMerge(TestServer.layer()))

describe("typed procedures, client and server from one declaration", () => {
  it.live("success decoded with the success Schema; the declared errors decoded into their classes", () =>
    Effect.gen(function* () {
      const client = yield* TestServer.client()
      const answer = yield* client.call(Add, { a: 1, b: 2 })
      assert.strictEqual(answer.sum, 3)
      assert.instanceOf(answer.at, Date)
      assert.strictEqual(answer.at.toISOString(), "2026-12-02T00:00:00.000Z")

      const forbidden = yield* Effect.flip(client.call(Add, { a: -1, b: 2 }))
      assert.instanceOf(forbidden, Forbidden)
      assert.strictEqual(forbidden._tag, "Forbidden")
      assert.strictEqual((forbidden as Forbidden).role, "guest")
      const recovered = yield* client
        .call(Add, { a: 99, b: 2 })
        .pipe(Effect.catchTag("Overflow", (e) => Effect.succeed(`over ${e.limit}`)))
      assert.strictEqual(recovered, "over 100")

      assert.isUndefined(yield* client.call(Ping))
      assert.strictEqual(yield* client.call(Quota, 2), 2)
      assert.deepStrictEqual(yield* Effect.flip(client.call(Quota, 5)), { code: "quota", left: 3 })
    }).pipe(Effect.scoped, Effect.provide(App))
  )

  it.live("an answer that does not decode and a payload that does not encode are typed errors, not defects", () =>
    Effect.gen(function* () {
      const client = yield* TestServer.client()
      // A client built against another version of the declaration.
      const Stale = Procedure.make("add", {
        payload: Schema.Struct({ a: Schema.Number, b: Schema.Number }),
        success: Schema.Struct({ total: Schema.Number })
      })
      const stale = yield* Effect.flip(client.call(Stale, { a: 1, b: 2 }))
      assert.strictEqual(stale._tag, "ProcedureSchemaError")
      assert.strictEqual((stale as ProcedureSchemaError).part, "success")
      assert.include(stale.message, "'add'")

      const Whole = Procedure.make("add", {
        payload: Schema.Struct({ a: Schema.Int, b: Schema.Int }),
        success: Schema.Unknown
      })
      const unsent = yield* Effect.flip(client.call(Whole, { a: 1.5, b: 2 }))
      assert.strictEqual(unsent._tag, "ProcedureSchemaError")
      assert.strictEqual((unsent as ProcedureSchemaError).part, "payload")

      // What the declaration does not describe arrives as the server's error, by name.
      const Loose = Procedure.make("add", { payload: Schema.Unknown, success: Schema.Unknown })
      const refused = yield* Effect.flip(client.call(Loose, { a: "one" }))
      assert.instanceOf(refused, InvalidArgumentsError)
      assert.include(refused.message, "Invalid payload for 'add'")
    }).pipe(Effect.scoped, Effect.provide(App))
  )

  it.live("the inferred types of a call", () =>
    Effect.gen(function* () {
      const client = yield* TestServer.client()
      type AddPayload = Parameters<typeof client.call<typeof Add>>[1]
      expectTypeOf<AddPayload>().toEqualTypeOf<{ readonly a: number; readonly b: number }>()
      expectTypeOf<{ readonly a: string; readonly b: number }>().not.toExtend<AddPayload>()
      const call = client.call(Add, { a: 1, b: 2 })
      expectTypeOf(call).toEqualTypeOf<
        Effect.Effect<
          { readonly sum: number; readonly at: Date },
          Forbidden | Overflow | InvokeError | ProcedureSchemaError,
          never
        >
      >()
      expectTypeOf(client.call(Ping)).toEqualTypeOf<Effect.Effect<void, InvokeError | ProcedureSchemaError, never>>()
      expectTypeOf(client.call(Quota, 1)).toEqualTypeOf<
        Effect.Effect<number, { readonly code: "quota"; readonly left: number } | InvokeError | ProcedureSchemaError>
      >()
      // And the same at run time, for the record.
      assert.strictEqual((yield* call).sum, 3)
    }).pipe(Effect.scoped, Effect.provide(App))
  )
})
