/**
 * A publication through Redis reaches sockets as the text the publisher's server wrote to
 * Redis: the broker hands the JSON after the message's "J" to fan-out, which frames it as
 * it is (as it does the memory broker's) instead of encoding the decoded data again. What
 * a client receives must not change for it: two servers in this process on one
 * redis-server (each with its own broker connections, as two processes have), real v14
 * clients on both, exotic JSON on channels with history on and off; every raw `#publish`
 * frame is byte for byte what the server's codec writes for the value, and every client
 * gets the value its publisher sent. History replays (a socket's requested catch-up, and the
 * broker's own catch-up after missed announcements, as after an outage) frame the stored text
 * as it is too: texts no `JSON.stringify` writes (spaces, escapes, `1.50`) reach the wire
 * byte for byte, which they would not if the data were decoded and encoded again.
 */
import { assert, describe, it } from "@effect/vitest"
import { Broker, type SCServer } from "@effect-socketcluster/server"
import { startServer } from "@effect-socketcluster/server/testing"
import { Effect, Layer, Queue, type Scope } from "effect"
import { createClient } from "redis"
import { afterAll, beforeAll } from "vitest"
import * as BrokerRedis from "../src/BrokerRedis.js"
import * as StreamScripts from "../src/internal/StreamScripts.js"
import { type RedisServer, spawnRedisServer } from "../src/testing/RedisServer.js"
import { type ClientSocket, connect, Inbox, publish, subscribe, subscribeWith } from "./clients.js"

let redis: RedisServer
beforeAll(async () => {
  redis = await spawnRedisServer()
})
afterAll(() => redis.stop())

const history = { default: { length: 100 }, channels: [{ pattern: "off-*", history: "off" as const }] }
const broker = () => BrokerRedis.layer({ url: redis.url, history })

const nested = (depth: number): unknown => (depth === 0 ? { leaf: "ü" } : { d: [nested(depth - 1)] })

/**
 * Values whose JSON text is easy to get wrong (the Buffer-shaped one leaves the v14 client as
 * `{base64:true}`). The deep one (35 levels) takes the binary-safe path ("B" messages) and is
 * encoded again; the rest pass as text.
 */
const exotic: ReadonlyArray<unknown> = [
  "héllo ✓ 😀 Ω ∑ 中文 \u2028\u2029",
  'quote " backslash \\ slash / newline \n tab \t nul \u0000 unit \u001f del \u007f',
  "lone surrogates \ud800 and \udfff",
  { "2": "integer keys", b: 1, "1": [null, true, false, 0, -1.5e-7, 1e21, 123456789012345680000], "": "empty key" },
  JSON.parse('{"__proto__":{"own":"property"},"constructor":"c"}'),
  { type: "Buffer", data: [1, 2, 3] },
  { base64: true, data: "AQID" },
  [[[], {}], [[[[["deep"]]]]], { a: { b: { c: { d: { e: "f" } } } } }],
  nested(17),
  "",
  0,
  null,
  true,
  "#1"
]

/** A v14 client (destroyed with the scope) and every raw message it receives. */
const client = (
  server: SCServer.SCServerCore
): Effect.Effect<{ c: ClientSocket; raw: Array<string> }, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.promise(async () => {
      const c = await connect(server.sourcePort ?? 0)
      const raw: Array<string> = []
      c.on("message", (message) => {
        if (typeof message === "string") raw.push(message)
      })
      return { c, raw }
    }),
    ({ c }) => Effect.sync(() => c.destroy())
  )

describe("publication text through Redis", () => {
  for (const kind of ["hist", "off"] as const) {
    it.live(`exotic JSON reaches clients on both servers unchanged (history ${kind === "hist" ? "on" : "off"})`, () =>
      Effect.gen(function* () {
        const a = yield* startServer({}, Layer.empty, broker())
        const b = yield* startServer({}, Layer.empty, broker())
        const channel = `${kind}-${Math.random().toString(36).slice(2)}`
        const publisher = yield* client(a)
        const subscribers = [yield* client(a), yield* client(b), yield* client(b)]
        const inboxes = subscribers.map(() => new Inbox())
        yield* Effect.forEach(subscribers, ({ c }, i) => Effect.promise(() => subscribe(c, channel, inboxes[i]!)))

        for (const data of exotic) assert.isUndefined(yield* Effect.promise(() => publish(publisher.c, channel, data)))
        assert.isUndefined(yield* Effect.promise(() => publish(publisher.c, channel, "end")))

        // The oracle is the v14 client's own codec (sc-formatter): the data as the publisher's packet
        // carried it, and the frame sc-formatter writes for a publication of that data.
        const codec = publisher.c
        const carried = [...exotic, "end"].map((data) => (JSON.parse(codec.encode({ data })) as { data: unknown }).data)
        const expectedFrames = carried.map((data) => codec.encode({ event: "#publish", data: { channel, data } }))
        const expectedItems = expectedFrames.map(
          (frame) => (codec.decode(frame) as { data: { data: unknown } }).data.data
        )
        for (const [i, { raw }] of subscribers.entries()) {
          const inbox = inboxes[i]!
          yield* Effect.promise(() => inbox.until((item) => item === "end"))
          const frames = raw.filter((message) => message.startsWith('{"event":"#publish"'))
          assert.deepStrictEqual(frames, expectedFrames, `the raw frames of subscriber ${i}`)
          assert.deepStrictEqual(inbox.items, expectedItems, `what subscriber ${i} received`)
          // Text arrives exactly as sent: non-ASCII, escapes, line separators, lone surrogates.
          assert.deepStrictEqual(inbox.items.slice(0, 3), exotic.slice(0, 3))
        }
      }).pipe(Effect.scoped)
    )
  }

  it.live("the broker hands fan-out the JSON text it received, except for data that is not plain JSON", () =>
    Effect.gen(function* () {
      const redisBroker = yield* Broker.Broker
      yield* redisBroker.ready
      const inbox = yield* Queue.unbounded<{ readonly data: unknown; readonly json: string | undefined }>()
      yield* redisBroker.onPublication((_channel, data, _offset, _epoch, json) => {
        Queue.offerUnsafe(inbox, { data, json })
      })
      for (const kind of ["hist", "off"]) {
        const channel = `${kind}-text-${Math.random().toString(36).slice(2)}`
        yield* redisBroker.subscribe(channel)
        const plain = { text: "ü ✓ \u2028", n: [1, null] }
        yield* redisBroker.publish(channel, plain)
        yield* redisBroker.publish(channel, { bytes: Buffer.from([1, 2]) })
        yield* redisBroker.publish(channel, undefined)
        const [first, second, third] = [yield* Queue.take(inbox), yield* Queue.take(inbox), yield* Queue.take(inbox)]
        assert.deepStrictEqual(first, { data: plain, json: JSON.stringify(plain) })
        assert.deepStrictEqual(second, { data: { bytes: Buffer.from([1, 2]) }, json: undefined })
        assert.deepStrictEqual(third, { data: undefined, json: undefined })
      }
    }).pipe(Effect.provide(Layer.unwrap(Effect.sync(broker)), { local: true }))
  )

  /**
   * JSON as another publisher may write it ("J" + any JSON text): decoding and encoding it
   * again gives other bytes (`{"s":"é/","n":[1.5,0,1000]}` for the first).
   */
  const publisherTexts = ['{ "s" : "\\u00e9\\/" , "n" : [ 1.50 , -0.0, 1E3 ] }', '[ "two" , {} ]', '"thr\\u0065e"']

  /** Appends `text` to `channel`'s history as the broker's append script does, announced on `announceOn` (default: the channel's). */
  const append = (channel: string, text: string, announceOn = `sc:${channel}`) =>
    Effect.gen(function* () {
      const raw = yield* Effect.acquireRelease(
        Effect.promise(() => createClient({ url: redis.url }).connect()),
        (c) => Effect.promise(() => c.close())
      )
      const args = StreamScripts.appendArgs(
        { length: 100, ageMs: undefined },
        announceOn,
        `J${text}`,
        "60000",
        "PUBLISH"
      )
      const keys = [StreamScripts.streamKey("sc:", channel), StreamScripts.metaKey("sc:", channel)]
      yield* Effect.promise(() => raw.sendCommand(["EVAL", StreamScripts.append.source, "2", ...keys, ...args]))
    }).pipe(Effect.scoped)

  const publishFrames = (raw: ReadonlyArray<string>) =>
    raw.filter((message) => message.startsWith('{"event":"#publish"'))

  it.live("a requested replay frames each publication's stored text byte for byte, with its position", () =>
    Effect.gen(function* () {
      const server = yield* startServer({}, Layer.empty, broker())
      const channel = `hist-replay-${Math.random().toString(36).slice(2)}`
      for (const text of publisherTexts) yield* append(channel, text)
      const { c, raw } = yield* client(server)
      const inbox = new Inbox()
      const ack = yield* Effect.promise(() => subscribeWith(c, channel, { recover: { offset: 0, epoch: "" } }, inbox))
      const { epoch } = ack as { epoch: string }
      assert.deepStrictEqual(ack, { offset: 3, epoch, replayed: 3 })
      yield* Effect.promise(() => inbox.atLeast(3))
      assert.deepStrictEqual(
        publishFrames(raw),
        publisherTexts.map(
          (text, i) =>
            `{"event":"#publish","data":{"channel":${JSON.stringify(channel)},"data":${text},"offset":${i + 1},"epoch":${JSON.stringify(epoch)}}}`
        )
      )
      assert.deepStrictEqual(
        inbox.items,
        publisherTexts.map((text) => JSON.parse(text))
      )
    }).pipe(Effect.scoped)
  )

  it.live("the broker's catch-up after missed announcements frames the stored text byte for byte", () =>
    Effect.gen(function* () {
      const server = yield* startServer({}, Layer.empty, broker())
      const channel = `hist-catchup-${Math.random().toString(36).slice(2)}`
      const subscribers = [yield* client(server), yield* client(server)]
      const inboxes = subscribers.map(() => new Inbox())
      yield* Effect.forEach(subscribers, ({ c }, i) => Effect.promise(() => subscribe(c, channel, inboxes[i]!)))
      // The first two are appended but announced where nobody listens: the third's offset jumps,
      // and the broker reads all three from history (what it does for every channel after an outage).
      const [first, second, third] = publisherTexts as [string, string, string]
      yield* append(channel, first, `sc:nobody-${channel}`)
      yield* append(channel, second, `sc:nobody-${channel}`)
      yield* append(channel, third)
      const expected = publisherTexts.map(
        (text) => `{"event":"#publish","data":{"channel":${JSON.stringify(channel)},"data":${text}}}`
      )
      for (const [i, { raw }] of subscribers.entries()) {
        yield* Effect.promise(() => inboxes[i]!.atLeast(3))
        assert.deepStrictEqual(publishFrames(raw), expected, `the raw frames of subscriber ${i}`)
        assert.deepStrictEqual(
          inboxes[i]!.items,
          publisherTexts.map((text) => JSON.parse(text))
        )
      }
    }).pipe(Effect.scoped)
  )
})
