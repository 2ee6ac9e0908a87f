import { createRequire } from "node:module"
import { Socket } from "node:net"
import { assert, describe, it } from "@effect/vitest"
import { json as jsonCodec } from "@effect-socketcluster/protocol"
import { Arbitrary, Effect, Fiber, Schema } from "effect"
import { EncodedText } from "../src/Frame.js"
import { OwnedWebSocket } from "../src/OwnedWebSocket.js"
import { type ClientChannel, connectClient, publish, startServer, subscribe } from "./helpers.js"

// ws's own framing (not in its type declarations).
interface FrameOptions {
  readonly fin: boolean
  readonly opcode: number
  readonly mask: boolean
  readonly readOnly: boolean
  readonly rsv1: boolean
}
const ws: { readonly Sender: { frame(data: Buffer, options: FrameOptions): Array<Buffer> } } = createRequire(
  import.meta.url
)("ws")

// What ws itself would put on the wire for a server's text message (final, unmasked, uncompressed).
const wsFrame = (text: string): Buffer =>
  Buffer.concat(ws.Sender.frame(Buffer.from(text), { fin: true, opcode: 1, mask: false, readOnly: false, rsv1: false }))

// The default codec's text for a packet (it writes text, never binary).
const codecText = (packet: unknown): string => {
  const out = jsonCodec.encode(packet)
  assert.strictEqual(typeof out, "string")
  return typeof out === "string" ? out : ""
}

const firstData = (channel: ClientChannel) =>
  Effect.callback<unknown>((resume) => channel.watch((data) => resume(Effect.succeed(data))))

describe("pre-framed publications (EncodedText)", () => {
  it("the shared frame is byte for byte what ws.send writes, at every length form", () => {
    for (const length of [0, 1, 125, 126, 127, 65535, 65536, 70000]) {
      const text = "é".repeat(Math.floor(length / 2)) + "x".repeat(length % 2)
      const encoded = EncodedText.of(text)
      assert.deepStrictEqual(encoded.wire, wsFrame(text), `length ${length}`)
      assert.deepStrictEqual(encoded.bytes, Buffer.from(text))
    }
  })

  it.prop("any text, lone surrogates included", [Arbitrary.schema(Schema.String)], ([text]) => {
    const encoded = EncodedText.of(text)
    assert.deepStrictEqual(encoded.wire, wsFrame(text))
    assert.deepStrictEqual(encoded.bytes, Buffer.from(text))
  })

  // A replay frames the broker's text of the data with its position: it must be what the codec writes.
  it.prop(
    "a publication around its data's JSON, with and without a position, is byte for byte the codec's frame",
    [
      Schema.String,
      Schema.Struct({ text: Schema.String, n: Schema.Array(Schema.Finite) }),
      Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER })),
      Schema.UndefinedOr(Schema.String)
    ],
    ([channel, data, offset, epoch]) => {
      const json = JSON.stringify(data)
      const plain = EncodedText.publication(channel, json)
      assert.deepStrictEqual(plain.wire, wsFrame(codecText({ event: "#publish", data: { channel, data } })))
      const positioned = EncodedText.publication(channel, json, offset, epoch)
      const expected = codecText({ event: "#publish", data: { channel, data, offset, epoch } })
      assert.deepStrictEqual(positioned.wire, wsFrame(expected))
      assert.deepStrictEqual(positioned.bytes, Buffer.from(expected))
    }
  )

  // The writer's direct writes and congestion's `drain` need the TCP socket ws keeps privately.
  it.live("every connection's WebSocket is an OwnedWebSocket with its TCP socket at hand", () =>
    Effect.gen(function* () {
      const server = yield* startServer()
      const client = yield* connectClient(server)
      const ws = server.clients.get(client.id ?? "")?.ws
      assert.instanceOf(ws, OwnedWebSocket)
      const tcp = (ws as OwnedWebSocket).tcpSocket
      assert.instanceOf(tcp, Socket)
      assert.strictEqual(tcp?.localPort, server.sourcePort)
    })
  )

  // Written straight to the TCP socket without permessage-deflate; through ws.send when it may be negotiated.
  for (const perMessageDeflate of [false, true]) {
    it.live(`real clients get every size of publication intact (perMessageDeflate: ${perMessageDeflate})`, () =>
      Effect.gen(function* () {
        const server = yield* startServer({ perMessageDeflate })
        const publisher = yield* connectClient(server)
        const subscribers = [yield* connectClient(server), yield* connectClient(server)]
        for (const [i, text] of ["short ✓", "m".repeat(300), "ü".repeat(40000)].entries()) {
          const channels = yield* Effect.forEach(subscribers, (client) => subscribe(client, `size${i}`))
          const got = yield* Effect.forkChild(Effect.forEach(channels, firstData, { concurrency: "unbounded" }), {
            startImmediately: true
          })
          yield* publish(publisher, `size${i}`, { text })
          const received = yield* Fiber.join(got)
          assert.deepStrictEqual(received, [{ text }, { text }])
        }
        assert.strictEqual(server.clients.size, 3)
      })
    )
  }
})
