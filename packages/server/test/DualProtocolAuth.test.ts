/**
 * Authentication with the five real clients on one "auto" server (spec protocol-v2.md
 * V2-25..V2-33): setAuthToken, reconnecting with the stored token, deauthentication from
 * either side, and bad, valid, expired and not-yet-valid tokens.
 */
import { createHmac } from "node:crypto"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { startServer } from "./helpers.js"
import {
  type AnyClient,
  type ClientName,
  clientNames,
  connectAll,
  makeClient,
  until,
  watchSockets
} from "./protocolClients.js"

const KEY = "test-key-0123456789abcdef0123456789abcdef"
const options = { pingInterval: 500, pingTimeout: 1500, authKey: KEY } as const

const b64 = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString("base64url")
const jwt = (payload: Record<string, unknown>): string => {
  const input = `${b64({ alg: "HS256", typ: "JWT" })}.${b64(payload)}`
  return `${input}.${createHmac("sha256", KEY).update(input).digest("base64url")}`
}
const nowS = (): number => Math.floor(Date.now() / 1000)

/** 14.3.2's `authenticate` callback gets an error and a status; the v2 promise one or the other. */
const authenticate = (client: AnyClient, token: string) =>
  Effect.promise(
    () =>
      new Promise<{ readonly error: Error | null; readonly status: Record<string, unknown> | undefined }>((resolve) => {
        if (client.protocol === 1) {
          const s = client.socket as unknown as {
            authenticate(t: string, cb: (e: Error | null, s: Record<string, unknown>) => void): void
          }
          s.authenticate(token, (error, status) => resolve({ error, status }))
        } else {
          client.authenticate(token).then(
            (status) => resolve({ error: null, status: status as Record<string, unknown> }),
            (error: Error) => resolve({ error, status: undefined })
          )
        }
      })
  )

describe("dual protocol: authentication", () => {
  it.live(
    "V2-25..V2-28: login, reconnect with the stored token, deauthenticate from the client and from the server",
    () =>
      Effect.gen(function* () {
        const server = yield* startServer(options)
        const watch = yield* watchSockets(server)
        yield* server.handle("login", (data, socket) =>
          socket.setAuthToken({ username: data }).pipe(Effect.as("welcome"))
        )
        const clients = (yield* connectAll(server.sourcePort!)).map(({ client }) => client)
        for (const client of clients) {
          // Detected at the first tick, where the other protocol's ping came as `raw`.
          assert.strictEqual(yield* Effect.promise(() => watch.of(client.socket.id).version), client.protocol)
          assert.strictEqual(client.raw.length, 1, client.name)
          // V2-25: authenticated as soon as the answer is in.
          assert.strictEqual(yield* Effect.promise(() => client.invoke("login", client.name)), "welcome")
          assert.strictEqual(client.socket.authState, "authenticated", client.name)
          assert.strictEqual(client.socket.authToken?.username, client.name, client.name)
          // V2-26: a new connection with the stored token, detected again.
          client.socket.disconnect()
          const reconnected = client.next("connect")
          client.socket.connect()
          const status = (yield* Effect.promise(() => reconnected)) as Record<string, unknown>
          assert.strictEqual(status.isAuthenticated, true, client.name)
          const w = watch.of(client.socket.id)
          assert.strictEqual((w.socket.authToken as { username: string }).username, client.name)
          assert.strictEqual(yield* Effect.promise(() => w.version), client.protocol, client.name)
          // The new connection's first tick: one more `raw`.
          yield* Effect.promise(() => until(() => client.raw.length === 2))
          // V2-27: the client drops its token; the server hears #removeAuthToken.
          const serverSide = new Promise<void>((resolve) =>
            w.socket.hub.listen((e) => e._tag === "Deauthenticate" && resolve())
          )
          yield* Effect.promise(() => client.deauthenticate())
          yield* Effect.promise(() => serverSide)
          assert.strictEqual(w.socket.authState, "unauthenticated", client.name)
          assert.strictEqual(client.socket.authState, "unauthenticated", client.name)
          // V2-28: the server drops it; the client forgets it and reconnects without one.
          yield* Effect.promise(() => client.invoke("login", client.name))
          const dropped = client.next("deauthenticate")
          w.socket.deauthenticateUnsafe()
          yield* Effect.promise(() => dropped)
          assert.strictEqual(client.socket.authState, "unauthenticated", client.name)
          assert.strictEqual(client.socket.authToken, null, client.name)
          client.socket.disconnect()
          const again = client.next("connect")
          client.socket.connect()
          assert.strictEqual(((yield* Effect.promise(() => again)) as Record<string, unknown>).isAuthenticated, false)
          assert.strictEqual(watch.of(client.socket.id).socket.authToken, null, client.name)
        }
      })
  )

  it.live("V2-29..V2-32: bad, valid, expired and not-yet-valid tokens to authenticate", () =>
    Effect.gen(function* () {
      const server = yield* startServer(options)
      const clients = (yield* connectAll(server.sourcePort!)).map(({ client }) => client)
      const badMessages = new Set<string>()
      for (const client of clients) {
        const name = client.name
        const serverSocket = server.clients.get(client.socket.id!)!
        // V2-29
        const bad = yield* authenticate(client, "bad.token.x")
        assert.strictEqual(bad.error?.name, "AuthTokenInvalidError", name)
        badMessages.add(bad.error!.message)
        if (client.protocol === 1) {
          assert.strictEqual(bad.status?.isAuthenticated, false)
          assert.strictEqual((bad.status!.authError as Error).name, "AuthTokenInvalidError")
        }
        assert.strictEqual(client.socket.authState, "unauthenticated", name)
        assert.strictEqual(serverSocket.authState, "unauthenticated", name)
        // V2-30
        const good = yield* authenticate(client, jwt({ username: name, exp: nowS() + 60 }))
        assert.strictEqual(good.error, null, name)
        assert.deepStrictEqual(good.status, { isAuthenticated: true, authError: null }, name)
        assert.strictEqual(client.socket.authState, "authenticated", name)
        assert.strictEqual((serverSocket.authToken as { username: string }).username, name)
        // V2-31
        const expired = yield* authenticate(client, jwt({ username: name, exp: nowS() - 10 }))
        assert.strictEqual(expired.error?.name, "AuthTokenExpiredError", name)
        assert.property(expired.error, "expiry", name)
        assert.strictEqual(client.socket.authState, "unauthenticated", name)
        // V2-32
        const early = yield* authenticate(client, jwt({ username: name, nbf: nowS() + 3600 }))
        assert.strictEqual(early.error, null, name)
        assert.strictEqual(early.status?.isAuthenticated, false, name)
        assert.strictEqual((early.status!.authError as Error).name, "AuthTokenNotBeforeError", name)
      }
      // One server message for every release.
      assert.strictEqual(badMessages.size, 1)
    })
  )

  it.live("V2-33: a stored token the server refuses: authError in the connect status, and the client removes it", () =>
    Effect.gen(function* () {
      const server = yield* startServer(options)
      const removed: Array<ClientName> = []
      for (const name of clientNames) {
        const engine =
          name === "14.3.2"
            ? {
                saveToken: (_n: string, t: string, _o: unknown, cb: (e: null, t: string) => void) => cb(null, t),
                removeToken: (_n: string, cb: (e: null, t: null) => void) => {
                  removed.push(name)
                  cb(null, null)
                },
                loadToken: (_n: string, cb: (e: null, t: string) => void) => cb(null, "bad.token.x")
              }
            : {
                saveToken: (_n: string, t: string) => Promise.resolve(t),
                removeToken: () => {
                  removed.push(name)
                  return Promise.resolve(null)
                },
                loadToken: () => Promise.resolve("bad.token.x")
              }
        const client = yield* makeClient(name, server.sourcePort!, { authEngine: engine })
        const status = (yield* Effect.promise(() => client.next("connect"))) as Record<string, unknown>
        assert.strictEqual(status.isAuthenticated, false, name)
        assert.strictEqual((status.authError as Error).name, "AuthTokenInvalidError", name)
        if (!removed.includes(name)) yield* Effect.promise(() => client.next("removeAuthToken"))
        assert.include(removed, name)
      }
    })
  )
})
