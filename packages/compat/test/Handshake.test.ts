/**
 * behaviours.md — "Transport and upgrade", "Origins" and "Handshake", through the compat API.
 */
import * as Http from "node:http"
import { assert, describe, it } from "vitest"
import { attach, type SCServerSocket } from "../src/index.js"
import {
  AUTH_KEY,
  connectClient,
  createClient,
  onCleanup,
  once,
  portOf,
  rawClient,
  rawConnected,
  record,
  startServer,
  until
} from "./helpers.js"

const httpGet = (port: number, path: string): Promise<{ status: number; body: string }> =>
  new Promise((resolve, reject) => {
    Http.get({ host: "127.0.0.1", port, path }, (res) => {
      let body = ""
      res.on("data", (chunk: Buffer) => {
        body += chunk.toString()
      })
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }))
    }).on("error", reject)
  })

describe("Transport and upgrade", () => {
  it("B1: an upgrade on /socketcluster/ is accepted", async () => {
    const server = await startServer()
    const raw = await rawClient(server)
    assert.strictEqual(raw.ws.readyState, 1)
  })

  it("B2: /socketcluster (no slash) and /other/ get HTTP 400", async () => {
    const server = await startServer()
    for (const path of ["/socketcluster", "/other/"]) {
      const error = await rawClient(server, { path }).then(
        () => undefined,
        (e: Error) => e
      )
      assert.match(String(error?.message), /HTTP 400/)
    }
  })

  it("B3: path 'custom' gives getPath() '/custom/' and upgrades there", async () => {
    const server = await startServer({ path: "custom" })
    assert.strictEqual(server.getPath(), "/custom/")
    const raw = await rawClient(server, { path: "/custom/" })
    assert.strictEqual(raw.ws.readyState, 1)
  })

  it("B4: a query string is accepted and socket.request.url contains it", async () => {
    const server = await startServer()
    const handshake = once(server, "handshake")
    await rawClient(server, { path: "/socketcluster/?foo=bar" })
    const [socket] = (await handshake) as [SCServerSocket]
    assert.include(socket.request.url, "?foo=bar")
  })

  it("B5: a listen() server answers plain HTTP GET with 501 Not Implemented", async () => {
    const server = await startServer()
    const response = await httpGet(portOf(server), "/")
    assert.deepStrictEqual(response, { status: 501, body: "Not Implemented" })
  })

  it("B6: a binary frame carrying an event is answered like a text frame", async () => {
    const server = await startServer()
    server.on("connection", (socket: SCServerSocket) => socket.on("echo", (data, respond) => respond(null, data)))
    const raw = await rawConnected(server)
    raw.send(Buffer.from(JSON.stringify({ event: "echo", data: "x", cid: 10 })))
    assert.deepStrictEqual(JSON.parse(await raw.waitFor((f) => f.startsWith('{"rid":10'))), { rid: 10, data: "x" })
  })

  it("B8: with maxPayload 200 a 300-byte message closes with 1009 and another socket keeps working", async () => {
    const server = await startServer({ maxPayload: 200 })
    server.on("connection", (socket: SCServerSocket) => socket.on("echo", (data, respond) => respond(null, data)))
    const big = await rawConnected(server)
    const other = await rawConnected(server)
    big.send("x".repeat(300))
    assert.strictEqual((await big.closed).code, 1009)
    other.send(JSON.stringify({ event: "echo", data: "ok", cid: 2 }))
    assert.deepStrictEqual(JSON.parse(await other.waitFor((f) => f.startsWith('{"rid":2'))), { rid: 2, data: "ok" })
  })

  it("B9: socket.request is the upgrade request; remoteAddress and remotePort are set; upgradeReq too", async () => {
    const server = await startServer()
    const handshake = once(server, "handshake")
    await rawClient(server, { headers: { "x-test": "yes" } })
    const [socket] = (await handshake) as [SCServerSocket]
    assert.strictEqual(socket.request.headers["x-test"], "yes")
    assert.match(String(socket.remoteAddress), /127\.0\.0\.1/)
    assert.isNumber(socket.remotePort)
    assert.strictEqual(Reflect.get(socket.socket, "upgradeReq"), socket.request)
  })

  it("attach(): only upgrades on the path are handled, the app keeps its HTTP routes", async () => {
    const httpServer = Http.createServer((_req, res) => res.end("app"))
    const server = attach(httpServer, { authKey: AUTH_KEY })
    onCleanup(async () => {
      await server.dispose()
      await new Promise<void>((resolve) => httpServer.close(() => resolve()))
    })
    await once(server, "ready")
    await new Promise<void>((resolve) => httpServer.listen(0, "127.0.0.1", () => resolve()))
    assert.strictEqual(server.httpServer, httpServer)
    assert.deepStrictEqual(await httpGet(portOf(server), "/"), { status: 200, body: "app" })
    const client = await connectClient(server)
    assert.strictEqual(client.state, "open")
  })
})

describe("Origins", () => {
  it("B10: with the default origins any Origin header is accepted", async () => {
    const server = await startServer()
    const raw = await rawClient(server, { headers: { Origin: "http://anything.example" } })
    assert.strictEqual(raw.ws.readyState, 1)
  })

  it("B11/B14: listed origins and port wildcards are accepted", async () => {
    const server = await startServer({ origins: "example.com:80 foo.com:*" })
    await rawClient(server, { headers: { Origin: "http://example.com" } })
    await rawClient(server, { headers: { Origin: "http://foo.com:1234" } })
  })

  it("B12: an unlisted origin gets 403 and the server warns with ServerProtocolError", async () => {
    const server = await startServer({ origins: "example.com:80" })
    const warning = once(server, "warning")
    const error = await rawClient(server, { headers: { Origin: "http://bar.com" } }).then(
      () => undefined,
      (e: Error) => e
    )
    assert.match(String(error?.message), /HTTP 403/)
    const [err] = (await warning) as [Error]
    assert.strictEqual(err.name, "ServerProtocolError")
    assert.include(err.message, "Invalid origin: http://bar.com")
  })
})

describe("Handshake", () => {
  it("B17/B18/B19: handshake fires while connecting, with an exchange and the pending counts", async () => {
    const server = await startServer()
    const seen = new Promise<Array<unknown>>((resolve) =>
      server.on("handshake", (socket: SCServerSocket) =>
        resolve([
          socket.state,
          socket.exchange === server.exchange,
          server.pendingClientsCount,
          Object.keys(server.pendingClients),
          server.clientsCount,
          socket.id
        ])
      )
    )
    await connectClient(server)
    const [state, sameExchange, pendingCount, pendingIds, clientsCount, id] = await seen
    assert.strictEqual(state, "connecting")
    assert.isTrue(sameExchange)
    assert.strictEqual(pendingCount, 1)
    assert.deepStrictEqual(pendingIds, [id])
    assert.strictEqual(clientsCount, 0)
  })

  it("B20/B21: #handshake is answered with id, pingTimeout and isAuthenticated, no authError key", async () => {
    const server = await startServer()
    const connection = once(server, "connection")
    const raw = await rawClient(server)
    raw.send(JSON.stringify({ event: "#handshake", data: { authToken: null }, cid: 1 }))
    const answer = JSON.parse(await raw.waitFor((f) => f.startsWith('{"rid":1')))
    const [socket] = (await connection) as [SCServerSocket]
    assert.deepStrictEqual(answer, {
      rid: 1,
      data: { id: socket.id, pingTimeout: server.pingTimeout, isAuthenticated: false }
    })
  })

  it("B22/B23/B24/B25: connection status, socket connect/_connect, status copies, counts after", async () => {
    const server = await startServer()
    const socketEvents: Array<string> = []
    server.on("handshake", (socket: SCServerSocket) => {
      socket.on("connect", () => socketEvents.push("connect"))
      socket.on("_connect", () => socketEvents.push("_connect"))
    })
    const connection = new Promise<[SCServerSocket, Record<string, unknown>]>((resolve) =>
      server.on("connection", (socket: SCServerSocket, status: Record<string, unknown>) => {
        status.extra = "server only"
        resolve([socket, { ...status }])
      })
    )
    const client = createClient(server)
    const [clientStatus] = (await once(client, "connect")) as [Record<string, unknown>]
    const [socket, status] = await connection
    assert.strictEqual(status.id, socket.id)
    assert.strictEqual(status.pingTimeout, server.pingTimeout)
    assert.strictEqual(status.isAuthenticated, false)
    assert.isUndefined(status.authError)
    assert.deepStrictEqual(socketEvents, ["connect", "_connect"])
    assert.isUndefined(clientStatus.extra)
    assert.strictEqual(server.clientsCount, 1)
    assert.strictEqual(server.pendingClientsCount, 0)
    assert.strictEqual(socket.state, "open")
  })

  it("B26/B27: #handshake without data or without cid completes unauthenticated", async () => {
    const server = await startServer()
    const connections = record(server, ["connection"])
    const a = await rawClient(server)
    a.send(JSON.stringify({ event: "#handshake", cid: 1 }))
    await a.waitFor((f) => f.startsWith('{"rid":1'))
    const b = await rawClient(server)
    b.send(JSON.stringify({ event: "#handshake", data: "abc" }))
    await until(server, "connection", () => connections.length === 2)
    assert.deepStrictEqual(
      connections.map(([, , status]) => (status as { isAuthenticated: boolean }).isAuthenticated),
      [false, false]
    )
    assert.isFalse(b.frames.some((f) => f.startsWith('{"rid"')))
  })

  it("B29/B30: handshake timeout sends #disconnect 4005, closes, and fires connectionAbort and a warning", async () => {
    const server = await startServer({ handshakeTimeout: 400 })
    const abort = once(server, "connectionAbort")
    const warnings: Array<Error> = []
    server.on("warning", (error: Error) => warnings.push(error))
    const raw = await rawClient(server)
    assert.strictEqual((await raw.closed).code, 4005)
    assert.deepStrictEqual(JSON.parse(raw.frames.find((f) => f.includes("#disconnect")) ?? "null"), {
      event: "#disconnect",
      data: { code: 4005 }
    })
    const [, code] = await abort
    assert.strictEqual(code, 4005)
    assert.isTrue(
      warnings.some(
        (w) => w.name === "SocketProtocolError" && w.message === "Did not receive #handshake from client before timeout"
      )
    )
  })

  it("B31: an event emitted in a connection listener reaches the client before the handshake answer", async () => {
    const server = await startServer()
    server.on("connection", (socket: SCServerSocket) => socket.emit("welcome", "hi"))
    const raw = await rawConnected(server)
    const welcome = raw.frames.findIndex((f) => f.includes('"welcome"'))
    const answer = raw.frames.findIndex((f) => f.startsWith('{"rid":1'))
    assert.isAtLeast(welcome, 0)
    assert.isBelow(welcome, answer)
  })

  it("B34: with strictHandshake a first frame other than #handshake closes with 4009 and fires connectionAbort", async () => {
    const server = await startServer()
    const abort = once(server, "connectionAbort")
    const raw = await rawClient(server)
    raw.send(JSON.stringify({ event: "hello", data: 1, cid: 1 }))
    assert.strictEqual((await raw.closed).code, 4009)
    const [, code] = await abort
    assert.strictEqual(code, 4009)
  })

  it("B130 (14.7): with strictHandshake a #subscribe while the handshake is verifying a token closes with 4009, no subscription", async () => {
    const server = await startServer()
    server.setAuthEngine({
      signToken: (_payload, _key, _options, callback) => callback(null, "unused"),
      verifyToken: (_token, _key, _options, callback) => setTimeout(() => callback(null, { username: "slow" }), 100)
    })
    const subscriptions = record(server, ["subscription"])
    const raw = await rawClient(server)
    raw.send(JSON.stringify({ event: "#handshake", data: { authToken: "some.token" }, cid: 1 }))
    raw.send(JSON.stringify({ event: "#subscribe", data: { channel: "early" }, cid: 2 }))
    assert.strictEqual((await raw.closed).code, 4009)
    assert.deepStrictEqual(subscriptions, [])
  })

  it("B36 (14.3.1): without strictHandshake a #publish sent before #handshake is processed and acked", async () => {
    const server = await startServer({ strictHandshake: false })
    const published: Array<unknown> = []
    server.exchange.subscribe("early").watch((data: unknown) => published.push(data))
    const raw = await rawClient(server)
    raw.send(JSON.stringify({ event: "#publish", data: { channel: "early", data: "before" }, cid: 1 }))
    assert.deepStrictEqual(JSON.parse(await raw.waitFor((f) => f.startsWith('{"rid":1'))), { rid: 1 })
    assert.deepStrictEqual(published, ["before"])
  })

  it("B130 (14.3.1): without strictHandshake an early #subscribe is refused with InvalidActionError and a warning; later ones work", async () => {
    const server = await startServer({ strictHandshake: false })
    const warnings: Array<unknown> = []
    server.on("warning", (warning: unknown) => warnings.push(warning))
    const subscriptions = record(server, ["subscription"])
    const raw = await rawClient(server)
    raw.send(JSON.stringify({ event: "#subscribe", data: { channel: "early" }, cid: 1 }))
    raw.send(JSON.stringify({ event: "#handshake", data: {}, cid: 2 }))
    raw.send(JSON.stringify({ event: "#subscribe", data: { channel: "late" }, cid: 3 }))
    const refused = JSON.parse(await raw.waitFor((f) => f.startsWith('{"rid":1')))
    assert.strictEqual(refused.error.name, "InvalidActionError")
    await raw.waitFor((f) => f.startsWith('{"rid":3'))
    assert.deepStrictEqual(
      subscriptions.map(([, , channel]) => channel),
      ["late"]
    )
    assert.isTrue(warnings.some((w) => w instanceof Error && w.name === "InvalidActionError"))
  })
})
