import { createHmac, generateKeyPairSync } from "node:crypto"
import { assert, describe, it } from "@effect/vitest"
import { ApplicationError, AuthTokenExpiredError } from "@effect-socketcluster/protocol"
import { Effect, Fiber, Layer } from "effect"
import fc from "fast-check"
import { AuthEngine } from "../src/AuthEngine.js"
import type { ServerEvent } from "../src/Events.js"
import { MiddlewareRejection } from "../src/Middleware.js"
import {
  connectClient,
  createClient,
  invoke,
  nextClientEvent,
  rawClient,
  recordServerEvents,
  startServer
} from "./helpers.js"

const KEY = "test-key-0123456789abcdef0123456789abcdef"
const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url")
const hs256 = (payload: unknown, key = KEY) => {
  const input = `${b64({ alg: "HS256", typ: "JWT" })}.${b64(payload)}`
  return `${input}.${createHmac("sha256", key).update(input).digest("base64url")}`
}
const nowS = () => Math.floor(Date.now() / 1000)

/** A client that starts with `token` in its store. */
const clientWithToken = (server: Parameters<typeof createClient>[0], token: string) =>
  Effect.gen(function* () {
    const client = yield* createClient(server, { autoConnect: false })
    ;(
      client as unknown as { auth: { saveToken(n: string, t: string, o: object): void }; authTokenName: string }
    ).auth.saveToken((client as unknown as { authTokenName: string }).authTokenName, token, {})
    const connected = yield* Effect.forkChild(nextClientEvent(client, "connect"), { startImmediately: true })
    client.connect()
    const [status] = yield* Fiber.join(connected)
    return { client, status: status as { isAuthenticated: boolean; authError?: { name: string; message: string } } }
  })

const tags = (events: ReadonlyArray<ServerEvent>) => events.map((e) => e._tag).filter((t) => t !== "Warning")

const withLogin = Effect.gen(function* () {
  const server = yield* startServer({ authKey: KEY })
  yield* server.handle("login", (data, socket) => socket.setAuthToken(data).pipe(Effect.as("ok")))
  yield* server.handle("whoami", (_d, socket) =>
    Effect.succeed({ authState: socket.authState, authToken: socket.authToken })
  )
  return server
})

describe("authentication", () => {
  it.live("login with setAuthToken: authenticated inside the emit callback, and again after reconnecting", () =>
    Effect.gen(function* () {
      const server = yield* withLogin
      const events = yield* recordServerEvents(server)
      const client = yield* connectClient(server)
      const stateInCallback = yield* Effect.callback<string>((resume) => {
        client.emit("login", { username: "alice" }, () => resume(Effect.succeed(client.authState)))
      })
      assert.strictEqual(stateInCallback, "authenticated")
      assert.strictEqual((client.authToken as { username: string }).username, "alice")
      const payload = server.clients.get(client.id!)!.authToken as { username: string; iat: number; exp: number }
      assert.strictEqual(payload.exp - payload.iat, 86400)
      assert.deepStrictEqual(tags(events).slice(-2), ["AuthenticationStateChange", "Authentication"])
      // Reconnect: the stored token authenticates the new handshake.
      const reconnected = yield* Effect.forkChild(nextClientEvent(client, "connect"), { startImmediately: true })
      client.disconnect()
      client.connect()
      const [status] = (yield* Fiber.join(reconnected)) as [{ isAuthenticated: boolean }]
      assert.isTrue(status.isAuthenticated)
      const who = (yield* invoke(client, "whoami")) as { authState: string; authToken: { username: string } }
      assert.strictEqual(who.authState, "authenticated")
      assert.strictEqual(who.authToken.username, "alice")
    })
  )

  it.live("an expired token in the handshake: AuthTokenExpiredError, #removeAuthToken, badSocketAuthToken", () =>
    Effect.gen(function* () {
      const server = yield* startServer({ authKey: KEY })
      const events = yield* recordServerEvents(server)
      const { client, status } = yield* clientWithToken(server, hs256({ user: "bob", exp: nowS() - 10 }))
      assert.isFalse(status.isAuthenticated)
      assert.strictEqual(status.authError?.name, "AuthTokenExpiredError")
      assert.strictEqual(status.authError?.message, "jwt expired")
      assert.strictEqual(client.authState, "unauthenticated")
      assert.isNull(client.getSignedAuthToken())
      const bad = events.find((e) => e._tag === "BadSocketAuthToken")
      assert.strictEqual(
        bad?._tag === "BadSocketAuthToken" ? (bad.info.authError as Error).name : "",
        "AuthTokenExpiredError"
      )
      assert.deepStrictEqual(tags(events), ["Handshake", "BadSocketAuthToken", "Deauthentication", "Connection"])
    })
  )

  it.live("garbage, foreign-key and alg:none tokens are AuthTokenInvalidError", () =>
    Effect.gen(function* () {
      const server = yield* startServer({ authKey: KEY })
      const none = `${b64({ alg: "none", typ: "JWT" })}.${b64({ user: "eve", exp: nowS() + 60 })}.`
      const cases: ReadonlyArray<readonly [string, string]> = [
        ["garbage.not-a.jwt", "invalid token"],
        [hs256({ user: "mallory", exp: nowS() + 3600 }, "another-key-0123456789abcdef0123456789"), "invalid signature"],
        [none, "jwt signature is required"]
      ]
      for (const [token, message] of cases) {
        const { client, status } = yield* clientWithToken(server, token)
        assert.isFalse(status.isAuthenticated)
        assert.strictEqual(status.authError?.name, "AuthTokenInvalidError")
        assert.strictEqual(status.authError?.message, message)
        assert.strictEqual(server.clients.get(client.id!)!.authToken, null)
      }
    })
  )

  it.live("a not-yet-valid token is not a bad token: no #removeAuthToken", () =>
    Effect.gen(function* () {
      const server = yield* startServer({ authKey: KEY })
      const raw = yield* rawClient(server)
      raw.send(JSON.stringify({ event: "#handshake", data: { authToken: hs256({ u: 1, nbf: nowS() + 600 }) }, cid: 1 }))
      const answer = JSON.parse(yield* raw.waitFor((f) => f.startsWith('{"rid":1')))
      assert.strictEqual(answer.data.authError.name, "AuthTokenNotBeforeError")
      assert.isFalse(raw.frames.some((f) => f.includes("#removeAuthToken")))
    })
  )

  it.live("key pairs: RS256 tokens issued by the server authenticate a new client", () =>
    Effect.gen(function* () {
      const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 })
      const server = yield* startServer({
        authPrivateKey: privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
        authPublicKey: publicKey.export({ type: "spki", format: "pem" }).toString(),
        authAlgorithm: "RS256"
      })
      yield* server.handle("login", (data, socket) => socket.setAuthToken(data))
      const first = yield* connectClient(server)
      yield* invoke(first, "login", { username: "carol" })
      const token = first.getSignedAuthToken()!
      assert.strictEqual(JSON.parse(Buffer.from(token.split(".")[0]!, "base64url").toString()).alg, "RS256")
      const { status } = yield* clientWithToken(server, token)
      assert.isTrue(status.isAuthenticated)
    })
  )

  it.live("a token that expires mid-session: the next emit deauthenticates and middleware sees the error", () =>
    Effect.gen(function* () {
      // Pinned to v1: in "auto" mode the probe's pong would run the expiry check before the emit.
      const server = yield* startServer({ authKey: KEY, protocolVersion: 1 })
      const seen: Array<unknown> = []
      yield* server.addMiddleware("emit", (req) => {
        seen.push(req.authTokenExpiredError)
        return req.event === "strict" && req.authTokenExpiredError !== undefined
          ? Effect.fail(req.authTokenExpiredError)
          : Effect.void
      })
      // `exp` in the payload wins over expiresIn: this token is already past its expiry when issued.
      yield* server.handle("login", (_d, socket) => socket.setAuthToken({ user: "dan", exp: nowS() - 1 }))
      yield* server.handle("strict", () => Effect.succeed("should not run"))
      const client = yield* connectClient(server)
      yield* invoke(client, "login")
      assert.strictEqual(client.authState, "authenticated")
      const removed = yield* Effect.forkChild(nextClientEvent(client, "removeAuthToken"), { startImmediately: true })
      const error = (yield* Effect.flip(invoke(client, "strict"))) as Error & { expiry: number }
      assert.strictEqual(error.name, "AuthTokenExpiredError")
      assert.strictEqual(error.message, "The socket auth token has expired")
      assert.strictEqual(typeof error.expiry, "number")
      yield* Fiber.join(removed)
      assert.strictEqual(client.authState, "unauthenticated")
      assert.instanceOf(seen.at(-1), AuthTokenExpiredError)
    })
  )

  it.live("waitForAuth with an expired token: the subscribe fails with the expiry error and skips middleware", () =>
    Effect.gen(function* () {
      const server = yield* startServer({ authKey: KEY })
      let middlewareRuns = 0
      yield* server.addMiddleware("subscribe", () =>
        Effect.sync(() => {
          middlewareRuns++
        })
      )
      yield* server.handle("login", (_d, socket) => socket.setAuthToken({ user: "fay", exp: nowS() - 1 }))
      const raw = yield* rawClient(server)
      raw.send(JSON.stringify({ event: "#handshake", data: {}, cid: 1 }))
      yield* raw.waitFor((f) => f.startsWith('{"rid":1'))
      raw.send(JSON.stringify({ event: "login", cid: 2 }))
      yield* raw.waitFor((f) => f.startsWith('{"rid":2'))
      raw.send(JSON.stringify({ event: "#subscribe", data: { channel: "private", waitForAuth: true }, cid: 3 }))
      const answer = JSON.parse(yield* raw.waitFor((f) => f.startsWith('{"rid":3')))
      assert.strictEqual(answer.error.name, "AuthTokenExpiredError")
      assert.strictEqual(answer.error.message, "The socket auth token has expired")
      assert.strictEqual(middlewareRuns, 0)
      // The expiry check removed the token before answering.
      const removeAt = raw.frames.findIndex((f) => f.includes("#removeAuthToken"))
      const answerAt = raw.frames.findIndex((f) => f.startsWith('{"rid":3'))
      assert.isTrue(removeAt >= 0 && removeAt < answerAt)
      // Without waitForAuth the same socket subscribes (now unauthenticated) through the middleware.
      raw.send(JSON.stringify({ event: "#subscribe", data: { channel: "public" }, cid: 4 }))
      assert.strictEqual(yield* raw.waitFor((f) => f.startsWith('{"rid":4')), '{"rid":4}')
      assert.strictEqual(middlewareRuns, 1)
    })
  )

  it.live("authenticate middleware: a plain rejection keeps the token on the client, a bad-token one removes it", () =>
    Effect.gen(function* () {
      const server = yield* startServer({ authKey: KEY })
      yield* server.addMiddleware("authenticate", (req) => {
        const user = (req.authToken as { user: string }).user
        if (user === "banned") {
          return Effect.fail(
            new MiddlewareRejection({
              error: new ApplicationError({ name: "AuthMwBad", message: "bad token per mw" }),
              isBadToken: true
            })
          )
        }
        if (user === "later")
          return Effect.fail(new ApplicationError({ name: "AuthMwErr", message: "auth mw says no" }))
        return Effect.void
      })
      const client = yield* connectClient(server)
      const authenticate = (token: string) =>
        Effect.callback<readonly [unknown, unknown]>((resume) => {
          client.authenticate(token, (error, status) => resume(Effect.succeed([error, status] as const)))
        })
      const [e1, s1] = yield* authenticate(hs256({ user: "later", exp: nowS() + 60 }))
      assert.isNull(e1)
      const status1 = s1 as { isAuthenticated: boolean; authError: Error }
      assert.isFalse(status1.isAuthenticated)
      assert.strictEqual(status1.authError.name, "AuthMwErr")
      assert.strictEqual(status1.authError.message, "auth mw says no")
      const [e2, s2] = yield* authenticate(hs256({ user: "banned", exp: nowS() + 60 }))
      assert.strictEqual((e2 as Error).name, "AuthMwBad")
      assert.deepStrictEqual((s2 as { isAuthenticated: boolean }).isAuthenticated, false)
      assert.strictEqual(client.authState, "unauthenticated")
      const [e3, s3] = yield* authenticate(hs256({ user: "ok", exp: nowS() + 60 }))
      assert.isNull(e3)
      assert.deepStrictEqual(s3, { isAuthenticated: true, authError: null })
      assert.strictEqual(server.clients.get(client.id!)!.authState, "authenticated")
    })
  )

  it.live("deauthenticate from the server and from the client, with their events", () =>
    Effect.gen(function* () {
      const server = yield* withLogin
      const client = yield* connectClient(server)
      yield* invoke(client, "login", { username: "erin" })
      const socket = server.clients.get(client.id!)!
      const events = yield* recordServerEvents(server)
      const clientSide = yield* Effect.forkChild(nextClientEvent(client, "deauthenticate"), { startImmediately: true })
      yield* socket.deauthenticate
      yield* Fiber.join(clientSide)
      assert.strictEqual(client.authState, "unauthenticated")
      assert.strictEqual(socket.authState, "unauthenticated")
      assert.deepStrictEqual(tags(events), ["AuthenticationStateChange", "Deauthentication"])
      const change = events.find((e) => e._tag === "AuthenticationStateChange")
      assert.deepStrictEqual(change?._tag === "AuthenticationStateChange" ? change.change : undefined, {
        oldState: "authenticated",
        newState: "unauthenticated"
      })
      // Client-initiated: log in again, then client.deauthenticate() sends #removeAuthToken.
      yield* invoke(client, "login", { username: "erin" })
      const deauth = yield* Effect.forkChild(
        Effect.callback<void>((resume) => {
          socket.hub.listen((e) => e._tag === "Deauthenticate" && resume(Effect.void))
        }),
        { startImmediately: true }
      )
      client.deauthenticate()
      yield* Fiber.join(deauth)
      assert.strictEqual(socket.authState, "unauthenticated")
      assert.isNull(socket.authToken)
    })
  )

  it.live("property: any string offered to #authenticate is refused with a typed error; the socket keeps working", () =>
    Effect.gen(function* () {
      const server = yield* startServer({ authKey: KEY })
      yield* server.handle("echo", (d) => Effect.succeed(d))
      const raw = yield* rawClient(server)
      raw.send(JSON.stringify({ event: "#handshake", data: {}, cid: 1 }))
      yield* raw.waitFor((f) => f.startsWith('{"rid":1'))
      const samples = fc.sample(
        fc.oneof(
          fc.string(),
          fc.uint8Array({ maxLength: 64 }).map((b) => Buffer.from(b).toString("latin1")),
          fc.tuple(fc.base64String(), fc.base64String(), fc.base64String()).map((p) => p.join(".")),
          fc.json()
        ),
        { numRuns: 200, seed: 42 }
      )
      let cid = 10
      for (const token of samples) {
        const id = ++cid
        raw.send(JSON.stringify({ event: "#authenticate", data: token, cid: id }))
        const answer = JSON.parse(yield* raw.waitFor((f) => f.includes(`"rid":${id}`)))
        const name: string = answer.error?.name ?? answer.data.authError?.name
        assert.include(
          ["AuthTokenInvalidError", "AuthTokenError", "AuthTokenExpiredError", "AuthTokenNotBeforeError"],
          name
        )
        assert.isFalse(answer.data.isAuthenticated)
      }
      raw.send(JSON.stringify({ event: "echo", data: "alive", cid: 1000 }))
      assert.strictEqual(yield* raw.waitFor((f) => f.includes('"rid":1000')), '{"rid":1000,"data":"alive"}')
    })
  )

  it.live(
    "a custom AuthEngine is told the socket id; with verifyMissingTokens it is asked about a handshake without a token",
    () =>
      Effect.gen(function* () {
        const builtIn = yield* AuthEngine.make({ authKey: KEY })
        const calls: Array<[unknown, unknown]> = []
        const engine: AuthEngine["Service"] = {
          signToken: builtIn.signToken,
          verifyToken: (token, context) => {
            calls.push([token, context?.socketId])
            return token === null ? Effect.succeed({ username: "guest" }) : builtIn.verifyToken(token, context)
          },
          verifyMissingTokens: true
        }
        const server = yield* startServer({ authKey: KEY }, Layer.succeed(AuthEngine)(engine))
        const guest = yield* connectClient(server)
        assert.strictEqual(guest.authState, "authenticated")
        assert.deepStrictEqual(server.clients.get(guest.id ?? "")?.authToken, { username: "guest" })
        const { client, status } = yield* clientWithToken(server, hs256({ username: "alice", exp: nowS() + 60 }))
        assert.isTrue(status.isAuthenticated)
        assert.deepStrictEqual(calls, [
          [null, guest.id],
          [client.getSignedAuthToken(), client.id]
        ])
      })
  )
})
