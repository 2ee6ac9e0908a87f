/**
 * What a connected socket holds when it is only used for the everyday work: its rarely
 * needed state is allocated on first use only, and its upgrade request shares the header
 * values most connections have in common. (Memory itself is measured by the benchmark.)
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { maxEntries, shared, sharedCount, shareHeaderValues } from "../src/SharedHeaderValues.js"
import { connectClient, invoke, startServer, subscribe } from "./helpers.js"

describe("an idle socket", () => {
  it.live(
    "handshake, an echo and a subscribe allocate no cold state; a server emit with an ack does, and is answered",
    () =>
      Effect.gen(function* () {
        const server = yield* startServer()
        yield* server.handle("echo", (data) => Effect.succeed(data))
        const client = yield* connectClient(server)
        assert.strictEqual(yield* invoke(client, "echo", 7), 7)
        yield* subscribe(client, "room")
        const socket = server.clients.get(client.id!)!
        assert.isUndefined(Reflect.get(socket, "cold"))
        // Read as their defaults while unallocated.
        assert.strictEqual(socket.cid, 1)
        assert.strictEqual(socket.holds, 0)
        const pendingAcks = () => socket.pendingAcks
        assert.isUndefined(pendingAcks())
        client.on("double", (data: unknown, respond: unknown) => {
          if (typeof respond === "function") respond(null, Number(data) * 2)
        })
        const answer = yield* Effect.callback<unknown>((resume) => {
          socket.emitUnsafe("double", 21, (error, data) =>
            resume(error === null ? Effect.succeed(data) : Effect.die(error))
          )
        })
        assert.strictEqual(answer, 42)
        assert.isDefined(Reflect.get(socket, "cold"))
        assert.strictEqual(socket.cid, 2)
        assert.strictEqual(pendingAcks()?.size, 0)
      })
  )

  it.live("keeps its upgrade request: url, headers, GET, the connection", () =>
    Effect.gen(function* () {
      const server = yield* startServer()
      const client = yield* connectClient(server, { query: { room: "a" } })
      const socket = server.clients.get(client.id!)!
      assert.include(socket.request.url, "room=a")
      assert.strictEqual(socket.request.method, "GET")
      assert.strictEqual(socket.request.headers.upgrade, "websocket")
      assert.strictEqual(socket.request.headers.host, `127.0.0.1:${server.sourcePort}`)
      assert.strictEqual(socket.request.connection, socket.request.socket)
    })
  )
})

describe("shared header values", () => {
  it("keeps values as they are and stops growing at maxEntries", () => {
    const headers = { host: "example.org", "sec-websocket-key": "unique", cookie: "c=1" }
    assert.deepStrictEqual(shareHeaderValues({ ...headers }), headers)
    for (let i = 0; i < maxEntries + 100; i++) assert.strictEqual(shared(`value-${i}`), `value-${i}`)
    assert.strictEqual(sharedCount(), maxEntries)
    assert.strictEqual(shared("x".repeat(10)), "x".repeat(10))
    assert.strictEqual(sharedCount(), maxEntries)
  })
})
