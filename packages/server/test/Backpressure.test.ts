/**
 * Flow control from subscribers back to publishers (`Congestion`): a client publishing
 * 10,000 × 4 KiB (40 MiB) without waiting for acks, to subscribers in the same process.
 * A subscriber reading at a fraction of the burst rate loses nothing (the publisher's
 * socket is not read while the subscriber is congested); a stalled one is handled by
 * the policy at a bounded cost, each drop counted and reported in `SlowConsumer` events,
 * and with history on the drop is a gap the subscriber recovers. Assertions are on
 * counts, never on durations. A full inbound queue in bytes pauses reading too.
 */
import type { Socket } from "node:net"
import { assert, describe, it } from "@effect/vitest"
import { Deferred, Effect, type Scope } from "effect"
import WebSocket from "ws"
import type { ServerEvent } from "../src/Events.js"
import type * as SCServer from "../src/SCServer.js"
import { SLOW_CONSUMER_CLOSE_CODE } from "../src/SCSocket.js"
import { droppedReported, slowConsumerEvents, wsTcpSocket } from "../src/testing/SlowConsumers.js"
import { guardAgainstEscapes, handshaken } from "./attack.js"
import { recordServerEvents, startServer } from "./helpers.js"

guardAgainstEscapes()

const count = 10_000
const body = "x".repeat(4 * 1024 - 64)
const MiB = 1024 * 1024

/** A lean raw client: pongs, counts acks, keeps the publications' sequence numbers (and offsets), not the frames. */
interface Lean {
  readonly ws: WebSocket
  readonly raw: Socket
  readonly seqs: Array<number>
  readonly offsets: Array<number>
  acks: number
  ackErrors: number
  closeCode: number | undefined
  /** Resolves once `predicate` holds (checked after every frame and at close). */
  readonly until: (predicate: () => boolean) => Effect.Effect<void>
  readonly send: (frame: string) => void
}

const lean = (server: SCServer.SCServerCore): Effect.Effect<Lean, unknown, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.callback<Lean, unknown>((resume) => {
      const ws = new WebSocket(`ws://127.0.0.1:${server.sourcePort}/socketcluster/`, { perMessageDeflate: false })
      const waiters: Array<() => boolean> = []
      const wake = () => {
        for (let i = waiters.length - 1; i >= 0; i--) if (waiters[i]!()) waiters.splice(i, 1)
      }
      const client: Lean = {
        ws,
        raw: undefined as unknown as Socket,
        seqs: [],
        offsets: [],
        acks: 0,
        ackErrors: 0,
        closeCode: undefined,
        until: (predicate) =>
          Effect.callback<void>((done) => {
            const check = () => {
              if (!predicate()) return false
              done(Effect.void)
              return true
            }
            if (!check()) waiters.push(check)
          }),
        send: (frame) => ws.send(frame)
      }
      ws.on("message", (data: Buffer) => {
        const text = data.toString()
        if (text === "#1") ws.send("#2")
        else if (text.startsWith('{"event":"#publish"')) {
          const packet = JSON.parse(text) as { data: { data: { s: number }; offset?: number } }
          client.seqs.push(packet.data.data.s)
          if (packet.data.offset !== undefined) client.offsets.push(packet.data.offset)
        } else if (text.startsWith('{"rid":')) {
          if (text.startsWith('{"rid":1,')) {
            Object.assign(client, { raw: wsTcpSocket(ws) })
            resume(Effect.succeed(client))
          } else {
            client.acks++
            if (text.includes('"error"')) client.ackErrors++
          }
        }
        wake()
      })
      ws.on("close", (code) => {
        client.closeCode = code
        wake()
      })
      ws.on("error", () => {})
      ws.once("open", () => ws.send('{"event":"#handshake","data":{},"cid":1}'))
    }),
    (client) => Effect.sync(() => client.ws.terminate())
  )

const subscribeTo = (client: Lean, channel: string, data?: unknown) =>
  Effect.gen(function* () {
    const before = client.acks
    client.send(
      JSON.stringify({ event: "#subscribe", data: { channel, ...(data === undefined ? {} : { data }) }, cid: 2 })
    )
    yield* client.until(() => client.acks > before)
  })

/** Sends `n` publications at once (the client's ws buffers them): the burst. */
const flood = (publisher: Lean, channel: string, n = count, text = body) => {
  for (let s = 0; s < n; s++) {
    publisher.send(
      `{"event":"#publish","data":{"channel":"${channel}","data":{"s":${s},"body":"${text}"}},"cid":${s + 10}}`
    )
  }
}

/** Reads at most `bytesPerTick` every 5 ms: a consumer slower than the burst. */
const pace = (client: Lean, bytesPerTick: number) =>
  Effect.acquireRelease(
    Effect.sync(() => {
      let budget = 0
      client.raw.pause()
      client.raw.on("data", (chunk: Buffer) => {
        budget -= chunk.length
        if (budget <= 0) client.raw.pause()
      })
      return setInterval(() => {
        budget = bytesPerTick
        client.raw.resume()
      }, 5)
    }),
    (timer) => Effect.sync(() => clearInterval(timer))
  )

const inOrder = (n: number) => Array.from({ length: n }, (_, s) => s)

/** Waits until the episodes that ended report `dropped` publications in all; they name socket `id` only. */
const reported = (server: SCServer.SCServerCore, events: ReadonlyArray<ServerEvent>, id: string, dropped: number) =>
  Effect.gen(function* () {
    assert.strictEqual(yield* droppedReported(server, events, dropped), dropped)
    for (const e of slowConsumerEvents(events)) assert.strictEqual(e.id, id)
  })

describe("back-pressure to publishers", () => {
  it.live(
    "a subscriber reading at a fraction of the burst rate loses nothing of 40 MiB",
    () =>
      Effect.gen(function* () {
        const server = yield* startServer()
        const events = yield* recordServerEvents(server)
        const reader = yield* lean(server)
        yield* subscribeTo(reader, "burst")
        const publisher = yield* lean(server)
        // ~25 MiB/s: far below what one publisher sends over loopback.
        yield* pace(reader, 128 * 1024)
        flood(publisher, "burst")
        yield* reader.until(() => reader.seqs.length >= count)
        yield* publisher.until(() => publisher.acks >= count)
        assert.deepStrictEqual(reader.seqs, inOrder(count))
        assert.strictEqual(publisher.ackErrors, 0)
        assert.strictEqual(server.counters.droppedPublications, 0)
        assert.deepStrictEqual(slowConsumerEvents(events), [])
        // The burst outran the reader: the publisher's socket was held back, not its frames.
        assert.isAbove(server.counters.publisherHolds, 0)
      }),
    // 40 MiB through a paced reader: seconds on a busy machine, over the 5 s default.
    30_000
  )

  for (const policy of ["dropPublications", "disconnect"] as const) {
    it.live(`${policy}: a stalled subscriber costs at most 16 MiB and gets the policy; the others get everything`, () =>
      Effect.gen(function* () {
        const server = yield* startServer({ slowConsumerPolicy: policy, slowConsumerTimeout: 300 })
        const events = yield* recordServerEvents(server)
        const stalled = yield* lean(server)
        const reader = yield* lean(server)
        for (const c of [stalled, reader]) yield* subscribeTo(c, "flood")
        const stalledSocket = [...server.clients.values()][0]!
        const publisher = yield* lean(server)
        stalled.raw.pause()
        flood(publisher, "flood")
        yield* reader.until(() => reader.seqs.length >= count)
        yield* publisher.until(() => publisher.acks >= count)
        assert.deepStrictEqual(reader.seqs, inOrder(count))
        assert.strictEqual(publisher.ackErrors, 0)
        const stall = slowConsumerEvents(events)
        assert.deepStrictEqual(stall[0], { phase: "Stalled", dropped: 0, id: stalledSocket.id })
        if (policy === "disconnect") {
          // The close frame waits behind the unread buffer: the server's side of it is what counts.
          assert.isTrue(
            events.some(
              (e) => e._tag === "Disconnection" && e.socket === stalledSocket && e.code === SLOW_CONSUMER_CLOSE_CODE
            )
          )
          assert.strictEqual(server.counters.slowConsumerDisconnects, 1)
          assert.strictEqual(server.counters.droppedPublications, 0)
          assert.strictEqual(slowConsumerEvents(events)[1]?.phase, "Closed")
          return
        }
        // What the server holds for the stalled socket is bounded, whatever the flood's size.
        assert.isAtMost(stalledSocket.ws.bufferedAmount, 16 * MiB)
        assert.isAbove(server.counters.droppedPublications, 0)
        // It reads again: it gets what was buffered, in order; the rest was dropped, counted
        // and reported (per episode: the kernel's buffers may drain it more than once).
        const dropped = server.counters.droppedPublications
        stalled.raw.resume()
        yield* stalled.until(() => stalled.seqs.length + dropped >= count)
        assert.strictEqual(stalled.seqs.length + dropped, count)
        for (let i = 1; i < stalled.seqs.length; i++) assert.isAbove(stalled.seqs[i]!, stalled.seqs[i - 1]!)
        yield* reported(server, events, stalledSocket.id, dropped)
      })
    )
  }

  it.live("with history, the publications dropped for a stalled subscriber are a gap it recovers", () =>
    Effect.gen(function* () {
      const server = yield* startServer({
        outboundHighWaterMark: 256 * 1024,
        // Room for the replay: the frames a subscriber asked for are not dropped, only bounded.
        maxOutboundBuffer: 64 * MiB,
        slowConsumerTimeout: 200
      })
      const events = yield* recordServerEvents(server)
      const stalled = yield* lean(server)
      yield* subscribeTo(stalled, "history", { recover: true })
      const publisher = yield* lean(server)
      stalled.raw.pause()
      // 900 × 16 KiB: within the default history of 1,000 per channel, and more than the
      // loopback socket buffers hold, so the server's own buffer fills.
      const n = 900
      flood(publisher, "history", n, "h".repeat(16 * 1024))
      yield* publisher.until(() => publisher.acks >= n)
      const dropped = server.counters.droppedPublications
      assert.isAbove(dropped, 0)
      stalled.raw.resume()
      yield* stalled.until(() => stalled.seqs.length + dropped >= n)
      yield* reported(server, events, [...server.clients.values()][0]!.id, dropped)
      // The offsets say exactly what is missing.
      const received = new Set(stalled.offsets)
      const missing = Array.from({ length: n }, (_, i) => i + 1).filter((offset) => !received.has(offset))
      assert.strictEqual(missing.length, dropped)
      // Subscribing again from before the first gap replays every publication after it.
      const from = missing[0]! - 1
      stalled.send('{"event":"#unsubscribe","data":"history","cid":3}')
      yield* stalled.until(() => stalled.acks >= 2)
      const epoch = yield* server.broker.history!.position("history").pipe(Effect.map((p) => p!.epoch))
      const before = stalled.offsets.length
      yield* subscribeTo(stalled, "history", { recover: { offset: from, epoch } })
      yield* stalled.until(() => stalled.offsets.length - before >= n - from)
      const replayed = stalled.offsets.slice(before)
      assert.deepStrictEqual(
        replayed,
        Array.from({ length: n - from }, (_, i) => from + 1 + i)
      )
      for (const offset of missing) assert.include(replayed, offset)
    })
  )

  it.live("maxQueuedInboundBytes: frames queued behind a slow packet pause reading at the byte limit", () =>
    Effect.gen(function* () {
      const limit = 64 * 1024
      const server = yield* startServer({ maxQueuedInboundBytes: limit })
      yield* server.handle("echo", (data) => Effect.succeed(data))
      const gate = yield* Deferred.make<void>()
      yield* server.addMiddleware("subscribe", () => Deferred.await(gate))
      const c = yield* handshaken(server)
      const socket = [...server.clients.values()][0]!
      let received = 0
      socket.hub.listen((e) => {
        if (e._tag === "Message") received++
      })
      c.send('{"event":"#subscribe","data":{"channel":"slow"},"cid":2}')
      const big = "y".repeat(16 * 1024)
      // 200 × 16 KiB: the count limit (1,024) is far away; the byte limit is not.
      for (let cid = 3; cid < 203; cid++) c.send(`{"event":"echo","data":"${big}","cid":${cid}}`)
      yield* Effect.callback<void>((resume) => {
        if (socket.ws.isPaused) return resume(Effect.void)
        const stop = socket.hub.listen(() => {
          if (socket.ws.isPaused) {
            stop()
            resume(Effect.void)
          }
        })
      })
      assert.isBelow(received, 201)
      yield* Deferred.succeed(gate, undefined)
      yield* c.waitFor((f) => f.startsWith('{"rid":202'))
      const answers = c.frames.filter((f) => f.startsWith('{"rid":')).map((f) => JSON.parse(f).rid as number)
      assert.deepStrictEqual(
        answers,
        Array.from({ length: 202 }, (_, i) => i + 1)
      )
      assert.isFalse(socket.ws.isPaused)
    })
  )
})
