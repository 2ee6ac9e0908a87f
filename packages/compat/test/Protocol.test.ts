/**
 * behaviours.md — protocol-level cases checked with a raw client, grouped by the spec's
 * sections (the ones the other files do not reach).
 */
import { assert, describe, it } from "vitest"
import type { SCServerSocket } from "../src/index.js"
import {
  collector,
  nowSeconds,
  type RawClient,
  rawClient,
  rawConnected,
  record,
  signJwt,
  startServer,
  until
} from "./helpers.js"

const ask = async (raw: RawClient, packet: Record<string, unknown>, cid: number): Promise<unknown> => {
  raw.send(JSON.stringify({ ...packet, cid }))
  return JSON.parse(await raw.waitFor((f) => f.startsWith(`{"rid":${cid}`)))
}

const rejected = (promise: Promise<unknown>): Promise<string> =>
  promise.then(
    () => "accepted",
    (e: Error) => e.message
  )

describe("Origins", () => {
  it("B13/B15/B16: no Origin is refused with a list; *:8443 matches any host; https defaults to 443", async () => {
    const listed = await startServer({ origins: "example.com:80" })
    assert.strictEqual(await rejected(rawClient(listed)), "HTTP 403")
    assert.strictEqual(await rejected(rawClient(listed, { headers: { Origin: "https://example.com" } })), "HTTP 403")
    const port = await startServer({ origins: "*:8443" })
    assert.strictEqual(await rejected(rawClient(port, { headers: { Origin: "http://bar.com:8443" } })), "accepted")
  })
})

describe("Handshake", () => {
  it("B28: a second #handshake on an open socket gets no answer and changes nothing", async () => {
    const server = await startServer()
    const connections = record(server, ["connection"])
    const raw = await rawConnected(server)
    raw.send(JSON.stringify({ event: "#handshake", data: {}, cid: 7 }))
    assert.deepStrictEqual(await ask(raw, { event: "#subscribe", data: "x" }, 8), { rid: 8 })
    assert.isFalse(raw.frames.some((f) => f.startsWith('{"rid":7')))
    assert.strictEqual(connections.length, 1)
  })

  it("B35: with strictHandshake false an empty first frame does not close the socket", async () => {
    const server = await startServer({ strictHandshake: false })
    const raw = await rawClient(server)
    raw.send(Buffer.alloc(0))
    raw.send(JSON.stringify({ event: "#handshake", data: {}, cid: 1 }))
    await raw.waitFor((f) => f.startsWith('{"rid":1'))
    assert.strictEqual(raw.ws.readyState, 1)
  })
})

describe("Authentication", () => {
  it("B55/B57: #authenticate with an expired token is an error answer after #removeAuthToken; nbf gives success form", async () => {
    const server = await startServer()
    const raw = await rawConnected(server)
    const expired = (await ask(
      raw,
      { event: "#authenticate", data: signJwt({ a: 1, iat: nowSeconds() - 100, exp: nowSeconds() - 10 }) },
      2
    )) as { error: { name: string }; data: { isAuthenticated: boolean; authError: { name: string } } }
    assert.strictEqual(expired.error.name, "AuthTokenExpiredError")
    assert.deepStrictEqual(
      [expired.data.isAuthenticated, expired.data.authError.name],
      [false, "AuthTokenExpiredError"]
    )
    const remove = raw.frames.findIndex((f) => f.includes("#removeAuthToken"))
    assert.isAtLeast(remove, 0)
    assert.isBelow(
      remove,
      raw.frames.findIndex((f) => f.startsWith('{"rid":2'))
    )
    const nbf = (await ask(
      raw,
      { event: "#authenticate", data: signJwt({ a: 1, iat: nowSeconds(), nbf: nowSeconds() + 100 }) },
      3
    )) as { error?: unknown; data: { isAuthenticated: boolean; authError: { name: string } } }
    assert.isUndefined(nbf.error)
    assert.deepStrictEqual([nbf.data.isAuthenticated, nbf.data.authError.name], [false, "AuthTokenNotBeforeError"])
  })

  it("B58: a token blocked (not bad) by authenticate middleware answers success form with the error", async () => {
    const server = await startServer()
    server.addMiddleware("authenticate", (_req, next) =>
      next(Object.assign(new Error("nope"), { name: "BlockedError" }))
    )
    const raw = await rawConnected(server)
    const answer = (await ask(raw, { event: "#authenticate", data: signJwt({ a: 1 }) }, 2)) as {
      error?: unknown
      data: { isAuthenticated: boolean; authError: { name: string } }
    }
    assert.isUndefined(answer.error)
    assert.deepStrictEqual([answer.data.isAuthenticated, answer.data.authError.name], [false, "BlockedError"])
  })

  it("B62/B63: #removeAuthToken is never answered; on an unauthenticated socket it fires deauthenticate(null) only", async () => {
    const server = await startServer()
    const sockets = collector<SCServerSocket>()
    server.on("connection", sockets.push)
    const raw = await rawConnected(server)
    const [socket] = await sockets.waitFor(1)
    const log = collector<Array<unknown>>()
    socket?.on("deauthenticate", (t) => log.push(["deauthenticate", t]))
    socket?.on("authStateChange", (c) => log.push(["authStateChange", c]))
    raw.send(JSON.stringify({ event: "#removeAuthToken", cid: 5 }))
    assert.deepStrictEqual(await log.waitFor(1), [["deauthenticate", null]])
    await ask(raw, { event: "#subscribe", data: "x" }, 6)
    assert.isFalse(raw.frames.some((f) => f.startsWith('{"rid":5')))
    assert.strictEqual(log.items.length, 1)
  })

  it("B69/B80: authVerifyAsync false still verifies; HS512 tokens are issued and HS256 ones refused", async () => {
    const server = await startServer({ protocolVersion: 1, authAlgorithm: "HS512", authVerifyAsync: false })
    server.on("connection", (s: SCServerSocket) =>
      s.on("login", (_d, respond) => {
        s.setAuthToken({ username: "bob" })
        respond()
      })
    )
    const raw = await rawConnected(server)
    await ask(raw, { event: "login" }, 2)
    const frame = JSON.parse(raw.frames.find((f) => f.includes("#setAuthToken")) ?? "null")
    const token = String(frame.data.token)
    assert.strictEqual(JSON.parse(Buffer.from(token.split(".")[0] ?? "", "base64url").toString()).alg, "HS512")
    const again = await rawConnected(server, token)
    assert.strictEqual(
      JSON.parse(again.frames.find((f) => f.startsWith('{"rid":1')) ?? "null").data.isAuthenticated,
      true
    )
    const hs256 = await rawConnected(server, signJwt({ a: 1 }))
    const status = JSON.parse(hs256.frames.find((f) => f.startsWith('{"rid":1')) ?? "null").data
    assert.deepStrictEqual(status.authError, { name: "AuthTokenInvalidError", message: "invalid algorithm" })
  })

  it("B86/B88/B89: an expired token blocks via next(req.authTokenExpiredError); waitForAuth subscribes fail without middleware", async () => {
    const server = await startServer()
    const subscribeMw = collector<unknown>()
    server.addMiddleware("emit", (req, next) => next(req.authTokenExpiredError))
    server.addMiddleware("subscribe", (req, next) => {
      subscribeMw.push([req.channel, (req.authTokenExpiredError as Error | undefined)?.name])
      next()
    })
    const warnings = collector<Error>()
    server.on("warning", (w: Error) => warnings.push(w))
    const sockets = collector<SCServerSocket>()
    server.on("connection", sockets.push)
    const raw = await rawConnected(server)
    const [socket] = await sockets.waitFor(1)
    const expiredPayload = () => ({ username: "bob", exp: nowSeconds() - 1 })
    socket?.setAuthToken(expiredPayload())
    const emitted = (await ask(raw, { event: "anything" }, 2)) as { error: Record<string, unknown> }
    assert.deepStrictEqual(
      { ...emitted.error, expiry: typeof emitted.error.expiry },
      { message: "The socket auth token has expired", name: "AuthTokenExpiredError", expiry: "number" }
    )
    socket?.setAuthToken(expiredPayload())
    const before = warnings.items.length
    const waiting = (await ask(raw, { event: "#subscribe", data: { channel: "w", waitForAuth: true } }, 3)) as {
      error: { name: string }
    }
    assert.strictEqual(waiting.error.name, "AuthTokenExpiredError")
    assert.strictEqual(subscribeMw.items.length, 0)
    assert.strictEqual(warnings.items.length, before)
    socket?.setAuthToken(expiredPayload())
    assert.deepStrictEqual(await ask(raw, { event: "#subscribe", data: { channel: "n" } }, 4), { rid: 4 })
    assert.deepStrictEqual(subscribeMw.items, [["n", "AuthTokenExpiredError"]])
  })

  it("B87: with an expired token the next #2 pong sends #removeAuthToken and deauthenticates", async () => {
    const server = await startServer()
    const sockets = collector<SCServerSocket>()
    server.on("connection", sockets.push)
    const raw = await rawConnected(server)
    const [socket] = await sockets.waitFor(1)
    socket?.setAuthToken({ username: "bob", exp: nowSeconds() - 1 })
    const deauth = record(server, ["deauthentication"])
    raw.send("#2")
    await raw.waitFor((f) => f.includes("#removeAuthToken"))
    assert.strictEqual(deauth.length, 1)
    assert.strictEqual(socket?.authState, "unauthenticated")
  })
})

describe("Disconnection and close codes", () => {
  it("B181: a raw #disconnect with 4444 makes the server close the WebSocket with 4444", async () => {
    const server = await startServer()
    const events = record(server, ["disconnection"])
    const raw = await rawConnected(server)
    raw.send(JSON.stringify({ event: "#disconnect", data: { code: 4444, data: "x" } }))
    assert.strictEqual((await raw.closed).code, 4444)
    await until(server, "closure", () => events.length === 1)
    assert.deepStrictEqual(events[0]?.slice(2), [4444, "x"])
  })
})

describe("Ping / pong", () => {
  it("B193/B194: with pingTimeoutDisabled no #1 is sent and a silent client stays", async () => {
    const server = await startServer({ pingTimeoutDisabled: true, pingInterval: 50, pingTimeout: 100 })
    server.on("connection", (s: SCServerSocket) => s.on("echo", (d, respond) => respond(null, d)))
    const raw = await rawConnected(server)
    const probe = await rawConnected(server)
    // The probe pings itself: if the server pinged anyone, the probe would see #1 too.
    const other = await startServer({ pingInterval: 50, pingTimeout: 5000 })
    const pinged = await rawConnected(other)
    for (let i = 0; i < 5; i++)
      await pinged.waitFor((f) => f === "#1" && pinged.frames.filter((x) => x === "#1").length > i)
    assert.isFalse(raw.frames.includes("#1"))
    assert.isFalse(probe.frames.includes("#1"))
    assert.deepStrictEqual(await ask(raw, { event: "echo", data: "still here" }, 2), { rid: 2, data: "still here" })
  })

  it("B195: any inbound message postpones the pong timeout", async () => {
    const server = await startServer({ pingInterval: 290, pingTimeout: 300 })
    server.on("connection", (s: SCServerSocket) => s.on("echo", (d, respond) => respond(null, d)))
    const raw = await rawConnected(server)
    for (let i = 2; i < 12; i++) {
      // Each answer arrives before the next request: ~10 round trips spaced by 60 ms each outlast 300 ms.
      await new Promise<void>((resolve) => setTimeout(resolve, 60))
      assert.deepStrictEqual(await ask(raw, { event: "echo", data: i }, i), { rid: i, data: i })
    }
    assert.strictEqual(raw.ws.readyState, 1)
  })
})
