/**
 * A throw or a defect in any user callback (event listener, handler, middleware, codec,
 * auth engine) affects only the call it happened in: through the real v14 client, the
 * socket that triggered it gets an error (or, where nothing can be answered, nothing) and
 * keeps working, every other socket and the server carry on, and the failure is reported
 * as a `Warning` server event (defects are logged too). Nothing escapes to the process.
 */
import { assert, describe, it } from "@effect/vitest"
import { Codec, type CodecEngine, json } from "@effect-socketcluster/protocol"
import { Effect, Layer, type Scope } from "effect"
import { AuthEngine } from "../src/AuthEngine.js"
import type { ServerEvent } from "../src/Events.js"
import type * as SCServer from "../src/SCServer.js"
import { guardAgainstEscapes } from "./attack.js"
import {
  type ClientChannel,
  type ClientSocket,
  connectClient,
  createClient,
  invoke,
  nextClientEvent,
  publish,
  rawClient,
  recordServerEvents,
  startServer,
  subscribe
} from "./helpers.js"

guardAgainstEscapes()

const bomb = (where: string): never => {
  throw new Error(`bomb in ${where}`)
}

/** Warnings whose error message mentions `text`. */
const warningsAbout = (events: ReadonlyArray<ServerEvent>, text: string) =>
  events.filter((e) => e._tag === "Warning" && String((e.error as Error)?.message ?? e.error).includes(text))

/** Publications of a subscription, in order, and a way to wait for one. */
const inbox = (channel: ClientChannel) => {
  const items: Array<unknown> = []
  const waiters: Array<() => void> = []
  channel.watch((data) => {
    items.push(data)
    for (const wake of waiters.splice(0)) wake()
  })
  const until = (item: unknown) =>
    Effect.callback<void>((resume) => {
      const check = () => (items.includes(item) ? resume(Effect.void) : waiters.push(check))
      check()
    })
  return { items, until }
}

/**
 * The server and an uninvolved pair of sockets still work: echo on both, a publication
 * from one reaches the other.
 */
const stillServing = (server: SCServer.SCServerCore, bystanders: readonly [ClientSocket, ClientSocket]) =>
  Effect.gen(function* () {
    const [a, b] = bystanders
    const channel = `alive-${Math.random()}`
    const feed = inbox(yield* subscribe(b, channel))
    yield* publish(a, channel, "still here")
    yield* feed.until("still here")
    assert.deepStrictEqual(feed.items, ["still here"])
    assert.strictEqual(yield* invoke(a, "echo", 1), 1)
    assert.strictEqual(yield* invoke(b, "echo", 2), 2)
    assert.isTrue(server.isReady)
    assert.strictEqual(a.state, "open")
    assert.strictEqual(b.state, "open")
  })

const withBystanders = (server: SCServer.SCServerCore) =>
  Effect.all([connectClient(server), connectClient(server)]).pipe(
    Effect.map(([a, b]) => [a, b] as const)
  ) satisfies Effect.Effect<readonly [ClientSocket, ClientSocket], unknown, Scope.Scope>

describe("isolation of user callbacks", () => {
  it.live("event listeners: a throwing server or socket listener is warned and logged; the event still happens", () =>
    Effect.gen(function* () {
      const server = yield* startServer()
      yield* server.handle("echo", (data) => Effect.succeed(data))
      const events = yield* recordServerEvents(server)
      const remove = server.hub.listen((e) => {
        if (e._tag === "Subscription" && e.channel === "listener-bomb") bomb("server listener")
        if (e._tag === "Connection")
          e.socket.hub.listen((s) => (s._tag === "Subscribe" ? bomb("socket listener") : undefined))
      })
      yield* Effect.addFinalizer(() => Effect.sync(remove))
      const bystanders = yield* withBystanders(server)
      const culprit = yield* connectClient(server)
      const feed = inbox(yield* subscribe(culprit, "listener-bomb"))
      assert.lengthOf(warningsAbout(events, "bomb in server listener"), 1)
      assert.isAtLeast(warningsAbout(events, "bomb in socket listener").length, 1)
      // The subscription the listeners threw about is in place and delivers.
      yield* publish(bystanders[0], "listener-bomb", "delivered")
      yield* feed.until("delivered")
      assert.deepStrictEqual(feed.items, ["delivered"])
      yield* stillServing(server, bystanders)
    })
  )

  it.live(
    "handlers: a sync throw, a die, a throw inside Effect.sync and a rejected promise each fail only their call",
    () =>
      Effect.gen(function* () {
        const server = yield* startServer()
        yield* server.handle("echo", (data) => Effect.succeed(data))
        yield* server.handle("throws", () => bomb("handler body"))
        yield* server.handle("dies", () => Effect.die(new Error("bomb in handler die")))
        yield* server.handle("syncThrows", () => Effect.sync(() => bomb("handler sync")))
        yield* server.handle("rejects", () =>
          Effect.promise(() => Promise.reject(new Error("bomb in handler promise")))
        )
        const events = yield* recordServerEvents(server)
        const bystanders = yield* withBystanders(server)
        const culprit = yield* connectClient(server)
        for (const [event, text] of [
          ["throws", "bomb in handler body"],
          ["dies", "bomb in handler die"],
          ["syncThrows", "bomb in handler sync"],
          ["rejects", "bomb in handler promise"]
        ] as const) {
          const error = (yield* Effect.flip(invoke(culprit, event, null))) as Error
          assert.strictEqual(error.name, "InvalidActionError", event)
          assert.strictEqual(error.message, `The ${event} handler failed`)
          assert.lengthOf(warningsAbout(events, text), 1, event)
          assert.strictEqual(yield* invoke(culprit, "echo", event), event)
        }
        yield* stillServing(server, bystanders)
      })
  )

  it.live("middleware: a sync throw or a die in each of the seven types fails only that request", () =>
    Effect.gen(function* () {
      const server = yield* startServer()
      yield* server.handle("echo", (data) => Effect.succeed(data))
      yield* server.handle("login", (data, socket) => socket.setAuthToken(data))
      const trap = (where: string, armed: boolean) => (armed ? bomb(`${where} middleware`) : Effect.void)
      const queryHas = (url: string | undefined, text: string) => (url ?? "").includes(text)
      yield* server.addMiddleware("handshakeWS", (req) => trap("handshakeWS", queryHas(req.request.url, "bomb=ws")))
      yield* server.addMiddleware("handshakeSC", (req) =>
        queryHas(req.socket.request.url, "bomb=sc")
          ? Effect.die(new Error("bomb in handshakeSC middleware"))
          : Effect.void
      )
      yield* server.addMiddleware("authenticate", (req) =>
        trap("authenticate", (req.authToken as { bomb?: unknown } | null)?.bomb === true)
      )
      yield* server.addMiddleware("subscribe", (req) => trap("subscribe", req.channel === "bomb"))
      yield* server.addMiddleware("publishIn", (req) =>
        req.channel === "bomb-in" ? Effect.die(new Error("bomb in publishIn middleware")) : Effect.void
      )
      yield* server.addMiddleware("publishOut", (req) => trap("publishOut", req.data === "bomb-out"))
      yield* server.addMiddleware("emit", (req) => trap("emit", req.event === "bombEmit"))
      const events = yield* recordServerEvents(server)
      const bystanders = yield* withBystanders(server)

      // The handshakes: that connection fails, the next one with the same server works.
      for (const [bombQuery, text] of [
        ["ws", "bomb in handshakeWS middleware"],
        ["sc", "bomb in handshakeSC middleware"]
      ] as const) {
        const doomed = yield* createClient(server, { query: { bomb: bombQuery } })
        const [code] = yield* nextClientEvent(doomed, "connectAbort")
        assert.isNumber(code)
        assert.lengthOf(warningsAbout(events, text), 1, bombQuery)
      }

      const culprit = yield* connectClient(server)
      const subscribeError = (yield* Effect.flip(subscribe(culprit, "bomb"))) as Error
      assert.strictEqual(subscribeError.message, "The subscribe middleware failed")
      const publishError = (yield* Effect.flip(publish(culprit, "bomb-in", 1))) as Error
      assert.strictEqual(publishError.message, "The publishIn middleware failed")
      const emitError = (yield* Effect.flip(invoke(culprit, "bombEmit", 1))) as Error
      assert.strictEqual(emitError.message, "The emit middleware failed")

      // publishOut: the subscriber misses only the publication its middleware threw on.
      const feed = inbox(yield* subscribe(culprit, "news"))
      const other = inbox(yield* subscribe(bystanders[1], "news"))
      for (const data of ["one", "bomb-out", "two"]) yield* publish(bystanders[0], "news", data)
      yield* publish(bystanders[0], "news", "end")
      yield* feed.until("end")
      yield* other.until("end")
      // The middleware throws for every subscriber of that publication, and only for it.
      assert.deepStrictEqual(other.items, ["one", "two", "end"])
      assert.deepStrictEqual(feed.items, ["one", "two", "end"])

      // authenticate: a token whose middleware throws is refused, the socket stays unauthenticated and open.
      yield* invoke(culprit, "login", { bomb: true })
      const token = culprit.getSignedAuthToken()!
      const [authError, status] = yield* Effect.callback<[unknown, unknown]>((resume) =>
        culprit.authenticate(token, (error, status) => resume(Effect.succeed([error, status])))
      )
      // v14's form: no error on the ack, the refusal in the status.
      assert.isNull(authError)
      const refused = status as { readonly isAuthenticated: boolean; readonly authError: Error }
      assert.isFalse(refused.isAuthenticated)
      assert.strictEqual(refused.authError.message, "The authenticate middleware failed")
      assert.strictEqual(culprit.authState, "unauthenticated")

      for (const text of ["subscribe", "publishIn", "publishOut", "emit", "authenticate"]) {
        assert.isAtLeast(warningsAbout(events, `bomb in ${text} middleware`).length, 1, text)
      }
      assert.strictEqual(yield* invoke(culprit, "echo", "after"), "after")
      assert.strictEqual(culprit.state, "open")
      yield* stillServing(server, bystanders)
    })
  )

  it.live("codec: a throwing decode loses only that frame, a throwing encode only that answer or publication", () =>
    Effect.gen(function* () {
      const trapped: CodecEngine = {
        encode: (value) => {
          const out = json.encode(value)
          return typeof out === "string" && out.includes("encode-bomb") ? bomb("codec encode") : out
        },
        decode: (message) =>
          typeof message === "string" && message.includes("decode-bomb") ? bomb("codec decode") : json.decode(message)
      }
      const server = yield* startServer({}, Codec.layerFrom(trapped))
      yield* server.handle("echo", (data) => Effect.succeed(data))
      const events = yield* recordServerEvents(server)
      const bystanders = yield* withBystanders(server)
      const culprit = yield* connectClient(server, { ackTimeout: 300 })

      // Decode: the frame cannot be read, so nothing answers it; the socket's next call works.
      culprit.emit("echo", "decode-bomb")
      assert.strictEqual(yield* invoke(culprit, "echo", "next"), "next")
      assert.lengthOf(warningsAbout(events, "bomb in codec decode"), 1)

      // Encode of an answer: nothing is sent (v14, B210), so that call times out on the
      // client; the socket's next call is answered.
      const answerError = (yield* Effect.flip(invoke(culprit, "echo", "encode-bomb"))) as Error
      assert.strictEqual(answerError.name, "TimeoutError")
      assert.strictEqual(yield* invoke(culprit, "echo", "next"), "next")

      // Encode of a publication: nobody gets that one, everybody gets the next.
      const feeds = [inbox(yield* subscribe(culprit, "feed")), inbox(yield* subscribe(bystanders[1], "feed"))]
      yield* publish(bystanders[0], "feed", "encode-bomb")
      yield* publish(bystanders[0], "feed", "fine")
      for (const feed of feeds) {
        yield* feed.until("fine")
        assert.deepStrictEqual(feed.items, ["fine"])
      }
      assert.isAtLeast(warningsAbout(events, "bomb in codec encode").length, 2)
      yield* stillServing(server, bystanders)
    })
  )

  it.live(
    "auth engine: a throwing or dying verify refuses only that token; a dying sign closes only that socket (4002)",
    () =>
      Effect.gen(function* () {
        const real = yield* AuthEngine.make({ authKey: "test-key-0123456789abcdef0123456789abcdef" })
        const trapped = AuthEngine.of({
          signToken: (payload, options) =>
            (payload as { bomb?: unknown }).bomb === true
              ? Effect.die(new Error("bomb in signToken"))
              : real.signToken(payload, options),
          verifyToken: (token, context) =>
            token === "throw-token"
              ? bomb("verifyToken")
              : token === "die-token"
                ? Effect.die(new Error("bomb in verifyToken die"))
                : real.verifyToken(token, context)
        })
        const server = yield* startServer({}, Layer.succeed(AuthEngine, trapped))
        yield* server.handle("echo", (data) => Effect.succeed(data))
        yield* server.handle("login", (data, socket) => socket.setAuthToken(data))
        const events = yield* recordServerEvents(server)
        const bystanders = yield* withBystanders(server)
        const culprit = yield* connectClient(server)

        for (const [token, text] of [
          ["throw-token", "bomb in verifyToken"],
          ["die-token", "bomb in verifyToken die"]
        ] as const) {
          const error = yield* Effect.callback<unknown>((resume) =>
            culprit.authenticate(token, (e) => resume(Effect.succeed(e)))
          )
          assert.instanceOf(error, Error, token)
          assert.strictEqual(culprit.authState, "unauthenticated")
          assert.strictEqual(yield* invoke(culprit, "echo", token), token)
          assert.isAtLeast(warningsAbout(events, text).length, 1, token)
        }

        // At the handshake: the socket connects unauthenticated.
        const raw = yield* rawClient(server)
        raw.send(JSON.stringify({ event: "#handshake", data: { authToken: "throw-token" }, cid: 1 }))
        const answer = JSON.parse(yield* raw.waitFor((f) => f.startsWith('{"rid":1'))) as {
          data?: { isAuthenticated?: boolean }
        }
        assert.strictEqual(answer.data?.isAuthenticated, false)
        raw.send('{"event":"echo","data":"raw","cid":2}')
        assert.include(yield* raw.waitFor((f) => f.startsWith('{"rid":2')), '"data":"raw"')

        // A login whose signing dies: that socket closes with 4002 (v14's answer to a failed sign).
        const loginSocket = yield* connectClient(server)
        const closed = nextClientEvent(loginSocket, "close")
        loginSocket.emit("login", { bomb: true })
        const [code] = yield* closed
        assert.strictEqual(code, 4002)
        assert.isAtLeast(warningsAbout(events, "bomb in signToken").length, 1)
        yield* invoke(culprit, "login", { user: "fine" })
        assert.strictEqual(culprit.authState, "authenticated")
        yield* stillServing(server, bystanders)
      })
  )
})
