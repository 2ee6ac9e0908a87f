/**
 * The fuzzing harness shared by test/Fuzz.test.ts (bounded, in CI) and bench/fuzz.ts (long
 * runs): a server set up with every path in play (handlers, async middleware, limits),
 * arbitraries for sequences of valid and invalid packets from several raw clients at
 * once, and the invariants checked after each run.
 */
import { strict as assert } from "node:assert"
import { Effect, type Scope } from "effect"
import fc from "fast-check"
import WebSocket from "ws"
import * as BrokerMemory from "../src/BrokerMemory.js"
import * as SCServer from "../src/SCServer.js"

/** One frame a fuzz client sends (or an action on its connection). */
export type FuzzAction =
  | { readonly _tag: "Text"; readonly frame: string }
  | { readonly _tag: "Binary"; readonly bytes: Uint8Array }
  | { readonly _tag: "Close"; readonly code: number; readonly reason?: string }
  | { readonly _tag: "Terminate" }

/**
 * One fuzz client: its actions, the protocol it asks for on the upgrade URL
 * (`?scProtocolVersion=`) and how it answers pings: v1 (`#1` → `#2`), v2 (`''` → `''`) or not at all.
 */
export interface FuzzClient {
  readonly actions: ReadonlyArray<FuzzAction>
  readonly query?: "1" | "2" | undefined
  readonly pong: "#2" | "" | "none"
}

const maxPayload = 64 * 1024
const channels = ["a", "b", "c", "x".repeat(300), "__proto__", "constructor"]

const jsonText = (value: unknown) => JSON.stringify(value) ?? "null"
const cid = fc.oneof(
  fc.integer({ min: 1, max: 50 }),
  fc.constantFrom(0, -1, 1e308, "", "abc", null),
  fc.constant({ x: 1 })
)
const data = fc.oneof(fc.jsonValue({ maxDepth: 3 }), fc.constant({ __proto__: { polluted: 1 } }))
const channel = fc.constantFrom(...channels)

const valid: fc.Arbitrary<string> = fc.oneof(
  fc.constant('{"event":"#handshake","data":{},"cid":1}'),
  fc.tuple(data, cid).map(([d, c]) => jsonText({ event: "echo", data: d, cid: c })),
  fc.tuple(data, cid).map(([d, c]) => jsonText({ event: "slow", data: d, cid: c })),
  fc
    .tuple(channel, cid, fc.boolean())
    .map(([ch, c, b]) => jsonText({ event: "#subscribe", data: { channel: ch, batch: b }, cid: c })),
  fc.tuple(channel, cid).map(([ch, c]) => jsonText({ event: "#unsubscribe", data: ch, cid: c })),
  fc
    .tuple(channel, data, cid)
    .map(([ch, d, c]) => jsonText({ event: "#publish", data: { channel: ch, data: d }, cid: c })),
  fc.tuple(fc.string({ maxLength: 40 }), cid).map(([t, c]) => jsonText({ event: "#authenticate", data: t, cid: c })),
  fc.constant('{"event":"#removeAuthToken"}'),
  fc.constant("#2"),
  fc.tuple(fc.integer({ min: 1, max: 5 }), data).map(([r, d]) => jsonText({ rid: r, data: d }))
)

const invalid: fc.Arbitrary<string> = fc.oneof(
  fc.string({ maxLength: 60 }),
  fc.jsonValue({ maxDepth: 4 }).map(jsonText),
  fc
    .tuple(fc.jsonValue({ maxDepth: 2 }), fc.jsonValue({ maxDepth: 2 }), fc.jsonValue({ maxDepth: 1 }))
    .map(([event, d, c]) => jsonText({ event, data: d, cid: c })),
  fc.constantFrom("#nope", "#setAuthToken", "#kickOut", "#1").map((event) => jsonText({ event, data: 1, cid: 3 })),
  fc
    .integer({ min: 60, max: 5000 })
    .map((depth) => `{"event":"echo","data":${"[".repeat(depth)}${"]".repeat(depth)},"cid":4}`),
  fc.constant('{"event":"echo","data":[1e309,-1e309,123456789012345678901234567890],"cid":5}'),
  fc.array(valid, { maxLength: 5 }).map((packets) => `[${packets.join(",")}]`),
  fc.constant("y".repeat(maxPayload + 1))
)

const action: fc.Arbitrary<FuzzAction> = fc.oneof(
  { weight: 6, arbitrary: valid.map((frame) => ({ _tag: "Text" as const, frame })) },
  { weight: 4, arbitrary: invalid.map((frame) => ({ _tag: "Text" as const, frame })) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 64 }).map((bytes) => ({ _tag: "Binary" as const, bytes })) }
)

/** How a client's sequence may end: it closes, drops the connection, or just stays. */
const ending: fc.Arbitrary<ReadonlyArray<FuzzAction>> = fc.oneof(
  fc.constant([]),
  fc
    .constantFrom<unknown>(1000, 4000, 4500, "x", 1005, 99999, -1, null)
    .map((code) => [
      { _tag: "Text" as const, frame: jsonText({ event: "#disconnect", data: { code, data: "fuzz" } }) }
    ]),
  fc.constantFrom(1000, 1001, 4000, 3000).map((code) => [{ _tag: "Close" as const, code }]),
  fc.constant([{ _tag: "Terminate" as const }])
)

const handshake: FuzzAction = { _tag: "Text", frame: '{"event":"#handshake","data":{},"cid":1}' }

/** Several clients, each a sequence of actions (most start with a handshake). */
export const scenario: fc.Arbitrary<ReadonlyArray<ReadonlyArray<FuzzAction>>> = fc.array(
  fc
    .tuple(fc.integer({ min: 0, max: 9 }), fc.array(action, { minLength: 3, maxLength: 40 }), ending)
    .map(([dice, actions, end]) => [...(dice > 0 ? [handshake] : []), ...actions, ...end]),
  { minLength: 1, maxLength: 4 }
)

/** The server under fuzz: echo and slow handlers, async subscribe middleware, tight limits. */
export const fuzzServer = (
  options: SCServer.SCServerOptions = {}
): Effect.Effect<SCServer.SCServerCore, unknown, Scope.Scope> =>
  Effect.gen(function* () {
    const server = yield* SCServer.make(
      {
        authKey: "fuzz-key-0123456789abcdef0123456789abcdef",
        maxPayload,
        maxPendingInboundRpcs: 4,
        socketChannelLimit: 3,
        maxChannelNameLength: 100,
        ...options
      },
      { _tag: "Listen", port: 0, host: "127.0.0.1" }
    ).pipe(Effect.provide(BrokerMemory.layer))
    yield* server.handle("echo", (d) => Effect.succeed(d))
    yield* server.handle("slow", (d) => Effect.as(Effect.sleep(2), d))
    yield* server.addMiddleware("subscribe", () => Effect.yieldNow)
    return server
  })

const onceClosed = (ws: WebSocket) =>
  new Promise<void>((resolve) => {
    if (ws.readyState === WebSocket.CLOSED) return resolve()
    ws.once("close", () => resolve())
  })

/** What the server's close frames looked like (v2 puts the reason there: at most 123 bytes). */
export const closeFrames: Array<{ readonly code: number; readonly reasonBytes: number }> = []

/** Opens a raw client; resolves undefined when the upgrade fails. */
const open = (port: number, client: Omit<FuzzClient, "actions"> = { pong: "#2" }) =>
  new Promise<WebSocket | undefined>((resolve) => {
    const query = client.query === undefined ? "" : `?scProtocolVersion=${client.query}`
    const ws = new WebSocket(`ws://127.0.0.1:${port}/socketcluster/${query}`, { perMessageDeflate: false })
    ws.on("error", () => resolve(undefined))
    const ping = client.pong === "#2" ? "#1" : ""
    ws.on("message", (frame: Buffer) => {
      if (client.pong !== "none" && frame.toString() === ping) ws.send(client.pong)
    })
    ws.on("close", (code, reason) => closeFrames.push({ code, reasonBytes: reason.length }))
    ws.once("open", () => resolve(ws))
  })

/**
 * Sends `echo` with a marker cid and waits for its answer or for the socket to close:
 * afterwards the server has processed everything the client sent before.
 * Resolves true when the socket answered (it is open on the server).
 */
const barrier = (ws: WebSocket) =>
  new Promise<boolean>((resolve) => {
    if (ws.readyState !== WebSocket.OPEN) return onceClosed(ws).then(() => resolve(false))
    const onMessage = (frame: Buffer) => {
      if (frame.toString().startsWith('{"rid":"barrier"')) {
        ws.off("message", onMessage)
        resolve(true)
      }
    }
    ws.on("message", onMessage)
    ws.once("close", () => resolve(false))
    ws.send('{"event":"echo","data":"barrier","cid":"barrier"}')
  })

/** A fresh client: handshake then echo; throws when either fails. */
export const freshClientWorks = async (port: number): Promise<void> => {
  const ws = await open(port)
  assert.ok(ws !== undefined, "a fresh client could not upgrade")
  try {
    const answers: Array<string> = []
    await new Promise<void>((resolve, reject) => {
      ws.on("message", (frame: Buffer) => {
        const text = frame.toString()
        answers.push(text)
        if (text.startsWith('{"rid":1,')) ws.send('{"event":"echo","data":"fresh","cid":2}')
        if (text.startsWith('{"rid":2')) resolve()
      })
      ws.once("close", (code) => reject(new Error(`fresh client closed with ${code}`)))
      ws.send('{"event":"#handshake","data":{},"cid":1}')
    })
    assert.equal(answers.at(-1), '{"rid":2,"data":"fresh"}')
  } finally {
    ws.terminate()
    await onceClosed(ws)
  }
}

/** Waits (on server events, no polling) until the server holds `count` sockets. */
const serverSocketsSettle = (server: SCServer.SCServerCore, count: number) =>
  new Promise<void>((resolve) => {
    const settled = () => server.clientsCount + server.pendingClientsCount === count
    if (settled()) return resolve()
    const remove = server.hub.listen(() => {
      if (settled()) {
        remove()
        resolve()
      }
    })
  })

/** Live subscriptions of all sockets (the registry must hold exactly these channels). */
const liveChannels = (server: SCServer.SCServerCore) => {
  const names = new Set<string>()
  for (const socket of server.clients.values()) for (const ch of socket.channels) names.add(ch)
  return names.size
}

/**
 * Runs one scenario against `server` and checks the invariants: the server holds exactly
 * the sockets still open, the registry exactly their channels, and after every client
 * closed, no socket and no channel is left and a fresh client still handshakes and echoes.
 */
export const runScenario = (
  server: SCServer.SCServerCore,
  clients: ReadonlyArray<ReadonlyArray<FuzzAction>>
): Promise<void> =>
  runClients(
    server,
    clients.map((actions) => ({ actions, pong: "#2" }))
  )

/** {@link runScenario} for clients that pick their protocol and pong form. */
export const runClients = async (server: SCServer.SCServerCore, clients: ReadonlyArray<FuzzClient>): Promise<void> => {
  const port = server.sourcePort!
  const sockets = await Promise.all(clients.map((client) => open(port, client)))
  await Promise.all(
    clients.map(async ({ actions }, i) => {
      const ws = sockets[i]
      if (ws === undefined) return
      for (const a of actions) {
        if (ws.readyState !== WebSocket.OPEN) return
        if (a._tag === "Text") ws.send(a.frame)
        else if (a._tag === "Binary") ws.send(a.bytes, { binary: true })
        else if (a._tag === "Close") ws.close(a.code, a.reason)
        else ws.terminate()
        // Let the server interleave the clients' frames.
        if ((a._tag === "Text" && a.frame.length > 1000) || Math.random() < 0.2) {
          await new Promise((resolve) => setImmediate(resolve))
        }
      }
    })
  )
  const open_ = await Promise.all(sockets.map((ws) => (ws === undefined ? false : barrier(ws))))
  const stillOpen = open_.filter(Boolean).length
  await serverSocketsSettle(server, stillOpen)
  assert.equal(server.clientsCount + server.pendingClientsCount, stillOpen)
  assert.equal(server.registry.channelCount, liveChannels(server))
  for (const ws of sockets) ws?.terminate()
  await Promise.all(sockets.map((ws) => (ws === undefined ? undefined : onceClosed(ws))))
  await serverSocketsSettle(server, 0)
  assert.equal(server.clientsCount, 0)
  assert.equal(server.pendingClientsCount, 0)
  assert.equal(server.registry.channelCount, 0)
  assert.equal(server.registry.brokerSubscriptionCount, 0)
  assert.equal(Reflect.get(Object.prototype, "polluted"), undefined)
  await freshClientWorks(port)
  await serverSocketsSettle(server, 0)
}

/** The heap after a full collection, when `--expose-gc` made `gc` available. */
export const heapAfterGc = (): number | undefined => {
  const gc = (globalThis as { readonly gc?: () => void }).gc
  if (gc === undefined) return undefined
  gc()
  gc()
  return process.memoryUsage().heapUsed
}
