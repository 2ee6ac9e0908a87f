import { assert, describe, it } from "@effect/vitest"
import { Procedure } from "@effect-socketcluster/protocol"
import { Context, Data, Effect, Exit, Layer, Schema, Scope } from "effect"
import * as Procedures from "../src/Procedures.js"
import * as SCServer from "../src/SCServer.js"
import { connectClient, invoke, recordServerEvents, startServer } from "./helpers.js"

class Forbidden extends Schema.TaggedError<Forbidden>()("Forbidden", { role: Schema.String }) {}
const Add = Procedure.make("add", {
  payload: Schema.Struct({ a: Schema.Number, b: Schema.Number }),
  success: Schema.Struct({ sum: Schema.Number, at: Schema.Date }),
  error: Forbidden
})

// An app service the handlers and middleware use.
class Limits extends Context.Service<Limits, { readonly max: number; readonly admins: ReadonlySet<string> }>()(
  "test/Limits"
) {}
const LimitsLive = Layer.succeed(Limits, { max: 100, admins: new Set(["root"]) })

const AddLive = Procedures.layer(Add, ({ a, b }) =>
  Effect.gen(function* () {
    const limits = yield* Limits
    if (a + b > limits.max) return yield* new Forbidden({ role: "guest" })
    return { sum: a + b, at: new Date(0) }
  })
)

class NotAdmin extends Data.TaggedError("NotAdmin")<{ readonly message: string; readonly user: string }> {}

describe("typed procedures", () => {
  it("a procedure layer requires what its handler requires", () => {
    // @ts-expect-error — `Limits` is a requirement of `AddLive`: it cannot pass as needing only the server.
    const withoutLimits: Layer.Layer<never, unknown, SCServer.SCServer> = AddLive
    const withLimits: Layer.Layer<never, unknown, SCServer.SCServer> = AddLive.pipe(Layer.provide(LimitsLive))
    assert.isTrue(Layer.isLayer(withoutLimits) && Layer.isLayer(withLimits))
  })

  it.live("decode the payload, use the app's services, encode success and error; a bad payload is a typed error", () =>
    Effect.gen(function* () {
      const server = yield* startServer()
      yield* Layer.build(
        AddLive.pipe(Layer.provide(LimitsLive), Layer.provide(Layer.succeed(SCServer.SCServer, server)))
      )
      const warnings = yield* recordServerEvents(server)
      const client = yield* connectClient(server)
      assert.deepStrictEqual(yield* invoke(client, "add", { a: 1, b: 2 }), { sum: 3, at: "1970-01-01T00:00:00.000Z" })
      const forbidden = (yield* Effect.flip(invoke(client, "add", { a: 100, b: 1 }))) as Record<string, unknown>
      assert.strictEqual(forbidden.name, "Forbidden")
      assert.strictEqual(forbidden.role, "guest")
      assert.isFalse("_tag" in forbidden)
      const bad = (yield* Effect.flip(invoke(client, "add", { a: "one" }))) as Error
      assert.strictEqual(bad.name, "InvalidArgumentsError")
      assert.include(bad.message, "Invalid payload for 'add'")
      assert.deepStrictEqual(
        warnings.filter((e) => e._tag === "Warning"),
        [],
        "a bad payload is no defect"
      )
    })
  )

  it.live("registration is scoped, and a second registration of one event fails", () =>
    Effect.gen(function* () {
      const server = yield* startServer()
      const Server = Layer.succeed(SCServer.SCServer, server)
      const scope = yield* Scope.make()
      yield* Layer.buildWithScope(AddLive.pipe(Layer.provide(LimitsLive), Layer.provide(Server)), scope)
      assert.isDefined(server.findHandler("add"))
      const again = yield* Effect.flip(
        Layer.build(Procedures.handler("add", () => Effect.succeed(0)).pipe(Layer.provide(Server)))
      )
      assert.strictEqual(again._tag, "DuplicateHandlerError")
      assert.strictEqual(again.event, "add")
      yield* Scope.close(scope, Exit.void)
      assert.isUndefined(server.findHandler("add"))
      // Free again: the quick untyped form takes it.
      yield* Layer.build(Procedures.handler("add", (data) => Effect.succeed({ raw: data })).pipe(Layer.provide(Server)))
      const client = yield* connectClient(server)
      assert.deepStrictEqual(yield* invoke(client, "add", "x"), { raw: "x" })
    })
  )
})

describe("middleware with services", () => {
  it.live("a middleware layer uses the app's services; its tagged error reaches the client by name", () =>
    Effect.gen(function* () {
      const server = yield* startServer()
      yield* server.handle("secret", () => Effect.succeed("42"))
      const AdminsOnly = SCServer.middleware("emit", (req) =>
        Effect.gen(function* () {
          const limits = yield* Limits
          const user = String((req.data as { user?: unknown } | undefined)?.user)
          if (!limits.admins.has(user)) return yield* new NotAdmin({ message: "admins only", user })
        })
      )
      yield* Layer.build(
        AdminsOnly.pipe(Layer.provide(LimitsLive), Layer.provide(Layer.succeed(SCServer.SCServer, server)))
      )
      const client = yield* connectClient(server)
      assert.strictEqual(yield* invoke(client, "secret", { user: "root" }), "42")
      const blocked = (yield* Effect.flip(invoke(client, "secret", { user: "eve" }))) as Record<string, unknown>
      assert.strictEqual(blocked.name, "NotAdmin")
      assert.strictEqual(blocked.user, "eve")
      assert.strictEqual(blocked.message, "admins only")
    })
  )
})
