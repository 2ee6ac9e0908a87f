import { assert, describe, it } from "@effect/vitest"
import { SilentMiddlewareBlockedError, UnknownError } from "@effect-socketcluster/protocol"
import { Context, Data, Effect, Layer } from "effect"
import * as Middleware from "../src/Middleware.js"
import * as SCServer from "../src/SCServer.js"
import { connectClient, invoke, recordServerEvents, startServer } from "./helpers.js"

// A user's own tagged error, and an app service the middleware needs.
class NotAdmin extends Data.TaggedError("NotAdmin")<{ readonly message: string; readonly user: string }> {}
class Admins extends Context.Service<Admins, ReadonlySet<string>>()("test/Admins") {}
const AdminsLive = Layer.succeed(Admins, new Set(["root"]))

const adminsOnly: Middleware.Middleware<"emit", NotAdmin, Admins> = (req) =>
  Effect.gen(function* () {
    const admins = yield* Admins
    const user = String((req.data as { readonly user?: unknown } | undefined)?.user)
    if (!admins.has(user)) return yield* new NotAdmin({ message: "admins only", user })
  })

// The client's `connect` comes after the server opened its socket.
const onlySocket = (server: SCServer.SCServerCore) => {
  const [socket] = server.clients.values()
  if (socket === undefined) throw new Error("no open socket")
  return socket
}

describe("MiddlewareBlocked carries the middleware's error", () => {
  it.live("typed as MiddlewareBlocked<E> and, at run time, the very error the middleware failed with", () =>
    Effect.gen(function* () {
      const server = yield* startServer()
      yield* connectClient(server)
      const socket = onlySocket(server)
      const req = { socket, event: "secret", data: { user: "eve" }, authTokenExpiredError: undefined }
      const blocked: Middleware.MiddlewareBlocked<NotAdmin> = yield* Middleware.run("emit", adminsOnly, req).pipe(
        Effect.flip,
        Effect.provide(AdminsLive)
      )
      assert.instanceOf(blocked, Middleware.MiddlewareBlocked)
      assert.strictEqual(blocked._tag, "MiddlewareBlocked")
      assert.strictEqual(blocked.type, "emit")
      assert.isFalse(blocked.silent)
      const error = blocked.error
      // Narrowing on the user's tag compiles only because `E` survived into the type.
      if (error._tag !== "NotAdmin") return assert.fail(`expected NotAdmin, got ${error._tag}`)
      assert.instanceOf(error, NotAdmin)
      assert.strictEqual(error.user, "eve")
      yield* Middleware.run("emit", adminsOnly, { ...req, data: { user: "root" } }).pipe(Effect.provide(AdminsLive))
    })
  )

  it.live("a silent block and a defect keep their own errors", () =>
    Effect.gen(function* () {
      const server = yield* startServer()
      yield* connectClient(server)
      const socket = onlySocket(server)
      const req = { socket, event: "x", data: undefined, authTokenExpiredError: undefined }
      const silent = yield* Effect.flip(
        Middleware.run("emit", () => Effect.fail(new SilentMiddlewareBlockedError({ message: "", type: "emit" })), req)
      )
      assert.isTrue(silent.silent)
      assert.instanceOf(silent.error, SilentMiddlewareBlockedError)
      const defects: Array<string> = []
      const died = yield* Effect.flip(
        Middleware.run(
          "emit",
          () => Effect.die(new Error("bug in /srv/app.ts")),
          req,
          (type) => defects.push(type)
        )
      )
      assert.instanceOf(died.error, UnknownError)
      assert.notInclude(String((died.error as UnknownError).message), "/srv/app.ts")
      assert.deepStrictEqual(defects, ["emit"])
    })
  )

  it.live(
    "through a middleware layer: the client gets name = _tag plus fields, the server's warning the error itself",
    () =>
      Effect.gen(function* () {
        const server = yield* startServer()
        yield* server.handle("secret", () => Effect.succeed("42"))
        yield* Layer.build(
          SCServer.middleware("emit", adminsOnly).pipe(
            Layer.provide(AdminsLive),
            Layer.provide(Layer.succeed(SCServer.SCServer, server))
          )
        )
        const events = yield* recordServerEvents(server)
        const client = yield* connectClient(server)
        assert.strictEqual(yield* invoke(client, "secret", { user: "root" }), "42")
        const wire = (yield* Effect.flip(invoke(client, "secret", { user: "eve" }))) as Record<string, unknown>
        assert.deepInclude(wire, { name: "NotAdmin", message: "admins only", user: "eve" })
        assert.isFalse("_tag" in wire)
        const warnings = events.flatMap((e) => (e._tag === "Warning" && e.error instanceof NotAdmin ? [e.error] : []))
        assert.lengthOf(warnings, 1)
        assert.strictEqual(warnings[0]?.user, "eve")
      })
  )
})
