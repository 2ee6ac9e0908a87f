import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import fc from "fast-check"
import { decodeRecoverRequest } from "../src/Recovery.js"
import { type RawClient, rawClient, startServer } from "./helpers.js"

/** Handshakes a raw client (protocol v1 frames, answered pings). */
const handshaken = (client: RawClient) =>
  Effect.gen(function* () {
    client.ws.on("message", (data) => {
      if (data.toString() === "#1") client.send("#2")
    })
    client.send('{"event":"#handshake","data":{},"cid":1}')
    yield* client.waitFor((frame) => frame.startsWith('{"rid":1,'))
    return client
  })

const publishFrames = (client: RawClient) =>
  client.frames.filter((frame) => frame.startsWith('{"event":"#publish"')).map((frame) => JSON.parse(frame).data)

describe("decodeRecoverRequest", () => {
  it("is total: any subscribe data gives a request or undefined, never a throw", () => {
    fc.assert(
      fc.property(fc.anything({ withNullPrototype: true, withObjectString: true }), (data) => {
        const decoded = decodeRecoverRequest(data)
        assert.isTrue(decoded === undefined || typeof decoded === "object")
      })
    )
  })

  it("decodes exactly the two documented shapes", () => {
    fc.assert(
      fc.property(fc.nat({ max: Number.MAX_SAFE_INTEGER }), fc.string({ maxLength: 64 }), (offset, epoch) => {
        assert.deepStrictEqual(decodeRecoverRequest({ recover: { offset, epoch } }), { since: { offset, epoch } })
      })
    )
    assert.deepStrictEqual(decodeRecoverRequest({ recover: true }), { since: undefined })
  })

  it("leaves every other data alone (an ordinary subscription)", () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.anything().filter((v) => v !== true && (typeof v !== "object" || v === null)),
          fc.record({
            offset: fc.oneof(
              fc.double().filter((d) => !Number.isSafeInteger(d)),
              fc.string(),
              fc.integer({ max: -1 })
            ),
            epoch: fc.string()
          }),
          fc.record({ offset: fc.nat(), epoch: fc.oneof(fc.nat(), fc.string({ minLength: 65 })) })
        ),
        (recover) => {
          assert.isUndefined(decodeRecoverRequest({ recover }))
        }
      )
    )
    assert.isUndefined(decodeRecoverRequest(undefined))
    assert.isUndefined(decodeRecoverRequest({ other: 1 }))
    assert.isUndefined(decodeRecoverRequest([{ recover: true }]))
  })
})

describe("client-requested recovery on the wire (one process, memory broker)", () => {
  it.live("a subscriber that asks gets offsets, what it missed, then live; one that does not ask sees v14 frames", () =>
    Effect.gen(function* () {
      const server = yield* startServer()
      const plain = yield* handshaken(yield* rawClient(server))
      plain.send('{"event":"#subscribe","data":{"channel":"wire"},"cid":2}')
      assert.strictEqual(yield* plain.waitFor((f) => f.startsWith('{"rid":2')), '{"rid":2}')
      const first = yield* handshaken(yield* rawClient(server))
      first.send('{"event":"#subscribe","data":{"channel":"wire","data":{"recover":true}},"cid":2}')
      const firstAck = JSON.parse(yield* first.waitFor((f) => f.startsWith('{"rid":2')))
      assert.deepStrictEqual(firstAck, { rid: 2, data: { offset: 0, epoch: "", replayed: 0 } })
      for (const n of [1, 2, 3]) yield* server.exchange.publish("wire", { n })
      yield* first.waitFor((f) => f.includes('"n":3'))
      const seen = publishFrames(first)
      assert.deepStrictEqual(
        seen.map((d: { offset: number; data: unknown }) => [d.offset, d.data]),
        [
          [1, { n: 1 }],
          [2, { n: 2 }],
          [3, { n: 3 }]
        ]
      )
      const epoch: string = seen[0].epoch
      assert.isString(epoch)
      // The plain subscriber's frames are exactly what v14 servers send.
      yield* plain.waitFor((f) => f.includes('"n":3'))
      assert.deepStrictEqual(
        plain.frames.filter((f) => f.startsWith('{"event":"#publish"')),
        [1, 2, 3].map((n) => `{"event":"#publish","data":{"channel":"wire","data":{"n":${n}}}}`)
      )

      // Offsets 4 and 5 are missed; the subscriber comes back from offset 3.
      for (const n of [4, 5]) yield* server.exchange.publish("wire", { n })
      const back = yield* handshaken(yield* rawClient(server))
      back.send(
        JSON.stringify({
          event: "#subscribe",
          data: { channel: "wire", data: { recover: { offset: 3, epoch } } },
          cid: 2
        })
      )
      const ack = JSON.parse(yield* back.waitFor((f) => f.startsWith('{"rid":2')))
      assert.deepStrictEqual(ack, { rid: 2, data: { offset: 5, epoch, replayed: 2 } })
      yield* server.exchange.publish("wire", { n: 6 })
      yield* back.waitFor((f) => f.includes('"n":6'))
      assert.deepStrictEqual(
        publishFrames(back).map((d: { offset: number; data: unknown }) => [d.offset, d.data]),
        [
          [4, { n: 4 }],
          [5, { n: 5 }],
          [6, { n: 6 }]
        ]
      )
      // The replay came before the answer.
      const order = back.frames.filter((f) => f.startsWith('{"rid":2') || f.startsWith('{"event":"#publish"'))
      assert.isTrue(order[2]?.startsWith('{"rid":2'))
    }).pipe(Effect.scoped)
  )
})
