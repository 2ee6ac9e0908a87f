import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber } from "effect"
import { connectClient, invoke, rawClient, recordServerEvents, startServer, waitForServerEvent } from "./helpers.js"

describe("handshake", () => {
  it.live("the real v14 client connects and gets the status fields", () =>
    Effect.gen(function* () {
      const server = yield* startServer()
      const events = yield* recordServerEvents(server)
      const client = yield* connectClient(server)
      assert.strictEqual(typeof client.id, "string")
      assert.isTrue(server.clients.has(client.id!))
      assert.strictEqual(server.clientsCount, 1)
      assert.strictEqual(server.pendingClientsCount, 0)
      const tags = events.map((e) => e._tag)
      assert.deepStrictEqual(tags.slice(0, 2), ["Handshake", "Connection"])
      const connection = events.find((e) => e._tag === "Connection")
      assert.deepStrictEqual(connection?._tag === "Connection" ? connection.status : undefined, {
        id: client.id!,
        pingTimeout: 20000,
        isAuthenticated: false
      })
    })
  )

  it.live("answers #handshake with id, pingTimeout and isAuthenticated and no authError key", () =>
    Effect.gen(function* () {
      const server = yield* startServer()
      const raw = yield* rawClient(server)
      raw.send(JSON.stringify({ event: "#handshake", data: { authToken: null }, cid: 1 }))
      const frame = JSON.parse(yield* raw.waitFor((f) => f.startsWith('{"rid":1')))
      const [socket] = server.clients.values()
      assert.deepStrictEqual(frame, { rid: 1, data: { id: socket!.id, pingTimeout: 20000, isAuthenticated: false } })
    })
  )

  it.live("emit with ack round-trips through an Effect handler", () =>
    Effect.gen(function* () {
      const server = yield* startServer()
      yield* server.handle("echo", (data) => Effect.succeed(data))
      const client = yield* connectClient(server)
      const answer = yield* invoke(client, "echo", { a: [1, "two", null] })
      assert.deepStrictEqual(answer, { a: [1, "two", null] })
    })
  )

  it.live("closes a socket whose first frame is not #handshake with 4009 (strictHandshake)", () =>
    Effect.gen(function* () {
      const server = yield* startServer()
      const abort = yield* Effect.forkChild(waitForServerEvent(server, "ConnectionAbort"), { startImmediately: true })
      const raw = yield* rawClient(server)
      raw.send(JSON.stringify({ event: "echo", data: 1, cid: 1 }))
      const closed = yield* raw.closed
      assert.strictEqual(closed.code, 4009)
      const event = yield* Fiber.join(abort)
      assert.strictEqual(event.code, 4009)
    })
  )
})
