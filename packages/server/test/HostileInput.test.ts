/**
 * Hostile input over real sockets: every malformed, absurd or malicious frame gets a
 * defined answer (an error ack, an `error` event on the socket, or a documented close
 * code) and no exception reaches the process.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber } from "effect"
import type { SocketEvent } from "../src/Events.js"
import { answerTo, deepArrayJson, guardAgainstEscapes, handshaken } from "./attack.js"
import { connectClient, invoke, rawClient, startServer, waitForServerEvent } from "./helpers.js"

guardAgainstEscapes()

const echo = (d: unknown) => Effect.succeed(d)

/** The socket `error` events of the server socket behind the last connected client. */
const socketErrors = (server: {
  readonly clients: ReadonlyMap<string, { hub: { listen(f: (e: SocketEvent) => void): unknown } }>
}) => {
  const errors: Array<unknown> = []
  const socket = [...server.clients.values()].at(-1)!
  socket.hub.listen((e) => {
    if (e._tag === "Error") errors.push(e.error)
  })
  return errors
}

describe("hostile input", () => {
  it.live("invalid JSON, wrong types, huge numbers and absurd cids each get a defined answer", () =>
    Effect.gen(function* () {
      const server = yield* startServer()
      yield* server.handle("echo", echo)
      const c = yield* handshaken(server)
      const errors = socketErrors(server)
      // Not JSON / not a packet: raw messages, no answer, socket stays open.
      c.send("{not json")
      c.send('{"event":')
      // Wrong types for reserved events: error acks.
      c.send('{"event":"#subscribe","data":5,"cid":3}')
      c.send('{"event":"#publish","data":null,"cid":4}')
      c.send('{"event":"#unsubscribe","data":{"channel":[]},"cid":5}')
      const sub = yield* answerTo(c, 3)
      assert.strictEqual((sub.error as { name: string }).name, "BrokerError")
      assert.strictEqual(((yield* answerTo(c, 4)).error as { name: string }).name, "BrokerError")
      assert.strictEqual(((yield* answerTo(c, 5)).error as { name: string }).name, "BrokerError")
      // Huge numbers: 1e309 parses to Infinity and is written back as null; big integers lose precision, not the socket.
      c.send('{"event":"echo","data":[1e309,-1e309,123456789012345678901234567890],"cid":6}')
      assert.deepStrictEqual((yield* answerTo(c, 6)).data, [null, null, 1.2345678901234568e29])
      // Absurd cids are echoed as given (v14); a cid that is neither number nor string gets no answer.
      c.send('{"event":"echo","data":"neg","cid":-7}')
      assert.strictEqual((yield* answerTo(c, -7)).data, "neg")
      c.send('{"event":"echo","data":"big","cid":1e308}')
      assert.strictEqual((yield* c.waitFor((f) => f.includes('"big"'))).startsWith('{"rid":1e+308'), true)
      c.send('{"event":"echo","data":"str","cid":"abc"}')
      assert.strictEqual((yield* answerTo(c, "abc")).data, "str")
      c.send('{"event":"echo","data":"obj","cid":{"x":1}}')
      // Duplicate cids: both requests are answered, in order.
      c.send('{"event":"echo","data":"first","cid":8}')
      c.send('{"event":"echo","data":"second","cid":8}')
      c.send('{"event":"echo","data":"last","cid":9}')
      yield* answerTo(c, 9)
      assert.deepStrictEqual(
        c.frames.filter((f) => f.startsWith('{"rid":8')).map((f) => JSON.parse(f).data),
        ["first", "second"]
      )
      assert.isFalse(c.frames.some((f) => f.includes('"obj"')))
      // The error events name the bad reserved packets, nothing else was an error.
      assert.strictEqual(errors.length, 3)
      assert.strictEqual(c.ws.readyState, c.ws.OPEN)
    })
  )

  it.live("unknown # events skip middleware, only a handler answers them (v14); the socket carries on", () =>
    Effect.gen(function* () {
      const server = yield* startServer()
      let called = 0
      let middleware = 0
      yield* server.handle("#nope", () => Effect.sync(() => called++))
      yield* server.addMiddleware("emit", () => Effect.sync(() => middleware++))
      yield* server.handle("echo", echo)
      const c = yield* handshaken(server)
      c.send('{"event":"#nope","data":1,"cid":2}')
      c.send('{"event":"#setAuthToken","data":{"token":"x"},"cid":3}')
      c.send('{"event":"#kickOut","data":{"channel":"a"},"cid":4}')
      c.send('{"event":"echo","data":"after","cid":5}')
      assert.strictEqual((yield* answerTo(c, 5)).data, "after")
      assert.isFalse(c.frames.some((f) => /^\{"rid":[34][,}]/.test(f)))
      // An app that registers a handler for a #-name gets the event and may answer it (v14
      // listeners got a responder; clients 15–20 invoke such names too).
      assert.strictEqual((yield* answerTo(c, 2)).data, 0)
      assert.strictEqual(called, 1)
      assert.strictEqual(middleware, 1)
    })
  )

  it.live("binary frames are read as UTF-8 text; bytes that are not a packet are raw messages", () =>
    Effect.gen(function* () {
      const server = yield* startServer()
      yield* server.handle("echo", echo)
      const c = yield* handshaken(server)
      const socket = [...server.clients.values()][0]!
      const raws: Array<unknown> = []
      socket.hub.listen((e) => {
        if (e._tag === "Raw") raws.push(e.message)
      })
      c.send(Buffer.from(JSON.stringify({ event: "echo", data: "from binary", cid: 2 })))
      assert.strictEqual((yield* answerTo(c, 2)).data, "from binary")
      c.send(Buffer.from([0xff, 0xfe, 0x00, 0x7b, 0x80]))
      c.send('{"event":"echo","data":"still here","cid":3}')
      assert.strictEqual((yield* answerTo(c, 3)).data, "still here")
      assert.strictEqual(raws.length, 1)
      assert.isTrue(Buffer.isBuffer(raws[0]))
    })
  )

  it.live(
    "maxPacketDepth: deeper frames get an InvalidMessageError answer and error event, never a stack overflow",
    () =>
      Effect.gen(function* () {
        const server = yield* startServer({ maxPacketDepth: 64 })
        yield* server.handle("echo", echo)
        const c = yield* handshaken(server)
        const errors = socketErrors(server)
        // Within the limit: the packet object is depth 1, so 63 nested arrays fit.
        c.send(`{"event":"echo","data":${deepArrayJson(63)},"cid":2}`)
        assert.strictEqual(JSON.stringify((yield* answerTo(c, 2)).data), deepArrayJson(63))
        c.send(`{"event":"echo","data":${deepArrayJson(64)},"cid":3}`)
        const refused = yield* answerTo(c, 3)
        assert.deepStrictEqual(refused.error, {
          name: "InvalidMessageError",
          message: "Packet nested deeper than 64 levels (maxPacketDepth)"
        })
        // A million levels (2 MB): JSON.parse copes, the guard refuses it without recursing.
        c.send(`{"event":"echo","data":${deepArrayJson(1_000_000)},"cid":4}`)
        assert.strictEqual(((yield* answerTo(c, 4)).error as { name: string }).name, "InvalidMessageError")
        // Deep objects in a batch: each request in it is refused.
        const deepObject = `${'{"a":'.repeat(100)}1${"}".repeat(100)}`
        c.send(`[{"event":"echo","data":${deepObject},"cid":5},{"event":"echo","data":1,"cid":6}]`)
        assert.strictEqual(((yield* answerTo(c, 5)).error as { name: string }).name, "InvalidMessageError")
        assert.strictEqual(((yield* answerTo(c, 6)).error as { name: string }).name, "InvalidMessageError")
        assert.strictEqual(errors.length, 3)
        c.send('{"event":"echo","data":"alive","cid":7}')
        assert.strictEqual((yield* answerTo(c, 7)).data, "alive")
        // Before the handshake a too-deep first frame closes with 4009 like any other non-handshake frame.
        const early = yield* rawClient(server)
        early.send(`{"event":"#handshake","data":${deepArrayJson(100)},"cid":1}`)
        assert.strictEqual((yield* early.closed).code, 4009)
      })
  )

  it.live("with the depth limit raised, values too deep to encode fail inside the server, not the process", () =>
    Effect.gen(function* () {
      const server = yield* startServer({ maxPacketDepth: 200_000 })
      yield* server.handle("echo", echo)
      const c = yield* handshaken(server)
      const errors = socketErrors(server)
      const other = yield* connectClient(server)
      yield* Effect.callback<void>((resume) => {
        const ch = other.subscribe("deep")
        ch.on("subscribe", () => resume(Effect.void))
      })
      // JSON.stringify throws RangeError past ~5,000 levels: the answer and the fan-out
      // encode fail, are reported, and nothing is sent.
      c.send(`{"event":"echo","data":${deepArrayJson(100_000)},"cid":2}`)
      c.send(`{"event":"#publish","data":{"channel":"deep","data":${deepArrayJson(100_000)}},"cid":3}`)
      c.send('{"event":"echo","data":"alive","cid":4}')
      assert.strictEqual((yield* answerTo(c, 4)).data, "alive")
      assert.isTrue(errors.some((e) => e instanceof RangeError))
      assert.isFalse(c.frames.some((f) => f.startsWith('{"rid":2')))
      assert.strictEqual(yield* invoke(other, "echo", "fine"), "fine")
    })
  )

  it.live("__proto__ and constructor keys pollute nothing and come back as plain data", () =>
    Effect.gen(function* () {
      const server = yield* startServer()
      yield* server.handle("echo", echo)
      const c = yield* handshaken(server)
      const watcher = yield* handshaken(server)
      c.send('{"event":"echo","data":{"__proto__":{"polluted":1},"constructor":{"prototype":{"polluted":2}}},"cid":2}')
      const answer = yield* c.waitFor((f) => f.startsWith('{"rid":2'))
      assert.strictEqual(
        answer,
        '{"rid":2,"data":{"__proto__":{"polluted":1},"constructor":{"prototype":{"polluted":2}}}}'
      )
      const subscribed = waitForServerEvent(server, "Subscription")
      watcher.send(
        '{"event":"#subscribe","data":{"channel":"p","__proto__":{"polluted":3},"constructor":{"prototype":{"polluted":4}},"data":{"__proto__":{"polluted":5}}},"cid":2}'
      )
      const sub = yield* subscribed
      yield* answerTo(watcher, 2)
      assert.strictEqual(sub.channel, "p")
      assert.strictEqual(Object.getPrototypeOf(sub.options), Object.prototype)
      c.send('{"event":"#publish","data":{"channel":"p","data":{"__proto__":{"polluted":6}}},"cid":3}')
      const delivery = yield* watcher.waitFor((f) => f.includes('"#publish"'))
      assert.strictEqual(delivery, '{"event":"#publish","data":{"channel":"p","data":{"__proto__":{"polluted":6}}}}')
      c.send('{"event":"#handshake","data":{"__proto__":{"authToken":"x"}},"cid":4}')
      c.send('{"event":"#authenticate","data":{"__proto__":{"polluted":7}},"cid":5}')
      yield* answerTo(c, 5)
      // A client's answer to a server emit, with a poisoned error object.
      const socket = server.clients.get([...server.clients.keys()][0]!)!
      const asked = Effect.flip(socket.invoke("question", 1))
      const fiber = yield* Effect.forkChild(asked, { startImmediately: true })
      const question = JSON.parse(yield* c.waitFor((f) => f.includes('"question"'))) as { cid: number }
      c.send(`{"rid":${question.cid},"error":{"name":"X","message":"m","__proto__":{"polluted":8}}}`)
      const error = yield* Fiber.join(fiber)
      assert.strictEqual((error as Error).message, "m")
      const probe: Record<string, unknown> = {}
      assert.strictEqual(probe.polluted, undefined)
      assert.strictEqual(Reflect.get(Object.prototype, "polluted"), undefined)
      assert.strictEqual(Reflect.get(Array.prototype, "polluted"), undefined)
    })
  )

  it.live("#disconnect with invalid codes closes with 1000 and reports the client's code; valid codes are used", () =>
    Effect.gen(function* () {
      const server = yield* startServer()
      const cases: ReadonlyArray<readonly [string, number, number]> = [
        ['"x"', 1005, 1000],
        ["1005", 1005, 1000],
        ["99999", 99999, 1000],
        ["-1", -1, 1000],
        ["1e308", 1e308, 1000],
        ["4.5", 4.5, 1000],
        ["{}", 1005, 1000],
        ["4500", 4500, 4500]
      ]
      for (const [code, reported, wire] of cases) {
        const c = yield* handshaken(server)
        const disconnected = waitForServerEvent(server, "Disconnection")
        c.send(`{"event":"#disconnect","data":{"code":${code},"data":"bye"}}`)
        const event = yield* disconnected
        assert.strictEqual(event.code, reported, `reported code for ${code}`)
        assert.strictEqual(event.data, "bye")
        assert.strictEqual((yield* c.closed).code, wire, `close code for ${code}`)
      }
      const bare = yield* handshaken(server)
      bare.send('{"event":"#disconnect"}')
      assert.strictEqual((yield* bare.closed).code, 1000)
      assert.strictEqual(server.clientsCount, 0)
    })
  )
})
