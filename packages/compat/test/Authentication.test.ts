/**
 * behaviours.md — "Authentication", through the compat API.
 */
import { generateKeyPairSync } from "node:crypto"
import { assert, describe, it } from "vitest"
import { listen, type SCServer, SCServerSocket, type V14AuthEngine } from "../src/index.js"
import {
  AUTH_KEY,
  connectClient,
  createClient,
  invoke,
  nowSeconds,
  once,
  rawClient,
  rawConnected,
  record,
  signJwt,
  startServer,
  until
} from "./helpers.js"

/** The classic v14 login handler: `setAuthToken` then `respond()` (the token frame goes first). */
const issueTokenOnLogin = (server: SCServer): void => {
  server.on("connection", (socket: SCServerSocket) =>
    socket.on("login", (_d, respond) => {
      socket.setAuthToken({ username: "bob" })
      respond()
    })
  )
}

type Status = { isAuthenticated: boolean; authError?: { name: string; message: string } }

const connectWithToken = async (server: Parameters<typeof createClient>[0], token: unknown) => {
  const raw = await rawConnected(server as Parameters<typeof rawConnected>[0], token)
  const answer = JSON.parse(raw.frames.find((f) => f.startsWith('{"rid":1')) ?? "null") as { data: Status }
  return { raw, status: answer.data }
}

describe("Authentication", () => {
  it("B37: no token: no authError, no badSocketAuthToken, no #removeAuthToken, no authenticate middleware", async () => {
    const server = await startServer()
    let authenticateRuns = 0
    server.addMiddleware("authenticate", (_req, next) => {
      authenticateRuns++
      next()
    })
    const events = record(server, ["badSocketAuthToken"])
    const { raw, status } = await connectWithToken(server, null)
    assert.deepStrictEqual(status.authError, undefined)
    assert.strictEqual(events.length, 0)
    assert.isFalse(raw.frames.some((f) => f.includes("#removeAuthToken")))
    assert.strictEqual(authenticateRuns, 0)
  })

  it("B38/B48: a valid token authenticates the handshake and runs authenticate middleware once", async () => {
    const server = await startServer()
    const token = signJwt({ username: "bob", iat: nowSeconds(), exp: nowSeconds() + 100 })
    const mwRuns: Array<unknown> = []
    server.addMiddleware("authenticate", (req, next) => {
      mwRuns.push([req.socket.id, (req.authToken as { username: string }).username])
      next()
    })
    const connection = new Promise<[string, unknown]>((resolve) =>
      server.on("connection", (socket: SCServerSocket) =>
        resolve([socket.authState, (socket.authToken as { username: string }).username])
      )
    )
    const { status } = await connectWithToken(server, token)
    assert.strictEqual(status.isAuthenticated, true)
    assert.isUndefined(status.authError)
    assert.deepStrictEqual(await connection, ["authenticated", "bob"])
    assert.strictEqual(mwRuns.length, 1)
  })

  it("B40/B41/B42: an expired token: authError, badSocketAuthToken, warning, deauthentication(null), #removeAuthToken first", async () => {
    const server = await startServer()
    const token = signJwt({ username: "bob", iat: nowSeconds() - 100, exp: nowSeconds() - 10 })
    const events = record(server, ["badSocketAuthToken", "deauthentication", "warning"])
    const { raw, status } = await connectWithToken(server, token)
    assert.strictEqual(status.isAuthenticated, false)
    assert.strictEqual(status.authError?.name, "AuthTokenExpiredError")
    assert.strictEqual(status.authError?.message, "jwt expired")
    assert.isString(Reflect.get(status.authError ?? {}, "expiry"))
    const bad = events.find(([e]) => e === "badSocketAuthToken")
    assert.strictEqual((bad?.[2] as { signedAuthToken: string } | undefined)?.signedAuthToken, token)
    assert.strictEqual((bad?.[2] as { authError: Error } | undefined)?.authError?.name, "AuthTokenExpiredError")
    const deauth = events.find(([e]) => e === "deauthentication")
    assert.strictEqual(deauth?.[2], null)
    assert.isTrue(events.some(([e, err]) => e === "warning" && (err as Error).name === "AuthTokenExpiredError"))
    const remove = raw.frames.findIndex((f) => f.includes("#removeAuthToken"))
    const answer = raw.frames.findIndex((f) => f.startsWith('{"rid":1'))
    assert.isAtLeast(remove, 0)
    assert.isBelow(remove, answer)
  })

  it("B43/B45/B46: foreign-key, malformed and numeric tokens give the v14 errors", async () => {
    const server = await startServer({ protocolVersion: 1 })
    const foreign = await connectWithToken(server, signJwt({ a: 1 }, "another-key-another-key-another-key"))
    assert.deepStrictEqual(foreign.status.authError, { name: "AuthTokenInvalidError", message: "invalid signature" })
    const malformed = await connectWithToken(server, "hello")
    assert.deepStrictEqual(malformed.status.authError, { name: "AuthTokenInvalidError", message: "jwt malformed" })
    const numeric = await connectWithToken(server, 123)
    assert.deepStrictEqual(numeric.status.authError, {
      name: "AuthTokenError",
      message: "Invalid token format - Token must be a string"
    })
  })

  it("B44: after signatureKey/verificationKey are reassigned, a stored token is rejected", async () => {
    const server = await startServer()
    issueTokenOnLogin(server)
    const client = await connectClient(server)
    await invoke(client, "login")
    server.signatureKey = "a-completely-different-key-0123456789abcdef"
    server.verificationKey = "a-completely-different-key-0123456789abcdef"
    client.disconnect()
    const reconnected = once(client, "connect")
    client.connect()
    const [status] = (await reconnected) as [Status]
    assert.strictEqual(status.isAuthenticated, false)
    assert.strictEqual(status.authError?.name, "AuthTokenInvalidError")
  })

  it("B39/B47: login then reconnect stays authenticated; an nbf-future token is not bad", async () => {
    const server = await startServer()
    const events = record(server, ["badSocketAuthToken"])
    const nbf = await connectWithToken(server, signJwt({ a: 1, iat: nowSeconds(), nbf: nowSeconds() + 100 }))
    assert.strictEqual(nbf.status.authError?.name, "AuthTokenNotBeforeError")
    assert.isString(Reflect.get(nbf.status.authError ?? {}, "date"))
    assert.isFalse(nbf.raw.frames.some((f) => f.includes("#removeAuthToken")))
    assert.strictEqual(events.length, 0)
  })

  it("B49/B50: authenticate middleware errors; next(err, true) marks the token bad", async () => {
    const server = await startServer()
    server.addMiddleware("authenticate", (req, next) => {
      const error = new Error("not allowed")
      error.name = "AuthenticateMiddlewareError"
      next(error, (req.authToken as { bad?: boolean }).bad === true)
    })
    const events = record(server, ["badSocketAuthToken"])
    const soft = await connectWithToken(server, signJwt({ bad: false }))
    assert.strictEqual(soft.status.isAuthenticated, false)
    assert.strictEqual(soft.status.authError?.name, "AuthenticateMiddlewareError")
    assert.isFalse(soft.raw.frames.some((f) => f.includes("#removeAuthToken")))
    assert.strictEqual(events.length, 0)
    const hard = await connectWithToken(server, signJwt({ bad: true }))
    assert.strictEqual(hard.status.authError?.name, "AuthenticateMiddlewareError")
    assert.isTrue(hard.raw.frames.some((f) => f.includes("#removeAuthToken")))
    assert.strictEqual(events.length, 1)
  })

  it("B51/B64/B76: setAuthToken skips authenticate middleware, fires authenticate and authTokenSigned", async () => {
    const server = await startServer()
    let mwRuns = 0
    server.addMiddleware("authenticate", (_req, next) => {
      mwRuns++
      next()
    })
    const serverEvents = record(server, ["authentication", "authenticationStateChange", "deauthentication"])
    const socketEvents = new Promise<[SCServerSocket, Array<[string, unknown]>]>((resolve) =>
      server.on("connection", (socket: SCServerSocket) => {
        const log: Array<[string, unknown]> = []
        socket.on("authenticate", (t) => log.push(["authenticate", t]))
        socket.on("authTokenSigned", (t) => log.push(["authTokenSigned", t]))
        socket.on("login", (data, respond) => {
          socket.setAuthToken(data)
          respond()
        })
        resolve([socket, log])
      })
    )
    const bob = signJwt({ username: "bob", iat: nowSeconds(), exp: nowSeconds() + 100 })
    const client = await connectClient(server, { authTokenName: `t-${Math.random()}` })
    client.authenticate(bob)
    await once(client, "authenticate")
    await invoke(client, "login", { username: "alice" })
    const [socket, log] = await socketEvents
    assert.strictEqual(mwRuns, 1)
    assert.deepStrictEqual(
      serverEvents.filter(([e]) => e === "authentication").map(([, , t]) => (t as { username: string }).username),
      ["bob", "alice"]
    )
    const changes = serverEvents.filter(([e]) => e === "authenticationStateChange")
    assert.strictEqual(changes.length, 1)
    assert.strictEqual((changes[0]?.[2] as { authToken: { username: string } } | undefined)?.authToken?.username, "bob")
    assert.strictEqual(serverEvents.filter(([e]) => e === "deauthentication").length, 0)
    const signed = log.find(([e]) => e === "authTokenSigned")
    assert.strictEqual(signed?.[1], socket.signedAuthToken)
  })

  it("B52/B53/B54: #authenticate answers and its events", async () => {
    const server = await startServer()
    const events = record(server, ["authenticationStateChange", "authentication"])
    const raw = await rawConnected(server)
    const token = signJwt({ username: "bob", iat: nowSeconds(), exp: nowSeconds() + 100 })
    raw.send(JSON.stringify({ event: "#authenticate", data: token, cid: 2 }))
    assert.deepStrictEqual(JSON.parse(await raw.waitFor((f) => f.startsWith('{"rid":2'))), {
      rid: 2,
      data: { isAuthenticated: true, authError: null }
    })
    raw.send(JSON.stringify({ event: "#authenticate", data: token, cid: 3 }))
    await raw.waitFor((f) => f.startsWith('{"rid":3'))
    assert.deepStrictEqual(
      events.map(([e]) => e),
      ["authenticationStateChange", "authentication", "authentication"]
    )
    assert.deepStrictEqual(
      { ...(events[0]?.[2] as object), authToken: undefined },
      {
        oldState: "unauthenticated",
        newState: "authenticated",
        authToken: undefined
      }
    )
  })

  it("B56/B59: #authenticate without data; the client's authenticate(invalid) fails", async () => {
    const server = await startServer()
    const raw = await rawConnected(server)
    raw.send(JSON.stringify({ event: "#authenticate", cid: 2 }))
    const answer = JSON.parse(await raw.waitFor((f) => f.startsWith('{"rid":2')))
    assert.strictEqual(answer.error.name, "AuthTokenInvalidError")
    assert.strictEqual(answer.error.message, "jwt must be provided")
    const client = await connectClient(server)
    const error = await new Promise((resolve) => client.authenticate("abc.def.ghi", (err) => resolve(err)))
    assert.strictEqual((error as Error).name, "AuthTokenInvalidError")
    assert.strictEqual(client.authState, "unauthenticated")
  })

  it("B60/B61/B63: client deauthenticate fires authStateChange then deauthenticate (socket and server)", async () => {
    const server = await startServer()
    const serverEvents = record(server, ["authenticationStateChange", "deauthentication"])
    const socketLog: Array<[string, unknown]> = []
    server.on("connection", (socket: SCServerSocket) => {
      socket.on("authStateChange", (c) => socketLog.push(["authStateChange", c]))
      socket.on("deauthenticate", (t) => socketLog.push(["deauthenticate", t]))
      socket.on("login", (_d, respond) => {
        socket.setAuthToken({ username: "bob" })
        respond()
      })
    })
    const client = await connectClient(server)
    await invoke(client, "login")
    socketLog.length = 0
    serverEvents.length = 0
    const deauthenticated = new Promise((resolve) => server.once("deauthentication", resolve))
    client.deauthenticate()
    await deauthenticated
    assert.deepStrictEqual(
      socketLog.map(([e]) => e),
      ["authStateChange", "deauthenticate"]
    )
    assert.deepStrictEqual(socketLog[0]?.[1], { oldState: "authenticated", newState: "unauthenticated" })
    assert.strictEqual((socketLog[1]?.[1] as { username: string } | undefined)?.username, "bob")
    assert.deepStrictEqual(
      serverEvents.map(([e]) => e),
      ["authenticationStateChange", "deauthentication"]
    )
  })

  it("B65/B66/B67: setAuthToken sends #setAuthToken without cid, sets iat/exp synchronously, before the ack", async () => {
    const server = await startServer()
    const sync = new Promise<[string, number, number]>((resolve) =>
      server.on("connection", (socket: SCServerSocket) =>
        socket.on("login", (_d, respond) => {
          socket.setAuthToken({ username: "bob" })
          respond()
          setImmediate(() => {
            const signed = socket.authToken as { iat: number; exp: number }
            resolve([socket.authState, signed.iat, signed.exp])
          })
        })
      )
    )
    const raw = await rawConnected(server)
    raw.send(JSON.stringify({ event: "login", cid: 2 }))
    await raw.waitFor((f) => f.startsWith('{"rid":2'))
    const setIndex = raw.frames.findIndex((f) => f.includes("#setAuthToken"))
    const ackIndex = raw.frames.findIndex((f) => f.startsWith('{"rid":2'))
    assert.isBelow(setIndex, ackIndex)
    const frame = JSON.parse(raw.frames[setIndex] ?? "null")
    assert.isUndefined(frame.cid)
    assert.isString(frame.data.token)
    const [state, iat, exp] = await sync
    assert.strictEqual(state, "authenticated")
    assert.strictEqual(exp, iat + 86400)
  })

  it("B68: with authSignAsync the client still gets the token", async () => {
    const server = await startServer({ authSignAsync: true })
    issueTokenOnLogin(server)
    const client = await connectClient(server)
    const authenticated = once(client, "authenticate")
    await invoke(client, "login")
    await authenticated
    assert.strictEqual(client.authToken?.username, "bob")
  })

  it("B70/B71: expiresIn option and a payload exp are honoured", async () => {
    const server = await startServer()
    const tokens = new Promise<Array<{ exp: number }>>((resolve) =>
      server.on("connection", (socket: SCServerSocket) =>
        socket.on("login", (_d, respond) => {
          const out: Array<{ exp: number }> = []
          socket.once("authTokenSigned", () => {
            out.push(socket.authToken as { exp: number })
            socket.once("authTokenSigned", () => {
              out.push(socket.authToken as { exp: number })
              resolve(out)
            })
            socket.setAuthToken({ exp: nowSeconds() + 10 * 86400 }, { expiresIn: 1000 * 86400 })
          })
          socket.setAuthToken({ username: "bob" }, { expiresIn: 864000 })
          respond()
        })
      )
    )
    const client = await connectClient(server)
    await invoke(client, "login")
    const [withExpiresIn, withExp] = await tokens
    assert.approximately(withExpiresIn?.exp ?? 0, nowSeconds() + 864000, 1)
    assert.approximately(withExp?.exp ?? 0, nowSeconds() + 864000, 1)
  })

  it("B73: a setAuthToken sign failure closes the socket with 4002 and warns", async () => {
    const server = await startServer()
    server.on("connection", (socket: SCServerSocket) =>
      socket.on("login", () => socket.setAuthToken({ iss: "foo" }, { issuer: "bar" }))
    )
    const warnings: Array<Error> = []
    server.on("warning", (w: Error) => warnings.push(w))
    const client = await connectClient(server)
    const disconnected = once(client, "disconnect")
    client.emit("login", null)
    const [code] = await disconnected
    assert.strictEqual(code, 4002)
    assert.isTrue(warnings.some((w) => w.name === "SocketProtocolError"))
    assert.strictEqual(client.authState, "unauthenticated")
  })

  it("B75: an algorithm option emits InvalidArgumentsError on the socket and still signs", async () => {
    const server = await startServer()
    const errors = new Promise<Error>((resolve) =>
      server.on("connection", (socket: SCServerSocket) => {
        socket.on("error", (e: Error) => resolve(e))
        socket.on("login", (_d, respond) => {
          socket.setAuthToken({ username: "bob" }, { algorithm: "HS512" })
          respond()
        })
      })
    )
    const client = await connectClient(server)
    const authenticated = once(client, "authenticate")
    await invoke(client, "login")
    assert.strictEqual((await errors).name, "InvalidArgumentsError")
    await authenticated
    const header = JSON.parse(Buffer.from(client.getSignedAuthToken()?.split(".")[0] ?? "", "base64url").toString())
    assert.strictEqual(header.alg, "HS256")
  })

  it("B77/B79: setAuthToken(data, {}, cb) and deauthenticate(cb) call back after the client's answer", async () => {
    const server = await startServer()
    const results = new Promise<Array<unknown>>((resolve) =>
      server.on("connection", (socket: SCServerSocket) =>
        socket.setAuthToken({ username: "bob" }, {}, (setError) =>
          socket.deauthenticate((deauthError) => resolve([setError, deauthError, socket.authState]))
        )
      )
    )
    const client = await connectClient(server)
    assert.deepStrictEqual(await results, [null, null, "unauthenticated"])
    assert.strictEqual(client.authState, "unauthenticated")
    assert.isNull(client.getSignedAuthToken())
  })

  it("B81: RSA keys with RS256 issue tokens that authenticate the next handshake", async () => {
    const { privateKey, publicKey } = generateKeyPairSync("rsa", {
      modulusLength: 2048,
      privateKeyEncoding: { type: "pkcs8", format: "pem" },
      publicKeyEncoding: { type: "spki", format: "pem" }
    })
    const server = await startServer({ authPrivateKey: privateKey, authPublicKey: publicKey, authAlgorithm: "RS256" })
    issueTokenOnLogin(server)
    const client = await connectClient(server)
    await invoke(client, "login")
    client.disconnect()
    const reconnected = once(client, "connect")
    client.connect()
    const [status] = (await reconnected) as [Status]
    assert.strictEqual(status.isAuthenticated, true)
  })

  it("B82: only authPrivateKey throws InvalidOptionsError from the constructor", () => {
    assert.throws(() => listen(0, { authPrivateKey: "x" }), /authPublicKey option must be specified/)
  })

  it("B83: two servers without authKey reject each other's tokens; the options show the generated key", async () => {
    const a = await startServer({ authKey: undefined })
    const b = await startServer({ authKey: undefined })
    assert.match(String(a.options.authKey), /^[0-9a-f]{64}$/)
    assert.notStrictEqual(a.options.authKey, b.options.authKey)
    issueTokenOnLogin(a)
    const client = await connectClient(a)
    await invoke(client, "login")
    const token = client.getSignedAuthToken()
    const { status } = await connectWithToken(b, token)
    assert.strictEqual(status.authError?.name, "AuthTokenInvalidError")
  })

  it("B84/B85/B86: an expired token on activity: #removeAuthToken, deauthentication, authTokenExpiredError in emit middleware", async () => {
    const server = await startServer()
    const seen: Array<unknown> = []
    server.addMiddleware("emit", (req, next) => {
      const expired = req.authTokenExpiredError as { name: string; message: string; expiry: number } | undefined
      seen.push(expired === undefined ? undefined : [expired.name, expired.message, typeof expired.expiry])
      if (req.event === "blocked") return next(req.authTokenExpiredError)
      next()
    })
    const deauth = record(server, ["deauthentication"])
    server.on("connection", (socket: SCServerSocket) => {
      socket.on("login", (_d, respond) => {
        // A token that is already past its exp: the next client action finds it expired.
        socket.setAuthToken({ username: "bob", exp: nowSeconds() - 1 })
        respond()
      })
      socket.on("check", (_d, respond) => respond(null, socket.authState))
    })
    const raw = await rawConnected(server)
    raw.send(JSON.stringify({ event: "login", cid: 2 }))
    await raw.waitFor((f) => f.startsWith('{"rid":2'))
    raw.send(JSON.stringify({ event: "check", cid: 3 }))
    assert.deepStrictEqual(JSON.parse(await raw.waitFor((f) => f.startsWith('{"rid":3'))), {
      rid: 3,
      data: "unauthenticated"
    })
    assert.isTrue(raw.frames.some((f) => f.includes("#removeAuthToken")))
    assert.strictEqual(deauth.length, 1)
    assert.deepStrictEqual(seen[1], ["AuthTokenExpiredError", "The socket auth token has expired", "number"])
  })

  it("B90: setAuthToken inside handshakeSC middleware makes the handshake authenticated", async () => {
    const server = await startServer()
    server.addMiddleware("handshakeSC", (req, next) => {
      req.socket.setAuthToken({ username: "alice" })
      next()
    })
    const client = createClient(server)
    const [status] = (await once(client, "connect")) as [Status]
    assert.strictEqual(status.isAuthenticated, true)
    assert.strictEqual(server.clients[client.id ?? ""]?.authState, "authenticated")
  })

  it("B33: setAuthEngine with a v14 engine: verifyToken gets the token (null without one), the key and options.socket; signToken is used", async () => {
    const server = await startServer({ protocolVersion: 1 })
    const calls: Array<[string, unknown, unknown]> = []
    const verifySockets: Array<unknown> = []
    const engine: V14AuthEngine = {
      signToken: (payload, key, options, callback) => {
        calls.push(["sign", key, options.mutatePayload])
        callback(null, `custom.${Buffer.from(JSON.stringify(payload)).toString("base64url")}`)
      },
      verifyToken: (token, key, options, callback) => {
        calls.push(["verify", key, token])
        verifySockets.push(options.socket)
        const text = String(token)
        if (!text.startsWith("custom.")) return callback({ name: "JsonWebTokenError", message: "not custom" })
        callback(null, JSON.parse(Buffer.from(text.slice(7), "base64url").toString()))
      }
    }
    server.setAuthEngine(engine)
    issueTokenOnLogin(server)
    const handshakes: Array<SCServerSocket> = []
    server.on("handshake", (socket: SCServerSocket) => handshakes.push(socket))
    const client = await connectClient(server)
    await invoke(client, "login")
    const token = client.getSignedAuthToken()
    assert.match(String(token), /^custom\./)
    client.disconnect()
    const reconnected = once(client, "connect")
    client.connect()
    const [status] = (await reconnected) as [Status]
    assert.strictEqual(status.isAuthenticated, true)
    assert.deepStrictEqual(calls, [
      ["verify", AUTH_KEY, null],
      ["sign", AUTH_KEY, true],
      ["verify", AUTH_KEY, token]
    ])
    assert.strictEqual(verifySockets.length, 2)
    assert.strictEqual(verifySockets[0], handshakes[0])
    assert.strictEqual(verifySockets[1], handshakes[1])
    assert.instanceOf(verifySockets[1], SCServerSocket)
    const { status: bad } = await connectWithToken(server, "nope")
    assert.deepStrictEqual(bad.authError, { name: "AuthTokenInvalidError", message: "not custom" })
  })

  it("B32: the client leaves while a custom verifyToken is pending: no connection, connectionAbort, counts back to 0", async () => {
    const server = await startServer()
    let release: () => void = () => {}
    const verifying = new Promise<void>((resolve) => {
      server.setAuthEngine({
        signToken: (_payload, _key, _options, callback) => callback(null, "unused"),
        verifyToken: (token, _key, _options, callback) => {
          // v14 also asks about a missing token (the marker socket below has none).
          if (token === null) return callback(null, null)
          resolve()
          release = () => callback(null, { username: "late" })
        }
      })
    })
    const events = record(server, ["connection", "connectionAbort"])
    const raw = await rawClient(server)
    raw.send(JSON.stringify({ event: "#handshake", data: { authToken: "slow.token.here" }, cid: 1 }))
    await verifying
    const aborted = once(server, "connectionAbort")
    raw.ws.terminate()
    await aborted
    release()
    // A marker round trip on a second socket proves the late verification result was processed.
    const marker = await rawConnected(server)
    marker.ws.terminate()
    await until(server, "closure", () => server.clientsCount === 0 && server.pendingClientsCount === 0)
    // The aborted socket never got a `connection`; the only one is the marker's.
    assert.deepStrictEqual(
      events.map(([name]) => name),
      ["connectionAbort", "connection"]
    )
    assert.deepStrictEqual(server.pendingClients, {})
    assert.strictEqual(server.clientsCount, 0)
  })

  it("B74: setAuthToken with an unknown signing option closes the socket with 4002", async () => {
    const server = await startServer()
    server.on("connection", (socket: SCServerSocket) =>
      socket.on("login", () => {
        socket.setAuthToken({ username: "x" }, { foo: 1 } as never)
      })
    )
    const client = await connectClient(server)
    const closed = once(client, "disconnect")
    client.emit("login", {})
    const [code] = await closed
    assert.strictEqual(code, 4002)
  })
})
