/**
 * Protocol v1 and v2 on one server (spec protocol-v2.md §4): the real socketcluster-client
 * 14.3.2, 15.1.0, 16.1.1, 17.2.2 and 20.0.2, default options, all connected at once to
 * one server in "auto" mode. Connection, detection, pings, RPC in both directions.
 */
import { assert, describe, it } from "@effect/vitest"
import { ApplicationError } from "@effect-socketcluster/protocol"
import { Effect } from "effect"
import type * as SocketErrors from "../src/SocketErrors.js"
import { startServer } from "./helpers.js"
import { clientNames, connectAll, watchSockets } from "./protocolClients.js"

const pingOptions = { pingInterval: 500, pingTimeout: 1500 } as const

describe("dual protocol: connection and RPC", () => {
  it.live("V2-01..V2-05: all five connect, are detected, and stay connected past pingTimeout on their own pings", () =>
    Effect.gen(function* () {
      const server = yield* startServer(pingOptions)
      const watch = yield* watchSockets(server)
      yield* server.handle("echo", (data) => Effect.succeed(data))
      const connected = yield* connectAll(server.sourcePort!)
      assert.deepStrictEqual(
        connected.map(({ client }) => client.name),
        clientNames
      )
      for (const { client, status } of connected) {
        const s = status as Record<string, unknown>
        assert.strictEqual(typeof s.id, "string", client.name)
        assert.strictEqual(s.pingTimeout, 1500, client.name)
        assert.strictEqual(s.isAuthenticated, false, client.name)
        assert.strictEqual(s.authError, undefined, client.name)
      }
      const ids = connected.map(({ client }) => client.socket.id)
      for (const { client } of connected) {
        const w = watch.of(client.socket.id)
        assert.strictEqual(yield* Effect.promise(() => w.version), client.protocol, client.name)
        assert.strictEqual(w.socket.protocolVersion, client.protocol, client.name)
      }
      // Twice pingTimeout, observed through the pongs themselves: pings kept flowing.
      yield* Effect.promise(() =>
        Promise.all(connected.map(({ client }) => watch.of(client.socket.id).pongAfter(3000)))
      )
      for (const [i, { client }] of connected.entries()) {
        const w = watch.of(client.socket.id)
        assert.strictEqual(client.socket.state, "open", client.name)
        assert.strictEqual(client.socket.id, ids[i], client.name)
        assert.deepStrictEqual(client.disconnects, [], client.name)
        // The first tick's other ping reached each client once, as `raw`, and never again.
        assert.deepStrictEqual(client.raw, [client.protocol === 1 ? "" : "#1"], client.name)
        // At least 5 ticks in 3 s, and after detection only the connection's own pong form.
        assert.isAtLeast(w.pongs.length, 5, client.name)
        const own = client.protocol === 1 ? "#2" : ""
        assert.deepStrictEqual(
          w.pongs.map((p) => p.frame),
          w.pongs.map(() => own),
          client.name
        )
        assert.deepStrictEqual(yield* Effect.promise(() => client.invoke("echo", { a: 1 })), { a: 1 }, client.name)
      }
      assert.strictEqual(server.clientsCount, 5)
    })
  )

  it.live("V2-11..V2-18: invoke, transmit, server emit and invoke, errors both ways, timeouts, #custom", () =>
    Effect.gen(function* () {
      const server = yield* startServer({ ...pingOptions, ackTimeout: 300 })
      const transmitted: Array<unknown> = []
      yield* server.handle("echo", (data) => Effect.succeed(data))
      yield* server.handle("tx", (data, socket) => Effect.sync(() => transmitted.push([socket.id, data])))
      yield* server.handle("fail", () => Effect.fail(new ApplicationError({ name: "MyErr", message: "nope" })))
      yield* server.handle("plain", () => Effect.fail(new Error("x")))
      yield* server.handle("silent", () => Effect.never)
      yield* server.handle("#custom", (data) => Effect.succeed(`custom:${String(data)}`))
      let emitMiddlewareRuns = 0
      yield* server.addMiddleware("emit", () =>
        Effect.sync(() => {
          emitMiddlewareRuns++
        })
      )
      const connected = yield* connectAll(server.sourcePort!, clientNames, (name) =>
        name === "14.3.2" ? { ackTimeout: 300 } : {}
      )
      for (const { client } of connected) {
        const name = client.name
        const socket = server.clients.get(client.socket.id!)!
        // V2-11, V2-12
        assert.deepStrictEqual(yield* Effect.promise(() => client.invoke("echo", { a: 1 })), { a: 1 }, name)
        client.transmit("tx", "hi")
        // V2-13, V2-14, V2-15: a server emit, and a server invoke answered and failed by the client.
        const received = new Promise<unknown>((resolve) => client.receive("fromServer", resolve))
        client.procedure("clientProc", (n) => {
          if (n === "fail") throw Object.assign(new Error("client says no"), { name: "CliErr" })
          return (n as number) * 2
        })
        yield* socket.emit("fromServer", { x: 1 })
        assert.deepStrictEqual(yield* Effect.promise(() => received), { x: 1 }, name)
        assert.strictEqual(yield* socket.invoke("clientProc", 21), 42, name)
        const rejected = yield* Effect.flip(socket.invoke("clientProc", "fail"))
        assert.strictEqual(rejected._tag, "ClientError", name)
        const cliErr = (rejected as SocketErrors.ClientError).error as Error
        assert.strictEqual(cliErr.name, "CliErr", name)
        assert.strictEqual(cliErr.message, "client says no", name)
        // V2-16: the server's error answers.
        const myErr = (yield* Effect.promise(() => client.invoke("fail").then(null, (e: Error) => e))) as Error
        assert.strictEqual(myErr.name, "MyErr", name)
        assert.strictEqual(myErr.message, "nope", name)
        const plain = (yield* Effect.promise(() => client.invoke("plain").then(null, (e: Error) => e))) as Error
        assert.strictEqual(plain.name, "Error", name)
        // V2-17: an unanswered invoke, with each release's own message (§2.3).
        const timeout = (yield* Effect.promise(() =>
          client.invoke("silent", undefined, 300).then(null, (e: Error) => e)
        )) as Error
        assert.strictEqual(timeout.name, "TimeoutError", name)
        const quoted = name === "14.3.2" ? "'silent'" : name === "20.0.2" ? "silent event" : '"silent"'
        assert.strictEqual(timeout.message, `Event response for ${quoted} timed out`, name)
        // V2-18: `#` names skip the emit middleware whatever the protocol, both ways.
        const before = emitMiddlewareRuns
        assert.strictEqual(yield* Effect.promise(() => client.invoke("#custom", "x")), "custom:x", name)
        assert.strictEqual(emitMiddlewareRuns, before, name)
        const custom = new Promise<unknown>((resolve) => client.receive("#custom", resolve))
        yield* socket.emit("#custom", "from server")
        assert.strictEqual(yield* Effect.promise(() => custom), "from server", name)
      }
      // The transmits arrived (each before its client's next invoke, which was answered), unanswered.
      assert.deepStrictEqual(
        transmitted,
        connected.map(({ client }) => [client.socket.id, "hi"])
      )
    })
  )
})
