/**
 * Typical socketcluster-server v14 app patterns, written against the compat API only and
 * exercised with the real socketcluster-client v14.
 */
import { assert, describe, it } from "vitest"
import type { SCServerSocket } from "../src/index.js"
import {
  collector,
  connectClient,
  createClient,
  invoke,
  once,
  publish,
  rawClient,
  record,
  startServer,
  subscribe,
  until
} from "./helpers.js"

describe("v14 app patterns", () => {
  it("login flow: setAuthToken in an RPC, middleware checks, reconnect with the stored token", async () => {
    const server = await startServer()
    const users: Record<string, string> = { alice: "secret" }
    server.addMiddleware(server.MIDDLEWARE_EMIT, (req, next) => {
      if (req.event === "login" || req.socket.authToken !== null) return next()
      const error = new Error("You must log in first")
      error.name = "NotLoggedInError"
      next(error)
    })
    server.on("connection", (socket: SCServerSocket) => {
      socket.on("login", (credentials: { username: string; password: string }, respond) => {
        if (users[credentials.username] !== credentials.password) return respond("Invalid credentials")
        socket.setAuthToken({ username: credentials.username })
        respond()
      })
      socket.on("whoami", (_data: unknown, respond) => {
        const token = socket.getAuthToken() as { username: string }
        respond(null, token.username)
      })
    })
    const client = await connectClient(server)
    const [deniedError] = await invoke(client, "whoami")
    assert.strictEqual((deniedError as Error).name, "NotLoggedInError")
    assert.strictEqual((deniedError as Error).message, "You must log in first")

    const [badLogin] = await invoke(client, "login", { username: "alice", password: "nope" })
    assert.strictEqual(badLogin, "Invalid credentials")

    const stateInCallback = await new Promise<[string, unknown]>((resolve) => {
      client.emit("login", { username: "alice", password: "secret" }, () =>
        resolve([client.authState, client.authToken?.username])
      )
    })
    assert.deepStrictEqual(stateInCallback, ["authenticated", "alice"])
    assert.deepStrictEqual(await invoke(client, "whoami"), [null, "alice"])

    // Reconnect: the client sends its stored token in the handshake.
    const token = client.getSignedAuthToken()
    assert.isString(token)
    client.disconnect()
    const reconnected = once(client, "connect")
    client.connect()
    const [status] = (await reconnected) as [{ isAuthenticated: boolean; authError?: unknown }]
    assert.strictEqual(status.isAuthenticated, true)
    assert.isUndefined(status.authError)
    assert.deepStrictEqual(await invoke(client, "whoami"), [null, "alice"])
  })

  it("chat over pub/sub with publishIn filtering and a server-side watcher", async () => {
    const server = await startServer()
    server.addMiddleware(server.MIDDLEWARE_PUBLISH_IN, (req, next) => {
      const message = req.data as { text?: unknown }
      if (typeof message?.text !== "string" || message.text.includes("spam")) {
        const error = new Error("Message rejected")
        error.name = "FilteredMessageError"
        return next(error)
      }
      req.data = { ...message, text: message.text.trim() }
      next()
    })
    const log = collector()
    server.exchange.subscribe("room").watch(log.push)

    const alice = await connectClient(server)
    const bob = await connectClient(server)
    const room = await subscribe(bob, "room")
    const received = collector()
    room.watch(received.push)
    const aliceRoom = await subscribe(alice, "room")
    const aliceReceived = collector()
    aliceRoom.watch(aliceReceived.push)

    const [spamError] = await publish(alice, "room", { text: "buy spam" })
    assert.strictEqual((spamError as Error).name, "FilteredMessageError")
    const [okError] = await publish(alice, "room", { text: "  hello bob  " })
    assert.isNull(okError)
    assert.deepStrictEqual(await received.waitFor(1), [{ text: "hello bob" }])
    assert.deepStrictEqual(await aliceReceived.waitFor(1), [{ text: "hello bob" }])
    assert.deepStrictEqual(log.items, [{ text: "hello bob" }])

    // A server publication reaches subscribers and the exchange's own watcher.
    await new Promise<void>((resolve, reject) =>
      server.exchange.publish("room", { text: "from server" }, (error) => (error ? reject(error) : resolve()))
    )
    assert.deepStrictEqual((await received.waitFor(2))[1], { text: "from server" })
    assert.deepStrictEqual(log.items[1], { text: "from server" })
  })

  it("RPC with respond errors: custom names and fields reach the client", async () => {
    const server = await startServer()
    server.on("connection", (socket: SCServerSocket) => {
      socket.on("divide", (data: { a: number; b: number }, respond) => {
        if (data.b === 0) {
          const error = new Error("Cannot divide by zero") as Error & { code?: number }
          error.name = "DivisionByZeroError"
          error.code = 42
          return respond(error)
        }
        respond(null, data.a / data.b)
      })
    })
    const client = await connectClient(server)
    assert.deepStrictEqual(await invoke(client, "divide", { a: 6, b: 3 }), [null, 2])
    const [error] = await invoke(client, "divide", { a: 1, b: 0 })
    assert.strictEqual((error as Error).name, "DivisionByZeroError")
    assert.strictEqual((error as Error).message, "Cannot divide by zero")
    assert.strictEqual((error as { code?: number }).code, 42)
  })

  it("handshakeSC rejection with a status code: the client sees connectAbort with it", async () => {
    const server = await startServer()
    server.addMiddleware(server.MIDDLEWARE_HANDSHAKE_SC, (req, next) => {
      const banned = (req.socket.request.url ?? "").includes("banned=1")
      if (!banned) return next()
      const error = new Error("You are banned")
      error.name = "BannedError"
      next(error, 4501)
    })
    const aborts = record(server, ["connectionAbort", "connection"])
    const client = createClient(server, { query: { banned: 1 } })
    const [code, reason] = await once(client, "connectAbort")
    assert.strictEqual(code, 4501)
    assert.strictEqual(reason, "BannedError: You are banned")
    await until(server, "closure", () => server.pendingClientsCount === 0)
    assert.deepStrictEqual(
      aborts.map(([event]) => event),
      ["connectionAbort"]
    )
    await connectClient(server)
  })

  it("kickOut removes a socket from a channel and it stops receiving", async () => {
    const server = await startServer()
    const client = await connectClient(server)
    const channel = await subscribe(client, "news")
    const kicked = once(client, "kickOut")
    const serverSocket = server.clients[client.id ?? ""]
    assert.isDefined(serverSocket)
    assert.deepStrictEqual(serverSocket?.channelSubscriptions, { news: true })
    serverSocket?.kickOut("news", "bye")
    const [message, name] = await kicked
    assert.strictEqual(message, "bye")
    assert.strictEqual(name, "news")
    assert.strictEqual(serverSocket?.channelSubscriptionsCount, 0)
    assert.strictEqual(channel.state, "unsubscribed")
    const received: Array<unknown> = []
    client.on("message", (m: string) => {
      if (m.includes("#publish")) received.push(m)
    })
    await new Promise<void>((resolve) => server.exchange.publish("news", "after", () => resolve()))
    // A round trip after the publication: had it been delivered, it would have arrived first.
    server.on("connection", () => {})
    serverSocket?.on("ping-me", (_d: unknown, respond) => respond())
    await invoke(client, "ping-me")
    assert.deepStrictEqual(received, [])
  })

  it("server close while clients are connected: new connections fail, existing ones keep working", async () => {
    const server = await startServer()
    server.on("connection", (socket: SCServerSocket) => {
      socket.on("echo", (data: unknown, respond) => respond(null, data))
    })
    const client = await connectClient(server)
    await new Promise<void>((resolve) => server.close(() => resolve()))
    assert.strictEqual(server.isReady, false)
    assert.deepStrictEqual(await invoke(client, "echo", "still here"), [null, "still here"])
    await rawClient(server).then(
      () => assert.fail("upgrade accepted after close"),
      (error: Error) => assert.match(error.message, /HTTP 400/)
    )
    // Opt-in: terminate the remaining sockets.
    const disconnected = once(client, "disconnect")
    server.close(undefined, { terminateSockets: true })
    const [code] = await disconnected
    assert.strictEqual(code, 1001)
    assert.strictEqual(server.clientsCount, 0)
  })

  it("counts and events under 200 concurrent clients", async () => {
    const server = await startServer()
    const events = record(server, ["connection", "disconnection", "closure"])
    let handshakes = 0
    server.on("handshake", () => handshakes++)
    const clients = await Promise.all(Array.from({ length: 200 }, () => connectClient(server)))
    assert.strictEqual(server.clientsCount, 200)
    assert.strictEqual(server.pendingClientsCount, 0)
    assert.strictEqual(Object.keys(server.clients).length, 200)
    assert.strictEqual(handshakes, 200)
    assert.strictEqual(events.filter(([e]) => e === "connection").length, 200)
    for (const client of clients) assert.isDefined(server.clients[client.id ?? ""])
    await Promise.all(clients.map((client) => subscribe(client, "all")))
    const deliveries = clients.map((client) => once(client, "message"))
    server.exchange.publish("all", "hello everyone")
    await Promise.all(deliveries)
    for (const client of clients.slice(0, 100)) client.disconnect()
    await until(server, "closure", () => server.clientsCount === 100)
    assert.strictEqual(events.filter(([e]) => e === "disconnection").length, 100)
    assert.strictEqual(events.filter(([e]) => e === "closure").length, 100)
    assert.strictEqual(Object.keys(server.clients).length, 100)
  })
})
