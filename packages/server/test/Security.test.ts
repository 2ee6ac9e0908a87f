/**
 * Security over real sockets: origins (including `null`), JWT algorithm pinning and key
 * length, tokens kept out of warnings, no stack traces or server paths in errors sent to
 * clients, and the rate-limit middleware.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, Layer } from "effect"
import { SignJWT } from "jose"
import type { ServerEvent, SocketEvent } from "../src/Events.js"
import * as RateLimit from "../src/RateLimit.js"
import { SCServer } from "../src/SCServer.js"
import { answerTo, guardAgainstEscapes, handshaken } from "./attack.js"
import { connectClient, invoke, publish, rawClient, startServer, upgradeStatus, waitForServerEvent } from "./helpers.js"

guardAgainstEscapes()

const KEY = "test-key-0123456789abcdef0123456789abcdef"

/** Everything an error exposes as text: its string form, message and every field. */
const errorText = (error: unknown): string => {
  if (typeof error !== "object" || error === null) return String(error)
  const fields: Record<string, unknown> = {}
  for (const key of Object.getOwnPropertyNames(error)) fields[key] = Reflect.get(error, key)
  return `${String(error)} ${JSON.stringify(fields)}`
}

describe("security", () => {
  it.live("origins: a null or missing origin is refused unless origins is *:*", () =>
    Effect.gen(function* () {
      const strict = yield* startServer({ origins: "example.com:443" })
      const port = strict.sourcePort!
      assert.strictEqual(yield* upgradeStatus(port, "/socketcluster/", { Origin: "null" }), 403)
      assert.strictEqual(yield* upgradeStatus(port, "/socketcluster/", {}), 403)
      assert.strictEqual(yield* upgradeStatus(port, "/socketcluster/", { Origin: "https://example.com.evil.io" }), 403)
      assert.strictEqual(yield* upgradeStatus(port, "/socketcluster/", { Origin: "https://example.com" }), 101)
      const open = yield* startServer()
      assert.strictEqual(yield* upgradeStatus(open.sourcePort!, "/socketcluster/", { Origin: "null" }), 101)
    })
  )

  it.live("JWT: an HS512 token under the same key is refused when only HS256 is allowed; short keys are refused", () =>
    Effect.gen(function* () {
      // Pinned with authAlgorithm; without it every HS* algorithm verifies under an HMAC key (v14/jsonwebtoken).
      const server = yield* startServer({ authKey: KEY, authAlgorithm: "HS256" })
      const warnings: Array<ServerEvent> = []
      server.hub.listen((e) => {
        if (e._tag === "Warning") warnings.push(e)
      })
      const hs512 = yield* Effect.promise(() =>
        new SignJWT({ user: "mallory" })
          .setProtectedHeader({ alg: "HS512" })
          .setExpirationTime("1h")
          .sign(Buffer.from(KEY))
      )
      const bad = yield* Effect.forkChild(waitForServerEvent(server, "BadSocketAuthToken"), { startImmediately: true })
      const c = yield* rawClient(server)
      c.send(JSON.stringify({ event: "#handshake", data: { authToken: hs512 }, cid: 1 }))
      const answer = (yield* answerTo(c, 1)).data as { isAuthenticated: boolean; authError: { name: string } }
      assert.isFalse(answer.isAuthenticated)
      assert.strictEqual(answer.authError.name, "AuthTokenInvalidError")
      assert.strictEqual((yield* Fiber.join(bad)).info.signedAuthToken, hs512)
      c.send(JSON.stringify({ event: "#authenticate", data: hs512, cid: 2 }))
      const auth = yield* answerTo(c, 2)
      assert.strictEqual((auth.error as { name: string }).name, "AuthTokenInvalidError")
      assert.strictEqual([...server.clients.values()][0]!.authState, "unauthenticated")
      // The token text is in the BadSocketAuthToken event (v14 API), never in a warning.
      assert.isAbove(warnings.length, 0)
      for (const w of warnings) if (w._tag === "Warning") assert.notInclude(errorText(w.error), hs512)
      const short = yield* Effect.flip(startServer({ authKey: "too-short" }))
      assert.match((short as Error).message, /at least 32 bytes/)
      const allowed = yield* startServer({ authKey: "too-short", allowWeakKeys: true })
      assert.isTrue(allowed.isReady)
    })
  )

  it.live("auth tokens never appear in warnings or socket errors, whatever is wrong with them", () =>
    Effect.gen(function* () {
      const server = yield* startServer({ authKey: KEY })
      const seen: Array<string> = []
      server.hub.listen((e) => {
        if (e._tag === "Warning" || e._tag === "Error") seen.push(errorText(e.error))
      })
      const expired = yield* Effect.promise(() =>
        new SignJWT({ user: "SECRET-expired" })
          .setProtectedHeader({ alg: "HS256" })
          .setExpirationTime(Math.floor(Date.now() / 1000) - 60)
          .sign(Buffer.from(KEY))
      )
      const foreign = yield* Effect.promise(() =>
        new SignJWT({ user: "SECRET-foreign" })
          .setProtectedHeader({ alg: "HS256" })
          .sign(Buffer.from("another-key-0123456789abcdef0123456789"))
      )
      const tokens = ["SECRET-garbage.not.a-jwt", "eyJhbGciOiJub25lIn0.eyJTRUNSRVQiOjF9.", expired, foreign]
      let cid = 2
      for (const token of tokens) {
        const c = yield* handshaken(server)
        const socket = [...server.clients.values()].at(-1)!
        socket.hub.listen((e: SocketEvent) => {
          if (e._tag === "Error") seen.push(errorText(e.error))
        })
        c.send(JSON.stringify({ event: "#authenticate", data: token, cid }))
        yield* answerTo(c, cid++)
      }
      assert.isAtLeast(seen.length, tokens.length)
      for (const text of seen) {
        for (const token of tokens) assert.notInclude(text, token)
        assert.notInclude(text, "SECRET")
      }
    })
  )

  it.live("errors sent to clients carry no stack traces, causes or server paths", () =>
    Effect.gen(function* () {
      const server = yield* startServer()
      const path = "/srv/app/config/secrets.json"
      yield* server.handle("dies", () => Effect.die(new Error(`ENOENT: no such file or directory, open '${path}'`)))
      yield* server.handle("throws", () =>
        Effect.sync(() => {
          throw new TypeError(`Cannot read properties of undefined (reading 'x') at ${path}:3:7`)
        })
      )
      yield* server.handle("fails", () =>
        Effect.fail(
          Object.assign(new Error("Not allowed"), {
            code: 403,
            cause: new Error(`at ${path}`),
            stack: `Error: Not allowed\n    at ${path}:1:1`
          })
        )
      )
      yield* server.addMiddleware("subscribe", () => Effect.die(new Error(`bug in ${path}`)))
      const c = yield* handshaken(server)
      c.send('{"event":"dies","cid":2}')
      c.send('{"event":"throws","cid":3}')
      c.send('{"event":"fails","cid":4}')
      c.send('{"event":"#subscribe","data":{"channel":"x"},"cid":5}')
      assert.deepStrictEqual((yield* answerTo(c, 2)).error, {
        name: "InvalidActionError",
        message: "The dies handler failed"
      })
      assert.deepStrictEqual((yield* answerTo(c, 3)).error, {
        name: "InvalidActionError",
        message: "The throws handler failed"
      })
      // A typed failure is the app's answer: its message and fields go, its stack and cause do not.
      assert.deepStrictEqual((yield* answerTo(c, 4)).error, { message: "Not allowed", code: 403 })
      assert.deepStrictEqual((yield* answerTo(c, 5)).error, {
        name: "UnknownError",
        message: "The subscribe middleware failed"
      })
      for (const frame of c.frames) {
        assert.notInclude(frame, "/srv/")
        assert.notInclude(frame, "    at ")
      }
    })
  )

  it.live(
    "rateLimit middleware (effect/persistence RateLimiter, memory store): over the limit is refused per socket",
    () =>
      Effect.gen(function* () {
        const server = yield* startServer()
        yield* server.handle("echo", (d) => Effect.succeed(d))
        yield* Layer.build(
          Layer.mergeAll(
            RateLimit.layer("emit", { limit: 3, window: "1 minute" }),
            RateLimit.layer("publishIn", { limit: 2, window: "1 minute", algorithm: "token-bucket" })
          ).pipe(Layer.provide(RateLimit.layerMemory), Layer.provide(Layer.succeed(SCServer, server)))
        )
        const a = yield* connectClient(server)
        const b = yield* connectClient(server)
        for (const i of [1, 2, 3]) assert.strictEqual(yield* invoke(a, "echo", i), i)
        const refused = yield* Effect.flip(invoke(a, "echo", 4))
        assert.strictEqual((refused as Error).name, "RateLimitExceeded")
        assert.strictEqual((refused as Error).message, "Rate limit exceeded: 3 per 1m")
        assert.isAbove((refused as { retryAfter: number }).retryAfter, 0)
        // Another socket has its own bucket.
        assert.strictEqual(yield* invoke(b, "echo", "b"), "b")
        yield* publish(b, "ch", 1)
        yield* publish(b, "ch", 2)
        const blocked = yield* Effect.flip(publish(b, "ch", 3))
        assert.strictEqual((blocked as Error).name, "RateLimitExceeded")
      })
  )
})
