/** The client's classifier of server frames, on packets generated from the protocol Schemas. */
import { assert, describe, it } from "@effect/vitest"
import { Arbitraries, json } from "@effect-socketcluster/protocol"
import { classifyServerPacket } from "../src/ServerPacket.js"

const roundTrip = (packet: unknown): unknown => json.decode(json.encode(packet))

describe("classifyServerPacket", () => {
  it.prop("a publication gives its channel and data", [Arbitraries.publishDelivery], ([packet]) => {
    const decoded = roundTrip(packet) as { data: { data?: unknown } }
    assert.deepStrictEqual(classifyServerPacket(decoded), {
      _tag: "Publish",
      channel: packet.data.channel,
      data: decoded.data.data
    })
  })

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
