/**
 * behaviours.md — "Middleware", "Disconnection and close codes", "Ping / pong",
 * "Server events, counters and lifecycle", "Codec" and "Limits", through the compat API.
 */
import { assert, describe, it } from "vitest"
import { listen, type SCServerSocket } from "../src/index.js"
import {
  AUTH_KEY,
  collector,
  connectClient,
  createClient,
  invoke,
  onCleanup,
  once,
  portOf,
  rawClient,
  rawConnected,
  record,
  startServer,
  until
} from "./helpers.js"

const rejectionOf = (promise: Promise<unknown>): Promise<Error | undefined> =>
  promise.then(
    () => undefined,
    (e: Error) => e
  )

describe("Middleware", () => {
  it("B157: an unknown middleware type throws InvalidArgumentsError", async () => {
    const server = await startServer()
    assert.throws(
      () => server.addMiddleware("bogus" as "emit", (_req, next) => next()),
      'Middleware type "bogus" is not supported'
    )
  })

  it("B158/B159: removeMiddleware by identity; chains run in order and stop at the first error", async () => {
    const server = await startServer()
    server.on("connection", (s: SCServerSocket) => s.on("echo", (d, respond) => respond(null, d)))
    const calls: Array<string> = []
    const first = (req: { data: unknown }, next: (e?: unknown) => void) => {
      calls.push("first")
      next(req.data === "stop" ? new Error("stopped") : undefined)
    }
    const second = (_req: unknown, next: () => void) => {
      calls.push("second")
      next()
    }
    server.addMiddleware("emit", first)
    server.addMiddleware("emit", second)
    const client = await connectClient(server)
    await invoke(client, "echo", "go")
    const [error] = await invoke(client, "echo", "stop")
    assert.strictEqual((error as Error).message, "stopped")
    assert.deepStrictEqual(calls, ["first", "second", "first"])
    server.removeMiddleware("emit", first)
    calls.length = 0
    assert.deepStrictEqual(await invoke(client, "echo", "stop"), [null, "stop"])
    assert.deepStrictEqual(calls, ["second"])
  })

  it("B160: async middleware: a throw blocks with that error, a resolve passes", async () => {
    const server = await startServer()
    server.on("connection", (s: SCServerSocket) => s.on("echo", (d, respond) => respond(null, d)))
    server.addMiddleware("emit", async (req) => {
      await Promise.resolve()
      if (req.data === "bad") throw Object.assign(new Error("async no"), { name: "AsyncError" })
    })
    const client = await connectClient(server)
    assert.deepStrictEqual(await invoke(client, "echo", "ok"), [null, "ok"])
    const [error] = await invoke(client, "echo", "bad")
    assert.strictEqual((error as Error).name, "AsyncError")
  })

  it("next() twice is ignored with an InvalidActionError warning; a synchronous throw is next(err)", async () => {
    const server = await startServer()
    server.on("connection", (s: SCServerSocket) => s.on("echo", (d, respond) => respond(null, d)))
    const warnings = collector<Error>()
    server.on("warning", (w: Error) => warnings.push(w))
    server.addMiddleware("emit", (req, next) => {
      if (req.data === "throw") throw Object.assign(new Error("sync throw"), { name: "ThrownError" })
      next()
      next()
    })
    const client = await connectClient(server)
    assert.deepStrictEqual(await invoke(client, "echo", 1), [null, 1])
    assert.isTrue(
      warnings.items.some(
        (w) => w.name === "InvalidActionError" && w.message === "Callback for emit middleware was already invoked"
      )
    )
    const [error] = await invoke(client, "echo", "throw")
    assert.strictEqual((error as Error).name, "ThrownError")
  })

  it("B161/B162/B163: handshakeWS gets the request; next(err) → 401 with its message and a warning; next(true) silent", async () => {
    const server = await startServer()
    const warnings = collector<Error>()
    server.on("warning", (w: Error) => warnings.push(w))
    const urls: Array<string | undefined> = []
    server.addMiddleware("handshakeWS", (req, next) => {
      urls.push(req.url)
      if (req.url?.includes("deny")) return next(new Error("Go away"))
      if (req.url?.includes("silent")) return next(true)
      next()
    })
    await rawClient(server, { path: "/socketcluster/?ok" })
    assert.match(String((await rejectionOf(rawClient(server, { path: "/socketcluster/?deny" })))?.message), /HTTP 401/)
    assert.match(
      String((await rejectionOf(rawClient(server, { path: "/socketcluster/?silent" })))?.message),
      /HTTP 401/
    )
    assert.deepStrictEqual(urls, ["/socketcluster/?ok", "/socketcluster/?deny", "/socketcluster/?silent"])
    assert.deepStrictEqual(
      warnings.items.map((w) => w.message),
      ["Go away"]
    )
  })

  it("B164/B165/B166/B172: handshakeSC gets {socket} while connecting; next(err) aborts with 4008", async () => {
    const server = await startServer()
    const reqs: Array<[Array<string>, string]> = []
    server.addMiddleware("handshakeSC", (req, next) => {
      reqs.push([Object.keys(req), req.socket.state])
      const error = new Error("SC handshake failed because the server was too lazy")
      error.name = "TooLazyHandshakeError"
      next(error)
    })
    const events = record(server, ["connection", "connectionAbort", "warning"])
    const client = createClient(server)
    const errors = collector<Error>()
    client.on("error", (e: Error) => errors.push(e))
    const [code, reason] = await once(client, "connectAbort")
    assert.strictEqual(code, 4008)
    assert.strictEqual(reason, "TooLazyHandshakeError: SC handshake failed because the server was too lazy")
    assert.deepStrictEqual(reqs, [[["socket"], "connecting"]])
    // The v14 client emits errors on a later timer tick.
    const [first, second] = await errors.waitFor(2)
    assert.deepStrictEqual([first?.name, second?.name], ["TooLazyHandshakeError", "SocketProtocolError"])
    await until(server, "connectionAbort", () => events.some(([e]) => e === "connectionAbort"))
    assert.isFalse(events.some(([e]) => e === "connection"))
    assert.isTrue(events.some(([e, w]) => e === "warning" && (w as Error).name === "TooLazyHandshakeError"))
  })

  it("B168/B169/B170: err.statusCode picks the code; the raw client sees the error answer, #disconnect, close; next(true) is silent", async () => {
    const server = await startServer({ protocolVersion: 1 })
    const warnings = collector<Error>()
    server.on("warning", (w: Error) => warnings.push(w))
    server.addMiddleware("handshakeSC", (req, next) => {
      if ((req.socket.request.url ?? "").includes("silent")) return next(true)
      next(Object.assign(new Error("status"), { statusCode: 4600 }))
    })
    const raw = await rawClient(server)
    raw.send(JSON.stringify({ event: "#handshake", data: {}, cid: 1 }))
    assert.strictEqual((await raw.closed).code, 4600)
    assert.deepStrictEqual(JSON.parse(raw.frames[0] ?? "null").data, { code: 4600 })
    assert.deepStrictEqual(JSON.parse(raw.frames[1] ?? "null"), { event: "#disconnect", data: { code: 4600 } })
    const silent = await rawClient(server, { path: "/socketcluster/?silent" })
    silent.send(JSON.stringify({ event: "#handshake", data: {}, cid: 1 }))
    assert.strictEqual((await silent.closed).code, 4008)
    const answer = JSON.parse(silent.frames[0] ?? "null")
    assert.deepStrictEqual(answer.error, {
      message: "Action was silently blocked by handshakeSC middleware",
      name: "SilentMiddlewareBlockedError",
      type: "handshakeSC"
    })
    assert.isFalse(warnings.items.some((w) => w.name === "SilentMiddlewareBlockedError"))
  })

  it("B171: a handshakeSC middleware calling next() after 500 ms delays connect", async () => {
    const server = await startServer()
    server.addMiddleware("handshakeSC", (_req, next) => {
      setTimeout(next, 500)
    })
    const started = Date.now()
    await connectClient(server)
    assert.isAbove(Date.now() - started, 400)
  })
})

describe("Disconnection and close codes", () => {
  it("a custom code and reason given to destroy or disconnect reach the client's close event", async () => {
    const server = await startServer()
    const sockets = collector<SCServerSocket>()
    server.on("connection", sockets.push)
    const first = await connectClient(server)
    const second = await connectClient(server)
    const [a, b] = await sockets.waitFor(2)
    const firstClosed = once(first, "close")
    const secondClosed = once(second, "close")
    const byId = (client: typeof first) => (a?.id === client.id ? a : b)
    byId(first)?.destroy(4100, "destroyed for a reason")
    byId(second)?.disconnect(4200, "disconnected for a reason")
    assert.deepStrictEqual(await firstClosed, [4100, "destroyed for a reason"])
    assert.deepStrictEqual(await secondClosed, [4200, "disconnected for a reason"])
  })

  it("B173/B174/B175/B176: disconnect(code, data) on the wire and in the events", async () => {
    const server = await startServer()
    const events = record(server, ["disconnection", "closure", "warning"])
    const sockets = collector<SCServerSocket>()
    server.on("connection", sockets.push)
    const client = await connectClient(server)
    const [socket] = await sockets.waitFor(1)
    const disconnected = once(client, "disconnect")
    socket?.disconnect(4321, "custom reason")
    assert.deepStrictEqual(await disconnected, [4321, "custom reason"])
    assert.deepStrictEqual(events.find(([e]) => e === "disconnection")?.slice(2), [4321, "custom reason"])
    assert.deepStrictEqual(events.find(([e]) => e === "closure")?.slice(2), [4321, "custom reason"])
    assert.isTrue(
      events.some(
        ([e, w]) =>
          e === "warning" &&
          (w as Error).message === "Socket connection closed with status code 4321 and reason: custom reason"
      )
    )
    const raw = await rawConnected(server)
    const [rawSocket] = await sockets.waitFor(2).then((s) => s.slice(1))
    rawSocket?.disconnect(4100, { a: 1 })
    assert.strictEqual((await raw.closed).code, 4100)
    assert.isTrue(raw.frames.some((f) => f === '{"event":"#disconnect","data":{"code":4100,"data":{"a":1}}}'))
    assert.isTrue(events.some(([e, w]) => e === "warning" && String((w as Error).message).endsWith('reason: {"a":1}')))
  })

  it("B177/B178/B179/B185: disconnect() is 1000 without warning; destroy() sets active false", async () => {
    const server = await startServer()
    const warnings = collector<Error>()
    server.on("warning", (w: Error) => warnings.push(w))
    const sockets = collector<SCServerSocket>()
    server.on("connection", (s: SCServerSocket) => {
      assert.isTrue(s.active)
      sockets.push(s)
    })
    const a = await connectClient(server)
    const [socket] = await sockets.waitFor(1)
    const closed = once(a, "disconnect")
    socket?.destroy(1000, "Custom reason")
    const [code, reason] = await closed
    assert.deepStrictEqual([code, reason], [1000, "Custom reason"])
    assert.strictEqual(socket?.active, false)
    assert.strictEqual(server.clientsCount, 0)
    assert.strictEqual(server.pendingClientsCount, 0)
    const b = await connectClient(server)
    const [, other] = await sockets.waitFor(2)
    const bClosed = once(b, "disconnect")
    other?.disconnect()
    assert.strictEqual((await bClosed)[0], 1000)
    assert.isFalse(warnings.items.some((w) => w.name === "SocketProtocolError"))
  })

  it("B180/B183/B184: a client disconnect fires disconnection (not abort) and closure with state closed", async () => {
    const server = await startServer()
    const events = record(server, ["disconnection", "connectionAbort"])
    const states: Array<string> = []
    server.on("closure", (s: SCServerSocket) => states.push(s.state))
    const client = await connectClient(server)
    const closure = once(server, "closure")
    client.disconnect(4123, "client reason")
    await closure
    assert.deepStrictEqual(
      events.map(([e, , code, data]) => [e, code, data]),
      [["disconnection", 4123, "client reason"]]
    )
    assert.deepStrictEqual(states, ["closed"])
  })

  it("B182/B187: a close before the handshake fires connectAbort/connectionAbort and leaves the counts at zero", async () => {
    const server = await startServer()
    const socketEvents = collector<string>()
    server.on("handshake", (s: SCServerSocket) => {
      s.on("connectAbort", () => socketEvents.push("connectAbort"))
      s.on("disconnect", () => socketEvents.push("disconnect"))
      s.on("close", () => socketEvents.push("close"))
    })
    const events = record(server, ["connectionAbort", "disconnection", "closure"])
    const raw = await rawClient(server)
    raw.ws.close(4444)
    await socketEvents.waitFor(2)
    assert.deepStrictEqual(socketEvents.items, ["connectAbort", "close"])
    assert.deepStrictEqual(
      events.map(([e]) => e),
      ["connectionAbort", "closure"]
    )
    assert.strictEqual(server.pendingClientsCount, 0)
    assert.deepStrictEqual(server.pendingClients, {})
  })

  it("B186: closing without a status code warns 'Socket closed without status code'", async () => {
    const server = await startServer()
    const warnings = collector<Error>()
    server.on("warning", (w: Error) => warnings.push(w))
    const raw = await rawConnected(server)
    raw.ws.close()
    await until(server, "closure", () => server.clientsCount === 0)
    assert.isTrue(warnings.items.some((w) => w.message === "Socket closed without status code"))
  })

  it("terminate() drops the connection with 1006", async () => {
    const server = await startServer()
    const sockets = collector<SCServerSocket>()
    server.on("connection", sockets.push)
    await rawConnected(server)
    const [socket] = await sockets.waitFor(1)
    const closed = once(socket as never, "close")
    socket?.terminate()
    assert.strictEqual((await closed)[0], 1006)
  })
})

describe("Ping / pong", () => {
  it("B189/B196: the server sends #1 every pingInterval; the handshake answer has pingTimeout only", async () => {
    const server = await startServer({ pingInterval: 100, pingTimeout: 5000 })
    const raw = await rawConnected(server)
    await raw.waitFor((f) => f === "#1")
    const answer = JSON.parse(raw.frames.find((f) => f.startsWith('{"rid":1')) ?? "null")
    assert.strictEqual(answer.data.pingTimeout, 5000)
    assert.notProperty(answer.data, "pingInterval")
  })

  it("B191 (variant)/B192: a silent client is closed with 4001 without #disconnect and a warning", async () => {
    const server = await startServer({ pingInterval: 100, pingTimeout: 300 })
    const events = record(server, ["disconnection", "warning"])
    const raw = await rawConnected(server)
    assert.strictEqual((await raw.closed).code, 4001)
    assert.isFalse(raw.frames.some((f) => f.includes("#disconnect")))
    assert.strictEqual(events.find(([e]) => e === "disconnection")?.[2], 4001)
    assert.isTrue(events.some(([e, w]) => e === "warning" && (w as Error).name === "SocketProtocolError"))
  })

  it("B190: a client answering pings stays connected past pingTimeout", async () => {
    const server = await startServer({ pingInterval: 50, pingTimeout: 200 })
    server.on("connection", (s: SCServerSocket) => s.on("echo", (d, respond) => respond(null, d)))
    const client = await connectClient(server)
    const pings = collector<unknown>()
    client.on("message", (m) => {
      if (m === "#1") pings.push(m)
    })
    await pings.waitFor(8)
    assert.deepStrictEqual(await invoke(client, "echo", "alive"), [null, "alive"])
  })
})

describe("Server events, counters and lifecycle", () => {
  it("B197/B202/B203/B204: ready once, isReady, clients keyed by id, options with defaults and generated values", async () => {
    const server = listen(0, { authKey: undefined })
    onCleanup(() => server.dispose())
    let readies = 0
    server.on("ready", () => readies++)
    assert.isFalse(server.isReady)
    await once(server, "ready")
    assert.isTrue(server.isReady)
    assert.strictEqual(readies, 1)
    assert.match(String(server.options.authKey), /^[0-9a-f]{64}$/)
    assert.match(String(server.options.appName), /^[0-9a-f-]{36}$/)
    assert.deepStrictEqual(
      [
        server.ackTimeout,
        server.handshakeTimeout,
        server.pingInterval,
        server.pingTimeout,
        server.origins,
        server.allowClientPublish
      ],
      [10000, 10000, 8000, 20000, "*:*", true]
    )
    assert.deepStrictEqual(
      [server.options.ackTimeout, server.options.pingTimeout, server.options.origins],
      [10000, 20000, "*:*"]
    )
    const client = await connectClient(server)
    const socket = server.clients[client.id ?? ""]
    assert.strictEqual(socket?.id, client.id)
    assert.strictEqual(server.sourcePort, portOf(server))
    assert.isFalse(server.secure)
  })

  it("B198: a second listen() on a busy port emits error EADDRINUSE", async () => {
    const first = await startServer()
    const second = listen(portOf(first), { authKey: AUTH_KEY })
    onCleanup(() => second.dispose())
    const [error] = (await once(second, "error")) as [NodeJS.ErrnoException]
    assert.strictEqual(error.code, "EADDRINUSE")
  })

  it("B199: close() sets isReady false and stops new upgrades; connected sockets still get answers", async () => {
    const server = await startServer()
    server.on("connection", (s: SCServerSocket) => s.on("echo", (d, respond) => respond(null, d)))
    const client = await connectClient(server)
    await new Promise<void>((resolve) => server.close(() => resolve()))
    assert.isFalse(server.isReady)
    assert.isDefined(await rejectionOf(connectClient(server)))
    assert.deepStrictEqual(await invoke(client, "echo", 1), [null, 1])
  })

  it("B200: generateId() gives distinct ids; assigning generateId changes socket ids", async () => {
    const server = await startServer()
    const ids = new Set(Array.from({ length: 100 }, () => server.generateId()))
    assert.strictEqual(ids.size, 100)
    for (const id of ids) assert.match(id, /^[A-Za-z0-9_-]{20}$/)
    let n = 0
    server.generateId = () => `custom-${++n}`
    const client = await connectClient(server)
    assert.strictEqual(client.id, "custom-1")
  })

  it("B201: every socket error is re-emitted as a server warning (same object)", async () => {
    const server = await startServer()
    const sockets = collector<SCServerSocket>()
    server.on("connection", sockets.push)
    const warnings = collector<unknown>()
    server.on("warning", warnings.push)
    await rawConnected(server)
    const [socket] = await sockets.waitFor(1)
    const socketErrors = collector<unknown>()
    socket?.on("error", socketErrors.push)
    const error = new Error("boom")
    socket?.emit("error", error)
    assert.deepStrictEqual(socketErrors.items, [error])
    assert.include(warnings.items, error)
  })

  it("a short authKey and pingInterval >= pingTimeout are accepted (v14), each with one warning per process", async () => {
    const options = { authKey: "short", pingInterval: 2000, pingTimeout: 500 }
    const first = listen(0, options)
    onCleanup(() => first.dispose())
    const warnings: Array<Error> = []
    const both = new Promise<void>((resolve) =>
      first.on("warning", (warning: Error) => {
        if (warnings.push(warning) === 2) resolve()
      })
    )
    await both
    assert.deepStrictEqual(
      warnings.map((w) => w.name),
      ["InvalidOptionsError", "InvalidOptionsError"]
    )
    assert.include(warnings[0]?.message, "shorter than 32 bytes")
    assert.include(warnings[1]?.message, "not smaller than pingTimeout")
    assert.strictEqual(first.pingInterval, 2000)

    const second = listen(0, options)
    onCleanup(() => second.dispose())
    const later: Array<unknown> = []
    second.on("warning", (warning: unknown) => later.push(warning))
    await once(second, "ready")
    // The warnings would be emitted on the turn after construction, as `ready` is.
    await new Promise((resolve) => setImmediate(resolve))
    assert.deepStrictEqual(later, [])
  })
})

describe("Codec", () => {
  it('B205/B206: pings and pongs are bare #1/#2; a JSON-quoted "#2" is a raw message', async () => {
    const server = await startServer({ pingInterval: 100, pingTimeout: 5000 })
    const sockets = collector<SCServerSocket>()
    server.on("connection", sockets.push)
    const raw = await rawConnected(server)
    await raw.waitFor((f) => f === "#1")
    const [socket] = await sockets.waitFor(1)
    const raws = collector<unknown>()
    socket?.on("raw", raws.push)
    raw.send('"#2"')
    assert.deepStrictEqual(await raws.waitFor(1), ['"#2"'])
  })

  it("B207: a Buffer or ArrayBuffer anywhere in outbound data goes out as base64 and is not converted back on receipt", async () => {
    const server = await startServer()
    const received = collector<unknown>()
    server.on("connection", (socket: SCServerSocket) => {
      socket.on("echo", (data, respond) => {
        received.push(data)
        respond(null, {
          nested: { buf: Buffer.from("hi"), ab: new Uint8Array([255, 0]).buffer },
          list: [Buffer.from([1])]
        })
      })
    })
    const raw = await rawConnected(server)
    raw.send(JSON.stringify({ event: "echo", data: { base64: true, data: "aGk=" }, cid: 2 }))
    const answer = JSON.parse(await raw.waitFor((f) => f.startsWith('{"rid":2')))
    assert.deepStrictEqual(answer.data, {
      nested: { buf: { base64: true, data: "aGk=" }, ab: { base64: true, data: "/wA=" } },
      list: [{ base64: true, data: "AQ==" }]
    })
    // Inbound, the same shape stays a plain object.
    assert.deepStrictEqual(await received.waitFor(1), [{ base64: true, data: "aGk=" }])
  })

  it("B208: setCodecEngine encodes every outbound frame and a client with the same codec works", async () => {
    const server = await startServer()
    const codec = {
      encode: (value: unknown) => (value === "#1" || value === "#2" ? value : `X${JSON.stringify(value)}`),
      decode: (message: unknown) => {
        const text = String(message)
        if (text === "#1" || text === "#2") return text
        return JSON.parse(text.startsWith("X") ? text.slice(1) : text)
      }
    }
    server.setCodecEngine(codec)
    assert.strictEqual(server.codec, codec)
    server.on("connection", (s: SCServerSocket) => s.on("echo", (d, respond) => respond(null, d)))
    const client = await connectClient(server, { codecEngine: codec })
    const frames = collector<unknown>()
    client.on("message", frames.push)
    assert.deepStrictEqual(await invoke(client, "echo", { a: 1 }), [null, { a: 1 }])
    assert.isTrue(frames.items.some((f) => String(f).startsWith("X{")))
  })

  it("B209: a codec whose decode throws a plain Error makes an InvalidMessageError warning; the socket stays", async () => {
    const server = await startServer()
    const warnings = collector<Error>()
    server.on("warning", (w: Error) => warnings.push(w))
    const raw = await rawConnected(server)
    server.setCodecEngine({
      encode: (v: unknown) => (typeof v === "string" ? v : JSON.stringify(v)),
      decode: () => {
        throw new Error("cannot decode")
      }
    })
    raw.send("anything")
    await until(server, "warning", () => warnings.items.some((w) => w.name === "InvalidMessageError"))
    assert.strictEqual(raw.ws.readyState, 1)
    assert.strictEqual(server.clientsCount, 1)
  })

  it("B210: responding with circular data emits a socket error and sends nothing", async () => {
    const server = await startServer()
    const errors = collector<Error>()
    server.on("connection", (s: SCServerSocket) => {
      s.on("error", (e: Error) => errors.push(e))
      s.on("circular", (_d, respond) => {
        const data: Record<string, unknown> = {}
        data.self = data
        respond(null, data)
      })
    })
    const client = await connectClient(server, { ackTimeout: 200 })
    const [error] = await invoke(client, "circular")
    assert.strictEqual((error as Error).name, "TimeoutError")
    assert.isAtLeast(errors.items.length, 1)
  })
})

describe("Limits and isolation", () => {
  it("B212: garbage from one client (bad JSON, odd cids, bad tokens, bad close codes) leaves the server serving", async () => {
    const server = await startServer()
    server.on("connection", (s: SCServerSocket) => s.on("echo", (d, respond) => respond(null, d)))
    const good = await connectClient(server)
    const bad = await rawConnected(server)
    for (const frame of [
      "{not json",
      JSON.stringify({ event: "#authenticate", data: { not: "a token" }, cid: 2 }),
      JSON.stringify({ event: "echo", cid: { weird: true } }),
      JSON.stringify({ event: "#disconnect", data: { code: "nope" } })
    ]) {
      bad.send(frame)
    }
    await bad.closed
    assert.deepStrictEqual(await invoke(good, "echo", "fine"), [null, "fine"])
    assert.strictEqual(server.clientsCount, 1)
  })
})
