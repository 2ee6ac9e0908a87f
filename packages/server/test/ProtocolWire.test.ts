/**
 * The server's frames per protocol state (spec protocol-v2.md §3.2–§3.5), seen by raw
 * `ws` clients that play a v1 or a v2 client byte for byte: both pings at the first tick
 * (no probe with the JSON codec, a `#1` probe with another), detection by the first pong,
 * the query override, the fixed modes, and each dialect's disconnect, handshake rejection
 * and `#removeAuthToken`.
 */
import { assert, describe, it } from "@effect/vitest"
import { ApplicationError, Codec } from "@effect-socketcluster/protocol"
import { Effect } from "effect"
import { MiddlewareRejection } from "../src/Middleware.js"
import type * as SCServer from "../src/SCServer.js"
import { rawClient, reversedCodec, startServer } from "./helpers.js"

const HANDSHAKE = '{"event":"#handshake","data":{"authToken":null},"cid":1}'
const fast = { pingInterval: 200, pingTimeout: 1000 } as const

/** A raw client whose handshake was answered; `pong` answers its own ping form from then on. */
const handshaken = (server: SCServer.SCServerCore, options: { readonly path?: string; readonly pong?: 1 | 2 } = {}) =>
  Effect.gen(function* () {
    const raw = yield* rawClient(server, options.path === undefined ? {} : { path: options.path })
    if (options.pong !== undefined) {
      const [ping, pong] = options.pong === 1 ? ["#1", "#2"] : ["", ""]
      raw.ws.on("message", (data: Buffer) => {
        if (data.toString() === ping) raw.ws.send(pong)
      })
    }
    raw.send(HANDSHAKE)
    yield* raw.waitFor((f) => f.startsWith('{"rid":1'))
    const socket = [...server.clients.values()].at(-1)!
    return { raw, socket }
  })

describe("protocol detection on the wire", () => {
  it.live(
    "auto: no probe after the handshake; the first tick brings both pings (#1, then an empty frame); the first pong fixes the protocol",
    () =>
      Effect.gen(function* () {
        // The first tick comes at least half an interval (500 ms) after the upgrade, long
        // after the answers to the handshake and to an immediate request.
        const server = yield* startServer({ pingInterval: 1000, pingTimeout: 3000 })
        yield* server.handle("echo", (data) => Effect.succeed(data))
        const v1 = yield* handshaken(server)
        v1.raw.send('{"event":"echo","data":1,"cid":2}')
        yield* v1.raw.waitFor((f) => f.startsWith('{"rid":2'))
        assert.deepStrictEqual(v1.raw.frames.slice(1), ['{"rid":2,"data":1}'])
        yield* v1.raw.waitFor((f) => f === "")
        assert.deepStrictEqual(v1.raw.frames.slice(2, 4), ["#1", ""])
        assert.strictEqual(v1.socket.protocolVersion, null)
        // The answer to a regular ping is the app's traffic as in v14: reported as a message.
        const messages: Array<unknown> = []
        v1.socket.hub.listen((e) => e._tag === "Message" && messages.push(e.message))
        v1.raw.send("#2")
        const v2 = yield* handshaken(server)
        yield* v2.raw.waitFor((f) => f === "")
        assert.deepStrictEqual(v2.raw.frames.slice(1, 3), ["#1", ""])
        v2.raw.send("")
        // Each connection's next tick has only its own ping.
        const ticks = (frames: Array<string>, from: number) => frames.slice(from).filter((f) => f === "#1" || f === "")
        yield* v1.raw.waitFor(() => ticks(v1.raw.frames, 4).length >= 1)
        yield* v2.raw.waitFor(() => ticks(v2.raw.frames, 3).length >= 1)
        assert.strictEqual(v1.socket.protocolVersion, 1)
        assert.strictEqual(v2.socket.protocolVersion, 2)
        assert.deepStrictEqual(messages, ["#2"])
        assert.deepStrictEqual(ticks(v1.raw.frames, 4).slice(0, 1), ["#1"])
        assert.deepStrictEqual(ticks(v2.raw.frames, 3).slice(0, 1), [""])
        // After detection the other pong form is still a pong, never `raw`.
        const raws: Array<unknown> = []
        v1.socket.hub.listen((e) => e._tag === "Raw" && raws.push(e.message))
        v1.raw.send("")
        v1.raw.send('{"event":"#nothing"}')
        v1.raw.send("not json")
        yield* Effect.promise(
          () => new Promise((resolve) => v1.socket.hub.listen((e) => e._tag === "Raw" && resolve(e)))
        )
        assert.deepStrictEqual(raws, ["not json"])
        assert.strictEqual(v1.socket.protocolVersion, 1)
      })
  )

  it.live("query override scProtocolVersion=1|2: no probe, fixed at upgrade, still visible in request.url", () =>
    Effect.gen(function* () {
      const server = yield* startServer(fast)
      const v1 = yield* handshaken(server, { path: "/socketcluster/?scProtocolVersion=1", pong: 1 })
      const v2 = yield* handshaken(server, { path: "/socketcluster/?scProtocolVersion=2", pong: 2 })
      const other = yield* handshaken(server, { path: "/socketcluster/?scProtocolVersion=3", pong: 1 })
      assert.strictEqual(v1.socket.protocolVersion, 1)
      assert.strictEqual(v2.socket.protocolVersion, 2)
      assert.strictEqual(other.socket.protocolVersion, null)
      assert.strictEqual(v2.socket.request.url, "/socketcluster/?scProtocolVersion=2")
      yield* v1.raw.waitFor((f) => f === "#1")
      yield* v2.raw.waitFor((f) => f === "")
      assert.isFalse(v1.raw.frames.includes(""))
      assert.isFalse(v2.raw.frames.includes("#1"))
    })
  )

  it.live("fixed protocolVersion 1 is v14 byte for byte: no probe, an empty frame is raw; fixed 2 sends only ''", () =>
    Effect.gen(function* () {
      const one = yield* startServer({ ...fast, protocolVersion: 1 })
      const a = yield* handshaken(one, { pong: 1 })
      const raws: Array<unknown> = []
      a.socket.hub.listen((e) => e._tag === "Raw" && raws.push(e.message))
      a.raw.send("")
      yield* a.raw.waitFor((f) => f === "#1")
      assert.deepStrictEqual(raws, [""])
      assert.isFalse(a.raw.frames.includes(""))
      assert.strictEqual(a.socket.protocolVersion, 1)
      const two = yield* startServer({ ...fast, protocolVersion: 2, pingTimeout: 400 })
      const b = yield* handshaken(two, { path: "/socketcluster/?scProtocolVersion=1", pong: 1 })
      assert.strictEqual(b.socket.protocolVersion, 2)
      // A v1-only peer never gets its ping: closed with 4001 (V2-08 from the server's side).
      assert.strictEqual((yield* b.raw.closed).code, 4001)
      assert.isFalse(b.raw.frames.includes("#1"))
    })
  )

  it.live("V2-42: a pong or an event before the handshake closes with 4009; no handshake at all is 4005", () =>
    Effect.gen(function* () {
      const server = yield* startServer({ ...fast, handshakeTimeout: 300 })
      for (const first of ["", "#2", '{"event":"echo","cid":1}']) {
        const raw = yield* rawClient(server)
        raw.send(first)
        assert.strictEqual((yield* raw.closed).code, 4009, JSON.stringify(first))
      }
      // Pings run from the upgrade on; apart from them an unknown socket gets the dual-safe
      // form (the #disconnect packet first), a v2 one only the close frame.
      const notPing = (f: string) => f !== "#1" && f !== ""
      const lazy = yield* rawClient(server)
      assert.strictEqual((yield* lazy.closed).code, 4005)
      assert.deepStrictEqual(lazy.frames.filter(notPing), ['{"event":"#disconnect","data":{"code":4005}}'])
      const lazyV2 = yield* rawClient(server, { path: "/socketcluster/?scProtocolVersion=2" })
      assert.strictEqual((yield* lazyV2.closed).code, 4005)
      assert.deepStrictEqual(lazyV2.frames.filter(notPing), [])
    })
  )

  it.live("a pong while connecting after #handshake is accepted and detects the protocol", () =>
    Effect.gen(function* () {
      const server = yield* startServer(fast)
      let release: () => void = () => {}
      const gate = new Promise<void>((resolve) => {
        release = resolve
      })
      yield* server.addMiddleware("handshakeSC", () => Effect.promise(() => gate))
      const raw = yield* rawClient(server)
      const socket = [...server.pendingClients.values()].at(-1)!
      raw.send(HANDSHAKE)
      raw.send("")
      yield* Effect.promise(
        () => new Promise((resolve) => socket.hub.listen((e) => e._tag === "ProtocolVersion" && resolve(e)))
      )
      release()
      yield* raw.waitFor((f) => f.startsWith('{"rid":1'))
      assert.strictEqual(socket.state, "open")
      assert.strictEqual(socket.protocolVersion, 2)
    })
  )

  it.live("another codec: the probe is the encoded #1 only; a v1 pong fixes v1, none by the next tick fixes v2", () =>
    Effect.gen(function* () {
      // JSON reversed: `#1` goes out as `1#`, and an empty frame would be garbage to a v1 client of this codec.
      const server = yield* startServer({ pingInterval: 100, pingTimeout: 1000 }, Codec.layerFrom(reversedCodec))
      const connect = (pong: "2#" | "") =>
        Effect.gen(function* () {
          const raw = yield* rawClient(server)
          const socket = [...server.pendingClients.values()].at(-1)!
          raw.ws.on("message", (data: Buffer) => {
            const text = data.toString()
            if ((pong === "2#" && text === "1#") || (pong === "" && text === "")) raw.ws.send(pong)
          })
          raw.send([...HANDSHAKE].reverse().join(""))
          yield* Effect.promise(
            () => new Promise((resolve) => socket.hub.listen((e) => e._tag === "ProtocolVersion" && resolve(e)))
          )
          yield* raw.waitFor(() => raw.frames.filter((f) => f === "1#" || f === "").length >= 4)
          return { raw, socket }
        })
      const v1 = yield* connect("2#")
      assert.strictEqual(v1.socket.protocolVersion, 1)
      assert.isFalse(v1.raw.frames.includes(""))
      const v2 = yield* connect("")
      assert.strictEqual(v2.socket.protocolVersion, 2)
      const pings = v2.raw.frames.filter((f) => f === "1#" || f === "")
      // `1#` until the tick that gives up on v1, then only empty frames.
      const firstEmpty = pings.indexOf("")
      assert.isAtLeast(firstEmpty, 1)
      assert.deepStrictEqual(
        pings.slice(firstEmpty),
        pings.slice(firstEmpty).map(() => "")
      )
    })
  )

  it.live("V2-43: a peer that never pongs stays unknown, gets both pings every tick, and is closed with 4001", () =>
    Effect.gen(function* () {
      const server = yield* startServer({ pingInterval: 100, pingTimeout: 500 })
      const { raw, socket } = yield* handshaken(server)
      const closed = yield* raw.closed
      assert.strictEqual(closed.code, 4001)
      assert.strictEqual(socket.protocolVersion, null)
      const pings = raw.frames.slice(1)
      assert.isAtLeast(pings.length, 6)
      for (let i = 0; i + 1 < pings.length; i += 2) assert.deepStrictEqual(pings.slice(i, i + 2), ["#1", ""])
    })
  )
})

describe("what each dialect writes", () => {
  it.live("V2-20: a v2 publisher's own delivery is written before the ack of its publish", () =>
    Effect.gen(function* () {
      const server = yield* startServer(fast)
      const { raw } = yield* handshaken(server, { path: "/socketcluster/?scProtocolVersion=2", pong: 2 })
      raw.send('{"event":"#subscribe","data":{"channel":"self"},"cid":2}')
      yield* raw.waitFor((f) => f.startsWith('{"rid":2'))
      raw.send('{"event":"#publish","data":{"channel":"self","data":"mine"},"cid":3}')
      yield* raw.waitFor((f) => f.startsWith('{"rid":3'))
      const delivery = raw.frames.indexOf('{"event":"#publish","data":{"channel":"self","data":"mine"}}')
      assert.isAtLeast(delivery, 0)
      assert.isBelow(
        delivery,
        raw.frames.findIndex((f) => f.startsWith('{"rid":3'))
      )
    })
  )

  const disconnectFrames = (path: string, pong: 1 | 2 | undefined, protocolVersion: 1 | "auto" = "auto") =>
    Effect.gen(function* () {
      const server = yield* startServer({ ...fast, protocolVersion })
      const { raw, socket } = yield* handshaken(server, { path, ...(pong === undefined ? {} : { pong }) })
      socket.disconnectUnsafe(4321, "custom reason")
      const closed = yield* raw.closed
      return { closed, frames: raw.frames.filter((f) => f.startsWith('{"event"')) }
    })

  it.live(
    "disconnect: v1 and unknown get #disconnect then the reason in the close frame; v2 only the close frame; fixed 1 as v14",
    () =>
      Effect.gen(function* () {
        const packet = '{"event":"#disconnect","data":{"code":4321,"data":"custom reason"}}'
        const unknown = yield* disconnectFrames("/socketcluster/", undefined)
        assert.deepStrictEqual(unknown.frames, [packet])
        assert.deepStrictEqual(unknown.closed, { code: 4321, reason: "custom reason" })
        const v1 = yield* disconnectFrames("/socketcluster/?scProtocolVersion=1", 1)
        assert.deepStrictEqual(v1.frames, [packet])
        assert.deepStrictEqual(v1.closed, { code: 4321, reason: "custom reason" })
        const v2 = yield* disconnectFrames("/socketcluster/?scProtocolVersion=2", 2)
        assert.deepStrictEqual(v2.frames, [])
        assert.deepStrictEqual(v2.closed, { code: 4321, reason: "custom reason" })
        const v14 = yield* disconnectFrames("/socketcluster/", 1, 1)
        assert.deepStrictEqual(v14.frames, [packet])
        assert.deepStrictEqual(v14.closed, { code: 4321, reason: "" })
      })
  )

  it.live(
    "handshake rejection: statusCode and data.code while unknown, only statusCode for v2, only data.code for fixed 1",
    () =>
      Effect.gen(function* () {
        const reject = () =>
          Effect.fail(
            new MiddlewareRejection({
              error: new ApplicationError({ name: "LazyErr", message: "too lazy" }),
              statusCode: 4501
            })
          )
        const framesOf = (protocolVersion: 1 | "auto", path: string) =>
          Effect.gen(function* () {
            const server = yield* startServer({ ...fast, protocolVersion })
            yield* server.addMiddleware("handshakeSC", reject)
            const raw = yield* rawClient(server, { path })
            raw.send(HANDSHAKE)
            const closed = yield* raw.closed
            assert.strictEqual(closed.code, 4501)
            return raw.frames.map((f) => JSON.parse(f) as unknown)
          })
        const error = { message: "too lazy", name: "LazyErr" }
        const disconnect = { event: "#disconnect", data: { code: 4501 } }
        assert.deepStrictEqual(yield* framesOf("auto", "/socketcluster/"), [
          { rid: 1, error: { ...error, statusCode: 4501 }, data: { code: 4501 } },
          disconnect
        ])
        assert.deepStrictEqual(yield* framesOf("auto", "/socketcluster/?scProtocolVersion=2"), [
          { rid: 1, error: { ...error, statusCode: 4501 } }
        ])
        assert.deepStrictEqual(yield* framesOf(1, "/socketcluster/"), [
          { rid: 1, error, data: { code: 4501 } },
          disconnect
        ])
      })
  )

  it.live(
    "#removeAuthToken: data null for v1 and unknown, no data for v2; auth errors carry isBadToken except with fixed 1",
    () =>
      Effect.gen(function* () {
        const server = yield* startServer(fast)
        const fixed = yield* startServer({ ...fast, protocolVersion: 1 })
        const removeFrame = (srv: SCServer.SCServerCore, path: string, pong?: 1 | 2) =>
          Effect.gen(function* () {
            const { raw, socket } = yield* handshaken(srv, { path, ...(pong === undefined ? {} : { pong }) })
            raw.send('{"event":"#authenticate","data":"bad.token.x","cid":2}')
            const answer = JSON.parse(yield* raw.waitFor((f) => f.startsWith('{"rid":2'))) as {
              error: Record<string, unknown>
            }
            socket.deauthenticateUnsafe()
            const removes = () => raw.frames.filter((f) => f.startsWith('{"event":"#removeAuthToken"'))
            yield* raw.waitFor(() => removes().length === 2)
            return { removes: removes(), error: answer.error }
          })
        const unknown = yield* removeFrame(server, "/socketcluster/")
        assert.deepStrictEqual(unknown.removes, Array(2).fill('{"event":"#removeAuthToken","data":null}'))
        assert.strictEqual(unknown.error.isBadToken, true)
        const v2 = yield* removeFrame(server, "/socketcluster/?scProtocolVersion=2", 2)
        assert.deepStrictEqual(v2.removes, Array(2).fill('{"event":"#removeAuthToken"}'))
        assert.strictEqual(v2.error.isBadToken, true)
        const v14 = yield* removeFrame(fixed, "/socketcluster/", 1)
        assert.deepStrictEqual(v14.removes, Array(2).fill('{"event":"#removeAuthToken","data":null}'))
        assert.isFalse("isBadToken" in v14.error)
      })
  )
})
