/**
 * behaviours.md — "Emit and acknowledgement", through the compat API.
 */
import { assert, describe, it } from "vitest"
import type { SCServer, SCServerSocket } from "../src/index.js"
import { collector, connectClient, invoke, once, type RawClient, rawConnected, startServer } from "./helpers.js"

const ask = async (raw: RawClient, packet: Record<string, unknown>, cid: number | string): Promise<unknown> => {
  raw.send(JSON.stringify({ ...packet, cid }))
  return JSON.parse(await raw.waitFor((f) => f.startsWith(`{"rid":${JSON.stringify(cid)}`)))
}

/** A server whose sockets answer `event` with `handler`, and the first socket. */
const serverWith = async (
  handlers: Record<string, (data: unknown, respond: (error?: unknown, data?: unknown) => void) => void>,
  options: Record<string, unknown> = {}
): Promise<{ server: SCServer; socket: Promise<SCServerSocket> }> => {
  const server = await startServer(options)
  const socket = new Promise<SCServerSocket>((resolve) =>
    server.on("connection", (s: SCServerSocket) => {
      for (const [event, handler] of Object.entries(handlers)) s.on(event, handler)
      resolve(s)
    })
  )
  return { server, socket }
}

describe("Emit and acknowledgement", () => {
  it("B91/B92/B93/B94/B95/B96: respond forms on the wire", async () => {
    const custom = Object.assign(new Error("custom"), { name: "CustomErr", extra: 42 })
    const { server } = await serverWith({
      echo: (data, respond) => respond(null, data),
      empty: (_d, respond) => respond(),
      custom: (_d, respond) => respond(custom),
      plain: (_d, respond) => respond(new Error("nope")),
      text: (_d, respond) => respond("just a string"),
      both: (_d, respond) => respond(custom, { some: "data" })
    })
    const raw = await rawConnected(server)
    assert.deepStrictEqual(await ask(raw, { event: "echo", data: { a: 1 } }, 2), { rid: 2, data: { a: 1 } })
    assert.deepStrictEqual(await ask(raw, { event: "empty" }, 3), { rid: 3 })
    assert.deepStrictEqual(await ask(raw, { event: "custom" }, 4), {
      rid: 4,
      error: { message: "custom", name: "CustomErr", extra: 42 }
    })
    assert.deepStrictEqual(await ask(raw, { event: "plain" }, 5), { rid: 5, error: { message: "nope" } })
    assert.deepStrictEqual(await ask(raw, { event: "text" }, 6), { rid: 6, error: "just a string" })
    assert.deepStrictEqual(await ask(raw, { event: "both" }, 7), {
      rid: 7,
      error: { message: "custom", name: "CustomErr", extra: 42 },
      data: { some: "data" }
    })
  })

  it("B97/B98/B99: no cid or cid 0 gets no answer; cid 'abc' is answered with rid 'abc'", async () => {
    const received = collector()
    const { server } = await serverWith({
      echo: (data, respond) => {
        received.push(data)
        respond(null, data)
      }
    })
    const raw = await rawConnected(server)
    raw.send(JSON.stringify({ event: "echo", data: "no cid" }))
    raw.send(JSON.stringify({ event: "echo", data: "zero", cid: 0 }))
    assert.deepStrictEqual(await ask(raw, { event: "echo", data: "abc" }, "abc"), { rid: "abc", data: "abc" })
    assert.deepStrictEqual(received.items, ["no cid", "zero", "abc"])
    assert.strictEqual(raw.frames.filter((f) => f.startsWith('{"rid"')).length, 2)
  })

  it("B100 (deviation): a second respond is reported as InvalidActionError on the socket, not thrown", async () => {
    const { server, socket } = await serverWith({
      twice: (_d, respond) => {
        respond(null, 1)
        respond(null, 2)
      }
    })
    const raw = await rawConnected(server)
    const s = await socket
    const error = once(s, "error")
    assert.deepStrictEqual(await ask(raw, { event: "twice" }, 2), { rid: 2, data: 1 })
    const [err] = (await error) as [Error]
    assert.strictEqual(err.name, "InvalidActionError")
    assert.strictEqual(err.message, "Response 2 has already been sent")
  })

  it("B101: an event without a listener gets no answer; the client times out", async () => {
    const server = await startServer()
    const client = await connectClient(server, { ackTimeout: 200 })
    const [error] = await invoke(client, "nobody")
    assert.strictEqual((error as Error).name, "TimeoutError")
  })

  it("B102: a batch frame is answered in order", async () => {
    const { server } = await serverWith({ echo: (data, respond) => respond(null, data) })
    const raw = await rawConnected(server)
    raw.send(
      JSON.stringify([
        { event: "echo", data: "b1", cid: 8 },
        { event: "echo", data: "b2", cid: 9 }
      ])
    )
    await raw.waitFor((f) => f.includes('"rid":9'))
    const answers = raw.frames.filter((f) => f.includes('"rid":8') || f.includes('"rid":9')).join("")
    assert.isBelow(answers.indexOf('"rid":8'), answers.indexOf('"rid":9'))
  })

  it("B103/B104/B105: emit middleware sees and rewrites data; errors block and warn unless disabled", async () => {
    for (const middlewareEmitWarnings of [true, false]) {
      const { server } = await serverWith({ echo: (data, respond) => respond(null, data) }, { middlewareEmitWarnings })
      server.addMiddleware("emit", (req, next) => {
        if (req.data === "block") return next(Object.assign(new Error("blocked"), { name: "BlockedError" }))
        req.data = "mutated"
        next()
      })
      const warnings: Array<Error> = []
      server.on("warning", (w: Error) => warnings.push(w))
      const raw = await rawConnected(server)
      assert.deepStrictEqual(await ask(raw, { event: "echo", data: "x" }, 2), { rid: 2, data: "mutated" })
      assert.deepStrictEqual(await ask(raw, { event: "echo", data: "block" }, 3), {
        rid: 3,
        error: { message: "blocked", name: "BlockedError" }
      })
      assert.strictEqual(warnings.filter((w) => w.name === "BlockedError").length, middlewareEmitWarnings ? 1 : 0)
    }
  })

  it("B106/B107: next(true) and silent errors block with SilentMiddlewareBlockedError and no warning", async () => {
    const { server } = await serverWith({ echo: (data, respond) => respond(null, data) })
    server.addMiddleware("emit", (req, next) => next(req.data === "silent-error" ? { silent: true } : true))
    const warnings: Array<unknown> = []
    server.on("warning", (w) => warnings.push(w))
    const raw = await rawConnected(server)
    const expected = {
      message: "Action was silently blocked by emit middleware",
      name: "SilentMiddlewareBlockedError",
      type: "emit"
    }
    assert.deepStrictEqual(await ask(raw, { event: "echo", data: 1 }, 2), { rid: 2, error: expected })
    assert.deepStrictEqual(await ask(raw, { event: "echo", data: "silent-error" }, 3), { rid: 3, error: expected })
    assert.strictEqual(warnings.length, 0)
  })

  it("B108: client events named message or connect are ignored", async () => {
    const calls: Array<string> = []
    const { server } = await serverWith({ echo: (d, respond) => respond(null, d) })
    server.on("connection", (s: SCServerSocket) => s.on("connect", () => calls.push("connect")))
    const raw = await rawConnected(server)
    raw.send(JSON.stringify({ event: "message", data: 1, cid: 2 }))
    raw.send(JSON.stringify({ event: "connect", data: 1, cid: 3 }))
    await ask(raw, { event: "echo", data: 1 }, 4)
    assert.isFalse(raw.frames.some((f) => f.startsWith('{"rid":2') || f.startsWith('{"rid":3')))
    assert.deepStrictEqual(calls, [])
  })

  it("B109/B110/B111/B113: socket.emit with and without callback, answers and errors", async () => {
    const { server, socket } = await serverWith({})
    const raw = await rawConnected(server)
    const s = await socket
    const first = new Promise<Array<unknown>>((resolve) => s.emit("question", { q: 1 }, (e, d) => resolve([e, d])))
    const second = new Promise<Array<unknown>>((resolve) => s.emit("question", { q: 2 }, (e, d) => resolve([e, d])))
    s.emit("note", "no callback")
    const q1 = JSON.parse(await raw.waitFor((f) => f.includes('"q":1')))
    const q2 = JSON.parse(await raw.waitFor((f) => f.includes('"q":2')))
    assert.deepStrictEqual(q1, { event: "question", data: { q: 1 }, cid: 1 })
    assert.strictEqual(q2.cid, 2)
    assert.deepStrictEqual(JSON.parse(await raw.waitFor((f) => f.includes('"note"'))), {
      event: "note",
      data: "no callback"
    })
    raw.send(JSON.stringify({ rid: 1, data: "answer!" }))
    raw.send(JSON.stringify({ rid: 2, error: { name: "ClientErr", message: "nah", foo: 1 }, data: "x" }))
    assert.deepStrictEqual(await first, [null, "answer!"])
    const [error, data] = await second
    assert.strictEqual((error as Error).name, "ClientErr")
    assert.strictEqual((error as { foo?: number }).foo, 1)
    assert.strictEqual(data, "x")
  })

  it("B112: without an answer the callback gets TimeoutError and the event object", async () => {
    const { server, socket } = await serverWith({}, { ackTimeout: 300 })
    await rawConnected(server)
    const s = await socket
    const [error, info] = await new Promise<Array<unknown>>((resolve) =>
      s.emit("question", "d", (e, d) => resolve([e, d]))
    )
    assert.strictEqual((error as Error).name, "TimeoutError")
    assert.strictEqual((error as Error).message, "Event response for 'question' timed out")
    assert.deepStrictEqual(info, { event: "question", data: "d", cid: 1 })
  })

  it("B114/B115: emit('message') is refused with InvalidActionError; emit('error', e) reaches error listeners", async () => {
    const { server, socket } = await serverWith({})
    const raw = await rawConnected(server)
    const s = await socket
    const errors = collector<Error>()
    s.on("error", (e: Error) => errors.push(e))
    const warnings = collector<Error>()
    server.on("warning", (w: Error) => warnings.push(w))
    s.emit("message", 123)
    const custom = Object.assign(new Error("mine"), { name: "CustomError" })
    s.emit("error", custom)
    await errors.waitFor(2)
    assert.strictEqual(errors.items[0]?.name, "InvalidActionError")
    assert.strictEqual(errors.items[1], custom)
    assert.include(warnings.items, custom)
    assert.isFalse(raw.frames.some((f) => f.includes("123")))
  })

  it("B116/B117/B118/B119: Buffers as base64, send raw, raw and message events", async () => {
    // Protocol 1 from the start: with "auto" the first pong answers the server's detection
    // probe, which is not reported as a message (a v14 server never sent that probe).
    const { server, socket } = await serverWith(
      { buf: (_d, respond) => respond(null, { buf: Buffer.from("hello") }) },
      { protocolVersion: 1 }
    )
    const raw = await rawConnected(server)
    const s = await socket
    const messages = collector<unknown>()
    const raws = collector<unknown>()
    s.on("message", (m) => messages.push(m))
    s.on("raw", (m) => raws.push(m))
    assert.deepStrictEqual(await ask(raw, { event: "buf" }, 2), {
      rid: 2,
      data: { buf: { base64: true, data: "aGVsbG8=" } }
    })
    s.send("raw text")
    await raw.waitFor((f) => f === "raw text")
    raw.send("hello raw")
    raw.send("#2")
    assert.deepStrictEqual(await raws.waitFor(1), ["hello raw"])
    await messages.waitFor(3)
    assert.include(messages.items, "hello raw")
    assert.include(messages.items, "#2")
  })

  it("B120: a response matching no pending call is ignored", async () => {
    const { server, socket } = await serverWith({ echo: (d, respond) => respond(null, d) })
    const raw = await rawConnected(server)
    const s = await socket
    const errors = collector()
    s.on("error", errors.push)
    raw.send(JSON.stringify({ rid: 999, data: 1 }))
    assert.deepStrictEqual(await ask(raw, { event: "echo", data: 2 }, 2), { rid: 2, data: 2 })
    assert.strictEqual(errors.items.length, 0)
    assert.strictEqual(s.state, "open")
  })
})
