import * as Http from "node:http"
import { assert, describe, it } from "@effect/vitest"
import { ApplicationError, Codec, SilentMiddlewareBlockedError } from "@effect-socketcluster/protocol"
import { Context, Effect, Exit, Fiber, Layer, Scope } from "effect"
import * as BrokerMemory from "../src/BrokerMemory.js"
import { MiddlewareRejection } from "../src/Middleware.js"
import * as SCServer from "../src/SCServer.js"
import type * as SocketErrors from "../src/SocketErrors.js"
import {
  connectClient,
  createClient,
  invoke,
  nextClientEvent,
  rawClient,
  recordServerEvents,
  reversedCodec,
  startServer,
  upgradeStatus,
  waitForServerEvent
} from "./helpers.js"

describe("server core", () => {
  it.live("server-to-client emit with ack, and the client's error answer", () =>
    Effect.gen(function* () {
      const server = yield* startServer()
      const client = yield* connectClient(server)
      client.on("question", (...args) => {
        const [data, respond] = args as [unknown, (e: unknown, d?: unknown) => void]
        if ((data as { q: number }).q === 1) respond(null, "answer!")
        else respond({ name: "NopeError", message: "no" })
      })
      const socket = server.clients.get(client.id!)!
      assert.strictEqual(yield* socket.invoke("question", { q: 1 }), "answer!")
      const error = yield* Effect.flip(socket.invoke("question", { q: 2 }))
      assert.strictEqual(error._tag, "ClientError")
      assert.strictEqual(error.message, "no")
      assert.strictEqual(((error as SocketErrors.ClientError).error as Error).name, "NopeError")
    })
  )

  it.live("a server emit times out with TimeoutError after ackTimeout", () =>
    Effect.gen(function* () {
      const server = yield* startServer({ ackTimeout: 200 })
      const client = yield* connectClient(server)
      client.on("silent", () => {})
      const socket = server.clients.get(client.id!)!
      const error = yield* Effect.flip(socket.invoke("silent", 1))
      assert.strictEqual((error as Error).name, "TimeoutError")
      assert.strictEqual((error as Error).message, "Event response for 'silent' timed out")
    })
  )

  it.live("server emit without ack and raw send reach the client", () =>
    Effect.gen(function* () {
      const server = yield* startServer()
      const client = yield* connectClient(server)
      const socket = server.clients.get(client.id!)!
      const pushed = nextClientEvent(client, "news")
      yield* socket.emit("news", { headline: "hi" })
      assert.deepStrictEqual((yield* pushed)[0], { headline: "hi" })
      const raw = nextClientEvent(client, "raw")
      yield* socket.send("raw text from server")
      assert.strictEqual((yield* raw)[0], "raw text from server")
    })
  )

  it.live("handler errors reach the client as SocketCluster errors; defects as a generic error", () =>
    Effect.gen(function* () {
      const server = yield* startServer()
      yield* server.handle("fail", () =>
        Effect.fail(new ApplicationError({ name: "CustomErr", message: "bad thing", fields: { extra: 42 } }))
      )
      yield* server.handle("boom", () => Effect.die(new Error("secret internals /srv/app.ts")))
      yield* server.handle("echo", (d) => Effect.succeed(d))
      const client = yield* connectClient(server)
      const error = (yield* Effect.flip(invoke(client, "fail", null))) as Error & { extra: number }
      assert.strictEqual(error.name, "CustomErr")
      assert.strictEqual(error.message, "bad thing")
      assert.strictEqual(error.extra, 42)
      const defect = (yield* Effect.flip(invoke(client, "boom", null))) as Error
      assert.strictEqual(defect.name, "InvalidActionError")
      assert.notInclude(defect.message, "secret")
      assert.strictEqual(yield* invoke(client, "echo", "still here"), "still here")
    })
  )

  it.live("events and counts stay exact through connect, abort and disconnect", () =>
    Effect.gen(function* () {
      const server = yield* startServer({ handshakeTimeout: 300 })
      const events = yield* recordServerEvents(server)
      const client = yield* connectClient(server)
      assert.strictEqual(server.clientsCount, 1)
      const raw = yield* rawClient(server)
      assert.strictEqual(server.pendingClientsCount, 1)
      const closed = yield* raw.closed
      assert.strictEqual(closed.code, 4005)
      assert.deepStrictEqual(JSON.parse(raw.frames[0]!), { event: "#disconnect", data: { code: 4005 } })
      assert.strictEqual(server.pendingClientsCount, 0)
      const clientId = client.id
      const disconnection = waitForServerEvent(server, "Closure", (e) => e.socket.id === clientId)
      const fiber = yield* Effect.forkChild(disconnection, { startImmediately: true })
      client.disconnect(4321, "custom reason")
      const ev = yield* Fiber.join(fiber)
      assert.strictEqual(ev.code, 4321)
      assert.strictEqual(ev.data, "custom reason")
      assert.strictEqual(server.clientsCount, 0)
      const tags = events.filter((e) => e._tag !== "Warning").map((e) => e._tag)
      assert.deepStrictEqual(tags, [
        "Handshake",
        "Connection",
        "Handshake",
        "ConnectionAbort",
        "Closure",
        "Disconnection",
        "Closure"
      ])
      const warnings = events.filter((e) => e._tag === "Warning").map((e) => (e as { error: Error }).error.message)
      assert.include(warnings, "Did not receive #handshake from client before timeout")
    })
  )

  it.live("wrong path gets 400, rejected origin 403, handshakeWS rejection 401", () =>
    Effect.gen(function* () {
      const server = yield* startServer({ origins: "example.com:80" })
      const port = server.sourcePort!
      assert.strictEqual(yield* upgradeStatus(port, "/other/", { Origin: "http://example.com" }), 400)
      assert.strictEqual(yield* upgradeStatus(port, "/socketcluster", { Origin: "http://example.com" }), 400)
      assert.strictEqual(yield* upgradeStatus(port, "/socketcluster/", { Origin: "http://bar.com" }), 403)
      assert.strictEqual(yield* upgradeStatus(port, "/socketcluster/"), 403)
      assert.strictEqual(yield* upgradeStatus(port, "/socketcluster/", { Origin: "https://example.com" }), 403)
      assert.strictEqual(yield* upgradeStatus(port, "/socketcluster/?a=1", { Origin: "http://example.com" }), 101)
      yield* server.addMiddleware("handshakeWS", (req) =>
        req.request.headers["x-token"] === "ok" ? Effect.void : Effect.fail(new Error("no token"))
      )
      assert.strictEqual(yield* upgradeStatus(port, "/socketcluster/", { Origin: "http://example.com" }), 401)
      assert.strictEqual(
        yield* upgradeStatus(port, "/socketcluster/", { Origin: "http://example.com", "x-token": "ok" }),
        101
      )
    })
  )

  it.live("handshakeSC rejection: error answer with the status code, then #disconnect with it", () =>
    Effect.gen(function* () {
      // v14's exact frames (in "auto" mode the error also carries statusCode for v2 clients).
      const server = yield* startServer({ protocolVersion: 1 })
      yield* server.addMiddleware("handshakeSC", () =>
        Effect.fail(
          new MiddlewareRejection({
            error: new ApplicationError({ name: "LazyErr", message: "too lazy" }),
            statusCode: 4501
          })
        )
      )
      const raw = yield* rawClient(server)
      raw.send(JSON.stringify({ event: "#handshake", data: { authToken: null }, cid: 1 }))
      const closed = yield* raw.closed
      assert.strictEqual(closed.code, 4501)
      assert.deepStrictEqual(
        raw.frames.map((f) => JSON.parse(f)),
        [
          { rid: 1, error: { message: "too lazy", name: "LazyErr" }, data: { code: 4501 } },
          { event: "#disconnect", data: { code: 4501 } }
        ]
      )
      const client = yield* createClient(server)
      const [code, reason] = yield* nextClientEvent(client, "connectAbort")
      assert.strictEqual(code, 4501)
      assert.strictEqual(reason, "LazyErr: too lazy")
    })
  )

  it.live("emit middleware: blocks with an error, blocks silently, rewrites data", () =>
    Effect.gen(function* () {
      const server = yield* startServer()
      yield* server.handle("echo", (d) => Effect.succeed(d))
      yield* server.addMiddleware("emit", (req) => {
        if (req.data === "forbidden") return Effect.fail(new ApplicationError({ name: "Forbidden", message: "nope" }))
        if (req.data === "quiet") return Effect.fail(new SilentMiddlewareBlockedError({ message: "", type: "emit" }))
        if (req.data === "rewrite") req.data = "rewritten"
        return Effect.void
      })
      const client = yield* connectClient(server)
      const blocked = (yield* Effect.flip(invoke(client, "echo", "forbidden"))) as Error
      assert.strictEqual(blocked.name, "Forbidden")
      const silent = (yield* Effect.flip(invoke(client, "echo", "quiet"))) as Error & { type: string }
      assert.strictEqual(silent.name, "SilentMiddlewareBlockedError")
      assert.strictEqual(silent.message, "Action was silently blocked by emit middleware")
      assert.strictEqual(silent.type, "emit")
      assert.strictEqual(yield* invoke(client, "echo", "rewrite"), "rewritten")
    })
  )

  it.live("middleware as a layer is added on build and removed on release", () =>
    Effect.gen(function* () {
      const server = yield* startServer()
      yield* server.handle("echo", (d) => Effect.succeed(d))
      const client = yield* connectClient(server)
      const Deny = SCServer.middleware("emit", () =>
        Effect.fail(new ApplicationError({ name: "Denied", message: "no" }))
      )
      const scope = yield* Scope.make()
      yield* Layer.buildWithScope(Deny, scope).pipe(Effect.provideService(SCServer.SCServer, server))
      assert.strictEqual(((yield* Effect.flip(invoke(client, "echo", 1))) as Error).name, "Denied")
      yield* Scope.close(scope, Exit.void)
      assert.strictEqual(yield* invoke(client, "echo", 2), 2)
    })
  )

  it.live("a client that stops answering pings is closed with 4001", () =>
    Effect.gen(function* () {
      const server = yield* startServer({ pingInterval: 100, pingTimeout: 300 })
      const raw = yield* rawClient(server)
      raw.send(JSON.stringify({ event: "#handshake", data: { authToken: null }, cid: 1 }))
      yield* raw.waitFor((f) => f === "#1")
      const closed = yield* raw.closed
      assert.strictEqual(closed.code, 4001)
    })
  )

  it.live("a client that answers pings stays connected past pingTimeout", () =>
    Effect.gen(function* () {
      const server = yield* startServer({ pingInterval: 50, pingTimeout: 200 })
      const client = yield* connectClient(server)
      yield* server.handle("echo", (d) => Effect.succeed(d))
      // Wait for eight pings (400 ms, twice pingTimeout) through the client's own ping events.
      let pings = 0
      yield* Effect.callback<void>((resume) => {
        const socket = server.clients.get(client.id!)!
        socket.hub.listen((e) => {
          if (e._tag === "Message" && e.message === "#2" && ++pings === 8) resume(Effect.void)
        })
      })
      assert.strictEqual(client.state, "open")
      assert.strictEqual(yield* invoke(client, "echo", 1), 1)
    })
  )

  it.live("malformed frames give raw events and never affect other sockets; oversize frames close with 1009", () =>
    Effect.gen(function* () {
      const server = yield* startServer({ maxPayload: 2000 })
      yield* server.handle("echo", (d) => Effect.succeed(d))
      const good = yield* connectClient(server)
      const bad = yield* rawClient(server)
      bad.send(JSON.stringify({ event: "#handshake", data: {}, cid: 1 }))
      yield* bad.waitFor((f) => f.startsWith('{"rid":1'))
      const [socket] = [...server.clients.values()].filter((s) => s.id !== good.id)
      const raws: Array<unknown> = []
      socket!.hub.listen((e) => {
        if (e._tag === "Raw") raws.push(e.message)
      })
      for (const frame of ["{not json", "123", '"#2"', '{"no":"event"}', "[[1]]", "null"]) bad.send(frame)
      bad.send(JSON.stringify({ event: "echo", data: "after garbage", cid: 2 }))
      const answer = JSON.parse(yield* bad.waitFor((f) => f.startsWith('{"rid":2')))
      assert.deepStrictEqual(answer, { rid: 2, data: "after garbage" })
      assert.deepStrictEqual(raws, ["{not json", "123", '"#2"', '{"no":"event"}', "[[1]]", "null"])
      bad.send("x".repeat(3000))
      assert.strictEqual((yield* bad.closed).code, 1009)
      assert.strictEqual(yield* invoke(good, "echo", "unaffected"), "unaffected")
    })
  )

  it.live("200 concurrent clients connect and exchange acks", () =>
    Effect.gen(function* () {
      const server = yield* startServer()
      yield* server.handle("echo", (d) => Effect.succeed(d))
      const clients = yield* Effect.forEach(
        Array.from({ length: 200 }, (_, i) => i),
        () => connectClient(server),
        {
          concurrency: "unbounded"
        }
      )
      assert.strictEqual(server.clientsCount, 200)
      assert.strictEqual(new Set(clients.map((c) => c.id)).size, 200)
      const answers = yield* Effect.forEach(clients, (c, i) => invoke(c, "echo", i), { concurrency: "unbounded" })
      assert.deepStrictEqual(
        answers,
        clients.map((_, i) => i)
      )
    })
  )

  it.live("a custom codec changes what goes over the wire in both directions", () =>
    Effect.gen(function* () {
      const server = yield* startServer({}, Codec.layerFrom(reversedCodec))
      yield* server.handle("echo", (d) => Effect.succeed(d))
      const raw = yield* rawClient(server)
      raw.send([...JSON.stringify({ event: "#handshake", data: {}, cid: 1 })].reverse().join(""))
      const frame = yield* raw.waitFor((f) => f.endsWith(',1:"dir"{'))
      assert.strictEqual(JSON.parse([...frame].reverse().join("")).rid, 1)
    })
  )

  it.live("close() closes every socket with 1001 and the layer releases the port", () =>
    Effect.gen(function* () {
      const scope = yield* Scope.make()
      const server = yield* startServer().pipe(Scope.provide(scope))
      const port = server.sourcePort!
      const raw = yield* rawClient(server)
      raw.send(JSON.stringify({ event: "#handshake", data: {}, cid: 1 }))
      yield* raw.waitFor((f) => f.startsWith('{"rid":1'))
      yield* Scope.close(scope, Exit.void)
      assert.strictEqual((yield* raw.closed).code, 1001)
      // The port is free again: a new server can listen on it.
      const again = yield* Layer.build(
        SCServer.layer({ port, host: "127.0.0.1" }).pipe(Layer.provide(BrokerMemory.layer))
      )
      assert.isDefined(again)
    })
  )

  it.live("invalid options fail the layer with InvalidOptionsError naming the option", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(startServer({ pingInterval: -5 }))
      assert.strictEqual((error as Error).name, "InvalidOptionsError")
      assert.include((error as Error).message, "pingInterval")
      const error2 = yield* Effect.flip(startServer({ ackTimeout: "soon" as unknown as number }))
      assert.include((error2 as Error).message, "ackTimeout")
    })
  )

  it.live("attaches to an existing Node HTTP server, leaving its other routes alone", () =>
    Effect.gen(function* () {
      const http = Http.createServer((_req, res) => res.end("app route"))
      yield* Effect.callback<void>((resume) => {
        http.listen(0, "127.0.0.1", () => resume(Effect.void))
      })
      yield* Effect.addFinalizer(() =>
        Effect.callback<void>((resume) => {
          http.closeAllConnections()
          http.close(() => resume(Effect.void))
        })
      )
      const context = yield* Layer.build(
        SCServer.layerAttach(http, { authKey: "k".repeat(40) }).pipe(Layer.provide(BrokerMemory.layer))
      )
      const server = Context.get(context, SCServer.SCServer)
      yield* server.handle("echo", (d) => Effect.succeed(d))
      const client = yield* connectClient(server)
      assert.strictEqual(yield* invoke(client, "echo", "attached"), "attached")
      const body = yield* Effect.promise(() => fetch(`http://127.0.0.1:${server.sourcePort}/`).then((r) => r.text()))
      assert.strictEqual(body, "app route")
    })
  )
})
