/** The client's classifier of server frames, on packets generated from the protocol Schemas. */
import { assert, describe, it } from "@effect/vitest"
import { Arbitraries, json } from "@effect-socketcluster/protocol"
import { Arbitrary, Schema } from "effect"
import { Recovery } from "../src/index.js"
import { classifyServerPacket } from "../src/ServerPacket.js"

const roundTrip = (packet: unknown): unknown => json.decode(json.encode(packet))

describe("classifyServerPacket", () => {
  it.prop("a publication gives its channel and data", [Arbitraries.publishDelivery], ([packet]) => {
    const decoded = roundTrip(packet) as { data: { data?: unknown } }
    assert.deepStrictEqual(classifyServerPacket(decoded), {
      _tag: "Publish",
      channel: packet.data.channel,
      data: decoded.data.data,
      position: undefined
    })
  })

  it.prop(
    "a publication on a recovering subscription gives its position",
    [Arbitrary.schema(Recovery.PositionedPublishData)],
    ([data]) => {
      const decoded = roundTrip({ event: "#publish", data }) as { data: { data?: unknown } }
      assert.deepStrictEqual(classifyServerPacket(decoded), {
        _tag: "Publish",
        channel: data.channel,
        data: decoded.data.data,
        position: { offset: data.offset, epoch: data.epoch }
      })
    }
  )

  it.prop("#setAuthToken gives the token and the cid", [Arbitraries.setAuthTokenPacket], ([packet]) => {
    assert.deepStrictEqual(classifyServerPacket(roundTrip(packet)), {
      _tag: "SetAuthToken",
      token: packet.data.token,
      cid: packet.cid
    })
  })

  it.prop("#kickOut gives the channel", [Arbitraries.kickOutPacket], ([packet]) => {
    const classified = classifyServerPacket(roundTrip(packet))
    assert.strictEqual(classified._tag, "KickOut")
    assert.strictEqual(classified._tag === "KickOut" ? classified.channel : undefined, packet.data.channel)
  })

  it.prop("#disconnect gives the code", [Arbitraries.disconnectPacket], ([packet]) => {
    const classified = classifyServerPacket(roundTrip(packet))
    assert.strictEqual(classified._tag === "Disconnect" ? classified.code : undefined, packet.data.code)
  })

  it.prop("#removeAuthToken, v1 (data null) and v2 (no data)", [Arbitraries.removeAuthTokenPacket], ([packet]) => {
    assert.deepStrictEqual(classifyServerPacket(roundTrip(packet)), { _tag: "RemoveAuthToken", cid: packet.cid })
    assert.deepStrictEqual(classifyServerPacket({ event: "#removeAuthToken" }), {
      _tag: "RemoveAuthToken",
      cid: undefined
    })
  })

  it.prop("a response gives its rid, error and data", [Arbitraries.responsePacket], ([packet]) => {
    const decoded = roundTrip(packet) as { rid: number | string; error?: unknown; data?: unknown }
    assert.deepStrictEqual(classifyServerPacket(decoded), {
      _tag: "Response",
      rid: decoded.rid,
      error: decoded.error,
      data: decoded.data
    })
  })

  it.prop("every server packet classifies without throwing", [Arbitraries.outboundPacket], ([packet]) => {
    const classified = classifyServerPacket(roundTrip(packet))
    const expected = typeof packet === "string" ? "Raw" : "rid" in packet ? "Response" : undefined
    if (expected !== undefined) assert.strictEqual(classified._tag, expected)
  })

  it.prop("arbitrary JSON never throws", [Arbitraries.json], ([value]) => {
    assert.isString(classifyServerPacket(value)._tag)
  })
})

describe("Recovery.readAck", () => {
  it.prop("a recovery answer gives its position and gap", [Arbitrary.schema(Recovery.RecoveryAck)], ([ack]) => {
    const read = Recovery.readAck(roundTrip(ack))
    const position =
      ack.offset !== undefined && ack.epoch !== undefined ? { offset: ack.offset, epoch: ack.epoch } : undefined
    assert.deepStrictEqual(read.position, position)
    const expectedGap =
      ack.gap === undefined ? undefined : Schema.is(Recovery.GapReason)(ack.gap) ? ack.gap : "Unavailable"
    assert.strictEqual(read.gap, expectedGap)
  })

  it.prop("anything else reads as a server without recovery", [Arbitraries.json], ([value]) => {
    const read = Recovery.readAck(value)
    const looksLikeAck = typeof value === "object" && value !== null && "replayed" in value
    if (!looksLikeAck) assert.deepStrictEqual(read, { position: undefined, gap: "Unsupported" })
  })
})
