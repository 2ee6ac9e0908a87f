/**
 * Slow consumers: a subscriber that stops reading (its TCP socket paused) while ~50 MiB
 * are published to its channel. The server's memory stays bounded by the outbound
 * high-water mark, the policy applies (drop and count, or close with 4010), and a
 * subscriber that reads gets every publication in order.
 */
import type { Socket } from "node:net"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber } from "effect"
import * as BrokerMemory from "../src/BrokerMemory.js"
import type { SCServerCore } from "../src/SCServer.js"
import { SLOW_CONSUMER_CLOSE_CODE } from "../src/SCSocket.js"
import { answerTo, guardAgainstEscapes, handshaken } from "./attack.js"
import { type RawClient, startServer, waitForServerEvent } from "./helpers.js"

guardAgainstEscapes()

// The default outboundHighWaterMark (4 MiB).
const highWaterMark = 4 * 1024 * 1024
const publication = 256 * 1024
const publications = 200 // 50 MiB

const gc = (globalThis as { readonly gc?: () => void }).gc

/**
 * Memory after a full collection (vitest.config.ts passes --expose-gc): RSS, and memory
 * outside the JS heap (the Buffers the socket writers hold). Collecting first keeps the test clients' own garbage
 * (this process also hosts the clients) out of the figure.
 */
const memory = () => {
  gc?.()
  const m = process.memoryUsage()
  // `external` includes `arrayBuffers` (the Buffers queued on sockets).
  return { rss: m.rss, buffers: m.external }
}

/**
 * Publishes `publications` messages of `publication` bytes, each once the reading
 * subscriber got the previous one (so only the stalled one falls behind), and returns
 * the peak memory growth seen.
 */
const flood = (server: SCServerCore, reader: RawClient) =>
  Effect.gen(function* () {
    const before = memory()
    let peakRss = 0
    let peakBuffers = 0
    const body = "z".repeat(publication - 32)
    for (let s = 0; s < publications; s++) {
      yield* server.exchange.publish("firehose", { s, body })
      yield* reader.waitFor((f) => f.startsWith(`{"event":"#publish","data":{"channel":"firehose","data":{"s":${s},`))
      if (s % 10 !== 9) continue
      const now = memory()
      peakRss = Math.max(peakRss, now.rss - before.rss)
      peakBuffers = Math.max(peakBuffers, now.buffers - before.buffers)
    }
    return { peakRss, peakBuffers }
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
    // Frames the reader already got are not worth keeping (they would count as memory growth).
    reader.ws.on("message", () => {
      reader.frames.splice(0, reader.frames.length - 1)
    })
    ;(stalled.ws as unknown as { readonly _socket: Socket })._socket.pause()
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
        ;(stalled.ws as unknown as { readonly _socket: Socket })._socket.resume()
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
})
