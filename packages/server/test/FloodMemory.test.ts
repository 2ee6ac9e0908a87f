/**
 * What a flood leaves in the JS heap. Channel history (memory broker, on by default)
 * retains publications as bytes outside the heap (`HistoryBuffer`), not as their JS
 * values, and each channel's retained bytes are bounded (`historyMaxBytes`); frames
 * queued for a subscriber that does not keep up are bytes too (`EncodedText`). So a
 * flood's publications die young: none is promoted, and V8's young generation is not
 * grown by their survivors (see the server README, "Memory under a flood").
 */
import { assert, describe, it } from "@effect/vitest"
import { json } from "@effect-socketcluster/protocol"
import { Effect } from "effect"
import fc from "fast-check"
import WebSocket from "ws"
import * as BrokerMemory from "../src/BrokerMemory.js"
import { EncodedText } from "../src/Frame.js"
import * as Payload from "../src/Payload.js"
import { wsTcpSocket } from "../src/testing/SlowConsumers.js"
import { startServer } from "./helpers.js"

const gc = (globalThis as { readonly gc?: () => void }).gc

/** The JS heap's live bytes after a full collection (vitest.config.ts passes --expose-gc). */
const liveHeap = (): number => {
  gc?.()
  return process.memoryUsage().heapUsed
}

/** A raw v1 client subscribed to `channel` that then stops reading (its TCP socket paused). */
const stalledSubscriber = (port: number | undefined, channel: string) =>
  Effect.acquireRelease(
    Effect.callback<WebSocket, Error>((resume) => {
      const ws = new WebSocket(`ws://127.0.0.1:${String(port)}/socketcluster/`)
      ws.on("message", (data: Buffer) => {
        const text = data.toString()
        if (text === "#1") return ws.send("#2")
        if (text.startsWith('{"rid":1,'))
          return ws.send(`{"event":"#subscribe","data":{"channel":"${channel}"},"cid":2}`)
        if (text.startsWith('{"rid":2')) {
          wsTcpSocket(ws).pause()
          resume(Effect.succeed(ws))
        }
      })
      ws.once("error", (error) => resume(Effect.fail(error)))
      ws.once("open", () => ws.send('{"event":"#handshake","data":{},"cid":1}'))
    }),
    (ws) => Effect.sync(() => ws.terminate())
  )

/**
 * A raw v1 client that publishes `count` frames of `size` bytes to `channel` over a real
 * socket and waits for every ack. It records nothing, so that the only memory the
 * publications can leave behind in this process is the server's.
 */
const publishOverSocket = (port: number | undefined, channel: string, count: number, size: number) =>
  Effect.callback<void, Error>((resume) => {
    const ws = new WebSocket(`ws://127.0.0.1:${String(port)}/socketcluster/`)
    let acks = 0
    const fill = "q".repeat(size)
    ws.on("message", (data: Buffer) => {
      const text = data.toString()
      if (text === "#1") return ws.send("#2")
      if (text.startsWith('{"rid":1,')) {
        for (let s = 0; s < count; s++) {
          // Distinct text per publication, so no string is shared between them.
          const body = `${s}:${fill}`.slice(0, size)
          ws.send(
            `{"event":"#publish","data":{"channel":"${channel}","data":{"s":${s},"body":"${body}"}},"cid":${s + 2}}`
          )
        }
        return
      }
      if (!text.startsWith('{"rid":')) return
      if (text.includes('"error"')) return resume(Effect.fail(new Error(`publish refused: ${text}`)))
      if (++acks === count) {
        ws.close()
        resume(Effect.void)
      }
    })
    ws.once("error", (error) => resume(Effect.fail(error)))
    ws.once("open", () => ws.send('{"event":"#handshake","data":{},"cid":1}'))
  })

/** Subscribes with `recover` from "no position" and collects the replayed offsets and the answer. */
const recoverAll = (port: number | undefined, channel: string) =>
  Effect.callback<{ readonly offsets: Array<number>; readonly first: unknown; readonly ack: unknown }, Error>(
    (resume) => {
      const ws = new WebSocket(`ws://127.0.0.1:${String(port)}/socketcluster/`)
      const offsets: Array<number> = []
      let first: unknown
      ws.on("message", (data: Buffer) => {
        const text = data.toString()
        if (text === "#1") return ws.send("#2")
        if (text.startsWith('{"rid":1,')) {
          const recover = { recover: { offset: 0, epoch: "" } }
          return ws.send(JSON.stringify({ event: "#subscribe", data: { channel, data: recover }, cid: 2 }))
        }
        const frame = JSON.parse(text)
        if (frame.event === "#publish") {
          if (offsets.length === 0) first = frame.data.data
          offsets.push(frame.data.offset)
        } else if (frame.rid === 2) {
          ws.close()
          resume(Effect.succeed({ offsets, first, ack: frame.data }))
        }
      })
      ws.once("error", (error) => resume(Effect.fail(error)))
      ws.once("open", () => ws.send('{"event":"#handshake","data":{},"cid":1}'))
    }
  )

const range = (from: number, to: number): Array<number> => Array.from({ length: to - from + 1 }, (_, i) => from + i)

describe("what a flood leaves in the JS heap", () => {
  it.live("a flood leaves no per-publication JS objects in the history it retains", () =>
    Effect.gen(function* () {
      const server = yield* startServer()
      // Warm up the publish path once, so that compiled code and caches are in the baseline.
      yield* publishOverSocket(server.sourcePort, "warm-up", 50, 64)
      const before = liveHeap()
      // 1,500 × 8 KiB: the default history (1,000 per channel) retains the newest 1,000, ~8 MiB of data.
      yield* publishOverSocket(server.sourcePort, "flood", 1500, 8 * 1024)
      const grown = liveHeap() - before
      // Kept as JS values, the retained data alone would be more than 8 MiB of live heap.
      assert.isBelow(grown, 2 * 1024 * 1024, `live heap grew by ${grown} bytes`)
      // ...and the history does hold them: the newest 1,000, in order, exactly as published.
      const { offsets, first, ack } = yield* recoverAll(server.sourcePort, "flood")
      assert.deepStrictEqual(offsets, range(501, 1500))
      assert.deepStrictEqual(first, { s: 500, body: `500:${"q".repeat(8 * 1024)}`.slice(0, 8 * 1024) })
      assert.deepInclude(ack, { offset: 1500, replayed: 1000, gap: "Trimmed" })
    }).pipe(Effect.scoped)
  )

  it.live("each channel's retained bytes are bounded by historyMaxBytes: the oldest go, as a Trimmed gap", () =>
    Effect.gen(function* () {
      const server = yield* startServer({}, undefined, BrokerMemory.layerWith({ historyMaxBytes: 64 * 1024 }))
      // 100 × ~4 KiB, far under the policy's 1,000 publications but 400 KiB of text.
      yield* publishOverSocket(server.sourcePort, "big", 100, 4 * 1024)
      const { offsets, ack } = yield* recoverAll(server.sourcePort, "big")
      // As many of the newest as fit in 64 KiB (each is a little over 4 KiB as JSON), contiguous up to the top.
      assert.deepStrictEqual(offsets, range(101 - offsets.length, 100))
      assert.strictEqual(offsets.length, 15)
      assert.deepInclude(ack, { offset: 100, replayed: 15, gap: "Trimmed" })
    }).pipe(Effect.scoped)
  )

  it.live("frames queued for a subscriber that does not read are bytes outside the JS heap", () =>
    Effect.gen(function* () {
      // History off, so that what grows outside the heap is the queued frames alone.
      const server = yield* startServer(
        { slowConsumerPolicy: "dropPublications", slowConsumerTimeout: 200 },
        undefined,
        BrokerMemory.layerWith({ history: { default: "off" } })
      )
      yield* stalledSubscriber(server.sourcePort, "queue")
      yield* publishOverSocket(server.sourcePort, "warm-up", 50, 64)
      const queued = [...server.clients.values()][0]!
      const before = liveHeap()
      // 3,000 × 8 KiB (24 MiB): more than loopback's kernel buffers and the 4 MiB high-water
      // mark take, so frames queue at the server until the subscriber is stalled (then dropped).
      yield* publishOverSocket(server.sourcePort, "queue", 3000, 8 * 1024)
      const grown = liveHeap() - before
      assert.isAbove(server.counters.droppedPublications, 0)
      // The frames are held at the server...
      assert.isAbove(queued.ws.bufferedAmount, 4 * 1024 * 1024)
      // ...as bytes: queued as strings they would be more than 4 MiB of live heap.
      assert.isBelow(grown, 2 * 1024 * 1024, `live heap grew by ${grown} bytes`)
    }).pipe(Effect.scoped)
  )

  it("the frame fan-out builds from the history's text is byte for byte the codec's", () => {
    const bufferLike = fc.record({ type: fc.constant("Buffer"), data: fc.array(fc.nat(255), { maxLength: 4 }) })
    const data = fc.oneof(
      fc.jsonValue(),
      fc.anything({ withObjectString: true, withNullPrototype: true }),
      fc.array(
        fc.oneof(
          bufferLike,
          fc.string({ unit: "binary" }),
          fc.uint8Array().map((b) => Buffer.from(b))
        )
      )
    )
    let plain = 0
    fc.assert(
      fc.property(fc.string({ unit: "binary" }), data, (channel, value) => {
        let dataJson: string | undefined
        try {
          dataJson = Payload.plainJson(value)
        } catch {
          return // no JSON: fan-out encodes with the codec
        }
        if (dataJson === undefined) return
        // The plain path is the same text `encode` writes after its tag.
        assert.strictEqual(Payload.encode(value), `J${dataJson}`)
        plain++
        const expected = json.encode({ event: "#publish", data: { channel, data: value } })
        assert.deepStrictEqual(EncodedText.publication(channel, dataJson).wire, EncodedText.of(String(expected)).wire)
      }),
      { numRuns: 200 }
    )
    assert.isAbove(plain, 40)
    // Data the codec writes differently from JSON.stringify never takes the plain path.
    for (const value of [Buffer.from("hi"), [{ type: "Buffer", data: [1] }], { at: new Date(0) }, undefined]) {
      assert.isUndefined(Payload.plainJson(value))
    }
  })

  it.effect("data without a JSON form is kept as its value; Buffers come back as Buffers", () =>
    Effect.gen(function* () {
      const broker = yield* BrokerMemory.make
      const odd = { n: 10n }
      const bytes = Buffer.from([0, 1, 2, 255])
      yield* broker.publish("mixed", { a: 1 })
      yield* broker.publish("mixed", odd)
      yield* broker.publish("mixed", bytes)
      yield* broker.publish("mixed", undefined)
      const read = yield* broker.history!.read("mixed", { offset: 0, epoch: "" })
      assert.strictEqual(read.gap, undefined)
      assert.deepStrictEqual(
        read.publications.map((p) => p.offset),
        [1, 2, 3, 4]
      )
      assert.deepStrictEqual(read.publications[0]?.data, { a: 1 })
      assert.strictEqual(read.publications[1]?.data, odd)
      assert.isTrue(Buffer.isBuffer(read.publications[2]?.data))
      assert.deepStrictEqual(read.publications[2]?.data, bytes)
      assert.isUndefined(read.publications[3]?.data)
    })
  )
})
