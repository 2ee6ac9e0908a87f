/**
 * Slow consumers: a subscriber that stops reading (its TCP socket paused) while ~50 MiB
 * are published to its channel. The server's memory stays bounded by the outbound
 * high-water mark, the policy applies (drop and count, or close with 4010), and a
 * subscriber that reads gets every publication in order. With history on, the channel's
 * history is the flood's own cost, and a stalled subscriber adds no more than with it off.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber } from "effect"
import * as BrokerMemory from "../src/BrokerMemory.js"
import type { SCServerCore } from "../src/SCServer.js"
import { SLOW_CONSUMER_CLOSE_CODE } from "../src/SCSocket.js"
import { wsTcpSocket } from "../src/testing/SlowConsumers.js"
import { answerTo, guardAgainstEscapes, handshaken } from "./attack.js"
import { type RawClient, startServer, waitForServerEvent } from "./helpers.js"

guardAgainstEscapes()

// The default outboundHighWaterMark (4 MiB).
const highWaterMark = 4 * 1024 * 1024
const publication = 256 * 1024
const publications = 200 // 50 MiB
const MiB = 1024 * 1024

const gc = (globalThis as { readonly gc?: () => void }).gc

/**
 * Memory after a full collection (vitest.config.ts passes --expose-gc): RSS, memory
 * outside the JS heap (the Buffers the socket writers hold, the history's bytes), and
 * that plus the live JS heap (all the process holds, whatever form a copy takes).
 * Collecting first keeps the test clients' own garbage (this process also hosts the
 * clients) out of the figure.
 */
const memory = () => {
  gc?.()
  const m = process.memoryUsage()
  // `external` includes `arrayBuffers` (the Buffers queued on sockets).
  return { rss: m.rss, buffers: m.external, held: m.external + m.heapUsed }
}

/**
 * Publishes `publications` messages of `publication` bytes to `channel`, each once the
 * reading subscriber got the previous one (so only a stalled one falls behind), and
 * returns the peak memory growth seen.
 */
const flood = (server: SCServerCore, reader: RawClient, channel = "firehose") =>
  Effect.gen(function* () {
    const before = memory()
    let peakRss = 0
    let peakBuffers = 0
    let peakHeld = 0
    const body = "z".repeat(publication - 32)
    const head = `{"event":"#publish","data":{"channel":${JSON.stringify(channel)},"data":{"s":`
    for (let s = 0; s < publications; s++) {
      yield* server.exchange.publish(channel, { s, body })
      yield* reader.waitFor((f) => f.startsWith(`${head}${s},`))
      if (s % 10 !== 9) continue
      const now = memory()
      peakRss = Math.max(peakRss, now.rss - before.rss)
      peakBuffers = Math.max(peakBuffers, now.buffers - before.buffers)
      peakHeld = Math.max(peakHeld, now.held - before.held)
    }
    return { peakRss, peakBuffers, peakHeld }
  })

/** Subscribes raw clients to `channel` (subscribe `data` optional), one after the other. */
const subscribeAll = (clients: ReadonlyArray<RawClient>, channel: string, data?: unknown) =>
  Effect.forEach(clients, (c, i) => {
    const cid = 100 + i
    c.send(JSON.stringify({ event: "#subscribe", data: { channel, ...(data === undefined ? {} : { data }) }, cid }))
    return answerTo(c, cid)
  })

const tcpOf = (c: RawClient) => wsTcpSocket(c.ws)

// Frames the reader already got are not worth keeping (they would count as memory growth).
const keepLastFrame = (reader: RawClient) =>
  reader.ws.on("message", () => {
    reader.frames.splice(0, reader.frames.length - 1)
  })

const setup = (policy: "dropPublications" | "disconnect") =>
  Effect.gen(function* () {
    // History off: the memory broker keeps a channel's history as bytes outside the heap too
    // (up to `historyMaxBytes`, see test/FloodMemory.test.ts); what this test bounds is the stalled socket's buffer.
    const server = yield* startServer(
      { slowConsumerPolicy: policy },
      undefined,
      BrokerMemory.layerWith({ history: { default: "off" } })
    )
    assert.strictEqual(server.options.outboundHighWaterMark, highWaterMark)
    const stalled = yield* handshaken(server)
    const reader = yield* handshaken(server)
    for (const c of [stalled, reader]) {
      c.send('{"event":"#subscribe","data":{"channel":"firehose"},"cid":2}')
      yield* answerTo(c, 2)
    }
    keepLastFrame(reader)
    tcpOf(stalled).pause()
    return { server, stalled, reader }
  })

describe("slow consumers", () => {
  it.live(
    "dropPublications: memory stays bounded, drops are counted, the reading subscriber gets everything in order",
    () =>
      Effect.gen(function* () {
        const { server, stalled, reader } = yield* setup("dropPublications")
        let readerCount = 0
        let readerLast = -1
        let inOrder = true
        reader.ws.on("message", (data: Buffer) => {
          const m = /^\{"event":"#publish","data":\{"channel":"firehose","data":\{"s":(\d+)/.exec(data.toString())
          if (m === null) return
          const s = Number(m[1])
          if (s !== readerLast + 1) inOrder = false
          readerLast = s
          readerCount++
        })
        const { peakRss, peakBuffers } = yield* flood(server, reader)
        // A round trip after the flood: every earlier frame has reached the listeners.
        reader.send('{"event":"#unsubscribe","data":"firehose","cid":9}')
        yield* answerTo(reader, 9)
        assert.strictEqual(readerCount, publications)
        assert.isTrue(inOrder)
        assert.isAbove(server.counters.droppedPublications, publications / 2)
        assert.strictEqual(server.counters.slowConsumerDisconnects, 0)
        const socket = [...server.clients.values()][0]!
        assert.strictEqual(socket.state, "open")
        assert.isAtMost(socket.ws.bufferedAmount, highWaterMark + publication + 1024)
        // 50 MiB were published to the stalled socket; without the policy all of it would be buffered.
        const bound = 3 * highWaterMark + 8 * 1024 * 1024
        console.log(
          `slow consumer (drop): peak growth rss ${(peakRss / 2 ** 20).toFixed(1)} MiB, buffers ${(peakBuffers / 2 ** 20).toFixed(1)} MiB, dropped ${server.counters.droppedPublications}`
        )
        assert.isBelow(peakBuffers, bound)
        assert.isBelow(peakRss, bound + 32 * 1024 * 1024)
        // Once it reads again it gets what was kept, in order, and nothing else.
        const got: Array<number> = []
        stalled.ws.on("message", (data: Buffer) => {
          const m = /"data":\{"s":(\d+)/.exec(data.toString())
          if (m !== null) got.push(Number(m[1]))
        })
        tcpOf(stalled).resume()
        stalled.send('{"event":"#unsubscribe","data":"firehose","cid":3}')
        yield* answerTo(stalled, 3)
        assert.strictEqual(got.length, publications - server.counters.droppedPublications)
        assert.deepStrictEqual(
          got,
          [...got].sort((a, b) => a - b)
        )
      }),
    30_000
  )

  it.live(
    "disconnect: the stalled subscriber is closed with 4010 and counted; memory stays bounded",
    () =>
      Effect.gen(function* () {
        const { server, reader } = yield* setup("disconnect")
        const closed = waitForServerEvent(server, "Disconnection")
        const fiber = yield* Effect.forkChild(closed, { startImmediately: true })
        const { peakBuffers, peakRss } = yield* flood(server, reader)
        const event = yield* Fiber.join(fiber)
        assert.strictEqual(event.code, SLOW_CONSUMER_CLOSE_CODE)
        assert.strictEqual(server.counters.slowConsumerDisconnects, 1)
        assert.strictEqual(server.counters.droppedPublications, 0)
        assert.strictEqual(server.clientsCount, 1)
        assert.strictEqual(server.registry.subscribers("firehose").size, 1)
        console.log(
          `slow consumer (disconnect): peak growth rss ${(peakRss / 2 ** 20).toFixed(1)} MiB, buffers ${(peakBuffers / 2 ** 20).toFixed(1)} MiB`
        )
        assert.isBelow(peakBuffers, 3 * highWaterMark + 8 * 1024 * 1024)
      }),
    30_000
  )

  it.live(
    "history on: stalled subscribers, plain or recovering, cost at most 16 MiB each over the flood's own (its history)",
    () =>
      Effect.gen(function* () {
        // The default history: 1,000 publications, at most `historyMaxBytes` (16 MiB) of bytes per channel.
        const server = yield* startServer({ slowConsumerPolicy: "dropPublications" })
        const reader = yield* handshaken(server)
        keepLastFrame(reader)
        // The flood's own cost: the same flood with the reader alone (a channel's history is most of it).
        yield* subscribeAll([reader], "alone")
        const own = yield* flood(server, reader, "alone")
        assert.isAbove(own.peakHeld, BrokerMemory.defaultHistoryMaxBytes / 2, "the history holds the flood")

        const plain = yield* handshaken(server)
        const recovering = yield* handshaken(server)
        yield* subscribeAll([reader, plain], "firehose")
        yield* subscribeAll([recovering], "firehose", { recover: true })
        tcpOf(plain).pause()
        tcpOf(recovering).pause()
        const stalled = yield* flood(server, reader, "firehose")
        const over = stalled.peakHeld - own.peakHeld
        console.log(
          `slow consumer (history on): flood's own ${(own.peakHeld / MiB).toFixed(1)} MiB, with 2 stalled ${(stalled.peakHeld / MiB).toFixed(1)} MiB (rss ${(stalled.peakRss / MiB).toFixed(1)} MiB), dropped ${server.counters.droppedPublications}`
        )
        // A copy of the history per stalled subscriber would be 16 MiB each, the flood itself 50 MiB each.
        assert.isBelow(
          over,
          2 * 16 * MiB,
          `two stalled subscribers cost ${(over / MiB).toFixed(1)} MiB over the flood's own`
        )
        // Both stalled subscribers got the policy: they were not given copies to hold instead.
        assert.isAbove(server.counters.droppedPublications, publications)
        for (const socket of server.clients.values())
          assert.isAtMost(socket.ws.bufferedAmount, highWaterMark + publication + 1024)
        // The history numbered every publication: what was dropped is a gap in offsets, asked for by offset.
        const position = yield* server.broker.history!.position("firehose")
        assert.strictEqual(position?.offset, publications)
      }),
    30_000
  )
})
