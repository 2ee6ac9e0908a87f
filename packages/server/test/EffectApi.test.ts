import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, Layer, Option, Stream } from "effect"
import * as BrokerMemory from "../src/BrokerMemory.js"
import * as SCServer from "../src/SCServer.js"
import { connectClient, nextClientEvent, startServer, startStoppableServer, waitForServerEvent } from "./helpers.js"

const authKey = "k".repeat(40)

describe("required services", () => {
  it("a broker layer merged instead of provided leaves Broker required, so the app does not compile", () => {
    const merged = Layer.merge(SCServer.layer({ authKey, port: 0 }), BrokerMemory.layer)
    // @ts-expect-error — `Broker` is still a requirement of `merged`: `Layer.launch(merged)` cannot run as is.
    const launchable: Layer.Layer<SCServer.SCServer, unknown, never> = merged
    const provided: Layer.Layer<SCServer.SCServer, unknown, never> = SCServer.layer({ authKey, port: 0 }).pipe(
      Layer.provide(BrokerMemory.layer)
    )
    assert.isTrue(Layer.isLayer(launchable) && Layer.isLayer(provided))
  })
})

describe("server events", () => {
  it.live("a stream started after the layer was built sees Ready; every stream completes when the server closes", () =>
    Effect.gen(function* () {
      const { server, stop } = yield* startStoppableServer()
      const first = yield* Stream.runHead(server.events)
      assert.deepStrictEqual(Option.getOrUndefined(first), { _tag: "Ready" })
      const all = yield* Effect.forkChild(Stream.runCollect(server.events), { startImmediately: true })
      yield* connectClient(server).pipe(Effect.scoped)
      yield* stop
      const tags = (yield* Fiber.join(all)).map((e) => e._tag)
      assert.strictEqual(tags[0], "Ready")
      assert.includeMembers(tags, ["Handshake", "Connection", "Disconnection"])
      // Started after the close: completes at once, empty.
      assert.strictEqual((yield* Stream.runCollect(server.events)).length, 0)
    })
  )

  it.live("a throwing listener is reported as a Warning and the other listeners still run", () =>
    Effect.gen(function* () {
      const server = yield* startServer()
      const boom = new Error("listener bug")
      const seen: Array<string> = []
      server.hub.listen((e) => {
        if (e._tag === "Connection") throw boom
      })
      server.hub.listen((e) => {
        if (e._tag === "Connection") seen.push(e.socket.id)
      })
      const warning = yield* Effect.forkChild(
        waitForServerEvent(server, "Warning", (w) => w.error === boom),
        { startImmediately: true }
      )
      const client = yield* connectClient(server)
      assert.strictEqual((yield* Fiber.join(warning)).error, boom)
      assert.deepStrictEqual(seen, [client.id])
    })
  )

  it.live("a socket's event stream completes after its Close", () =>
    Effect.gen(function* () {
      const server = yield* startServer()
      const client = yield* connectClient(server)
      const socket = server.clients.get(client.id!)!
      const events = yield* Effect.forkChild(Stream.runCollect(socket.events), { startImmediately: true })
      client.disconnect(4321)
      const tags = (yield* Fiber.join(events)).map((e) => e._tag)
      assert.includeMembers(tags, ["Disconnect", "Close"])
    })
  )
})

describe("socket.invoke", () => {
  it.live("fails at once with BadConnectionError when the socket closes", () =>
    Effect.gen(function* () {
      const server = yield* startServer({ ackTimeout: 30_000 })
      const client = yield* connectClient(server)
      const asked = nextClientEvent(client, "silent")
      const socket = server.clients.get(client.id!)!
      const pending = yield* Effect.forkChild(Effect.flip(socket.invoke("silent", 1)), { startImmediately: true })
      yield* asked
      const started = Date.now()
      client.disconnect()
      const error = yield* Fiber.join(pending)
      assert.strictEqual(error._tag, "BadConnectionError")
      assert.isBelow(Date.now() - started, 5_000)
    })
  )

  it.live("an interrupted invoke frees its ack slot", () =>
    Effect.gen(function* () {
      const server = yield* startServer({ maxPendingOutboundAcks: 1, ackTimeout: 30_000 })
      const client = yield* connectClient(server)
      client.on("silent", () => {})
      client.on("ask", (_data: unknown, respond: unknown) => (respond as (e: unknown, d: unknown) => void)(null, "yes"))
      const socket = server.clients.get(client.id!)!
      const first = yield* Effect.forkChild(socket.invoke("silent"), { startImmediately: true })
      assert.strictEqual((yield* Effect.flip(socket.invoke("ask")))._tag, "ResourceLimitError")
      yield* Fiber.interrupt(first)
      assert.strictEqual(yield* socket.invoke("ask"), "yes")
    })
  )

  it.live("a client's error answer is a ClientError carrying it", () =>
    Effect.gen(function* () {
      const server = yield* startServer()
      const client = yield* connectClient(server)
      client.on("ask", (_data: unknown, respond: unknown) =>
        (respond as (e: unknown) => void)(Object.assign(new Error("no thanks"), { name: "Refusal" }))
      )
      const socket = server.clients.get(client.id!)!
      const error = yield* Effect.flip(socket.invoke("ask"))
      assert.strictEqual(error._tag, "ClientError")
      assert.strictEqual(error.message, "no thanks")
      if (error._tag === "ClientError") assert.strictEqual((error.error as Error).name, "Refusal")
    })
  )
})
