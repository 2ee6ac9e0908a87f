import { assert, describe, it } from "@effect/vitest"
import { ApplicationError } from "@effect-socketcluster/protocol"
import { Data, Effect, Schema } from "effect"
import { toWireError } from "../src/WireError.js"
import { connectClient, invoke, startServer } from "./helpers.js"

class Forbidden extends Data.TaggedError("Forbidden")<{ readonly message: string; readonly role: string }> {}
class Quota extends Schema.TaggedError<Quota>()("QuotaExceeded", { limit: Schema.Number }) {}

const wireOf = (error: unknown) => JSON.parse(JSON.stringify(toWireError(error))) as Record<string, unknown>

describe("tagged errors on the wire", () => {
  it("a Data.TaggedError is named by its tag, with its fields and no _tag", () => {
    assert.deepStrictEqual(wireOf(new Forbidden({ message: "admins only", role: "guest" })), {
      name: "Forbidden",
      message: "admins only",
      role: "guest"
    })
  })

  it("a Schema tagged error is named by its tag too", () => {
    const wire = wireOf(new Quota({ limit: 3 }))
    assert.strictEqual(wire.name, "QuotaExceeded")
    assert.strictEqual(wire.limit, 3)
    assert.isFalse("_tag" in wire)
  })

  it("ApplicationError keeps its chosen name", () => {
    assert.deepStrictEqual(wireOf(new ApplicationError({ name: "Nope", message: "no", fields: { n: 1 } })), {
      message: "no",
      name: "Nope",
      n: 1
    })
  })

  it.live("a user's tagged error failing a middleware or a handler reaches the v14 client by name", () =>
    Effect.gen(function* () {
      const server = yield* startServer()
      yield* server.addMiddleware("emit", (req) =>
        req.event === "admin" ? Effect.fail(new Forbidden({ message: "admins only", role: "guest" })) : Effect.void
      )
      yield* server.handle("spend", () => Effect.fail(new Quota({ limit: 3 })))
      const client = yield* connectClient(server)
      const blocked = (yield* Effect.flip(invoke(client, "admin"))) as Record<string, unknown>
      assert.strictEqual(blocked.name, "Forbidden")
      assert.strictEqual(blocked.message, "admins only")
      assert.strictEqual(blocked.role, "guest")
      assert.isFalse("_tag" in blocked)
      const failed = (yield* Effect.flip(invoke(client, "spend"))) as Record<string, unknown>
      assert.strictEqual(failed.name, "QuotaExceeded")
      assert.strictEqual(failed.limit, 3)
      assert.isFalse("_tag" in failed)
    })
  )
})
