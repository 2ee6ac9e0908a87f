import { assert, describe, it } from "@effect/vitest"
import { Arbitrary, Option, Schema } from "effect"
import {
  Arbitraries,
  AuthenticateRequest,
  classify,
  DisconnectPacket,
  EventPacket,
  HandshakeRequest,
  type InboundPacket,
  isBatch,
  isFalsyCid,
  json,
  OutboundPacket,
  PublishRequest,
  RemoveAuthTokenRequest,
  ResponsePacket,
  SubscribeRequest,
  UnsubscribeRequest
} from "../src/index.js"

// What v14 requires of the data of #subscribe and #publish, as Classify states it.
const subscribeDataIn = Schema.decodeUnknownOption(
  Schema.Union([Schema.String, Schema.Struct({ channel: Schema.String })])
)
const publishDataIn = Schema.decodeUnknownOption(Schema.Struct({ channel: Schema.String }))
// Any JSON, and objects whose channel may or may not be a string, with or without other keys.
const channelData = Arbitrary.schema(
  Schema.Union([
    Schema.Json,
    Schema.Struct({ channel: Schema.Json, data: Schema.optionalKey(Schema.Json) }),
    Schema.Struct({
      channel: Schema.String,
      waitForAuth: Schema.optionalKey(Schema.Json),
      x: Schema.optionalKey(Schema.Json)
    })
  ])
)

const is = {
  handshake: Schema.is(HandshakeRequest),
  authenticate: Schema.is(AuthenticateRequest),
  removeAuthToken: Schema.is(RemoveAuthTokenRequest),
  subscribe: Schema.is(SubscribeRequest),
  unsubscribe: Schema.is(UnsubscribeRequest),
  publish: Schema.is(PublishRequest),
  disconnect: Schema.is(DisconnectPacket),
  event: Schema.is(EventPacket),
  response: Schema.is(ResponsePacket)
}

/** The packet `classify` must give for a well-formed wire packet (compared after a JSON round trip). */
const expected = (sent: unknown): InboundPacket => {
  if (sent === "#2") return { _tag: "Pong" }
  // Compare with what JSON delivers (e.g. -0 becomes 0).
  const packet: unknown = JSON.parse(JSON.stringify(sent))
  if (is.handshake(packet)) return { _tag: "Handshake", cid: packet.cid, authToken: packet.data.authToken || null }
  if (is.authenticate(packet)) return { _tag: "Authenticate", cid: packet.cid, token: packet.data }
  if (is.removeAuthToken(packet)) return { _tag: "RemoveAuthToken" }
  if (is.subscribe(packet)) {
    const options = typeof packet.data === "string" ? { channel: packet.data } : packet.data
    return {
      _tag: "Subscribe",
      cid: packet.cid,
      channel: options.channel,
      waitForAuth: options.waitForAuth === true,
      data: options.data,
      batch: options.batch === true,
      options
    }
  }
  if (is.unsubscribe(packet)) return { _tag: "Unsubscribe", cid: packet.cid, channel: packet.data }
  if (is.publish(packet))
    return { _tag: "Publish", cid: packet.cid, channel: packet.data.channel, data: packet.data.data }
  if (is.disconnect(packet)) return { _tag: "Disconnect", code: packet.data.code, data: packet.data.data }
  if (is.event(packet)) return { _tag: "Event", event: packet.event, cid: packet.cid, data: packet.data }
  if (is.response(packet)) return { _tag: "Response", rid: packet.rid, data: packet.data, error: packet.error }
  throw new Error(`not an inbound packet: ${JSON.stringify(sent)}`)
}

const classifyFrame = (frame: string) => classify(json.decode(frame))

describe("classify: real v14 client frames (spec §5–§11)", () => {
  it("handshake", () => {
    assert.deepStrictEqual(classifyFrame('{"event":"#handshake","data":{"authToken":null},"cid":1}'), {
      _tag: "Handshake",
      cid: 1,
      authToken: null
    })
    assert.deepStrictEqual(classifyFrame('{"event":"#handshake","data":{"authToken":"a.b.c"},"cid":1}'), {
      _tag: "Handshake",
      cid: 1,
      authToken: "a.b.c"
    })
  })

  it("emits with and without cid", () => {
    assert.deepStrictEqual(classifyFrame('{"event":"echo","data":{"a":1},"cid":2}'), {
      _tag: "Event",
      event: "echo",
      cid: 2,
      data: { a: 1 }
    })
    assert.deepStrictEqual(classifyFrame('{"event":"noack","data":1}'), {
      _tag: "Event",
      event: "noack",
      cid: undefined,
      data: 1
    })
  })

  it("subscribe (object form, waitForAuth) and batched subscribe", () => {
    assert.deepStrictEqual(
      classifyFrame('{"event":"#subscribe","data":{"channel":"priv","waitForAuth":true},"cid":7}'),
      {
        _tag: "Subscribe",
        cid: 7,
        channel: "priv",
        waitForAuth: true,
        data: undefined,
        batch: false,
        options: { channel: "priv", waitForAuth: true }
      }
    )
    assert.deepStrictEqual(
      classifyFrame('[{"event":"#subscribe","data":{"channel":"ch2","data":{"p":1},"batch":true},"cid":4}]'),
      [
        {
          _tag: "Subscribe",
          cid: 4,
          channel: "ch2",
          waitForAuth: false,
          data: { p: 1 },
          batch: true,
          options: { channel: "ch2", data: { p: 1 }, batch: true }
        }
      ]
    )
  })

  it("subscribe keeps extra option keys and normalises the string form", () => {
    const extra = classifyFrame('{"event":"#subscribe","data":{"channel":"a","custom":5},"cid":3}')
    assert.deepStrictEqual(!isBatch(extra) && extra._tag === "Subscribe" && extra.options, { channel: "a", custom: 5 })
    assert.deepStrictEqual(classifyFrame('{"event":"#subscribe","data":"a","cid":3}'), {
      _tag: "Subscribe",
      cid: 3,
      channel: "a",
      waitForAuth: false,
      data: undefined,
      batch: false,
      options: { channel: "a" }
    })
  })

  it("unsubscribe, also batched", () => {
    assert.deepStrictEqual(classifyFrame('{"event":"#unsubscribe","data":"ch2"}'), {
      _tag: "Unsubscribe",
      cid: undefined,
      channel: "ch2"
    })
    assert.deepStrictEqual(classifyFrame('[{"event":"#unsubscribe","data":"ch2"}]'), [
      { _tag: "Unsubscribe", cid: undefined, channel: "ch2" }
    ])
  })

  it("publish with and without cid", () => {
    assert.deepStrictEqual(classifyFrame('{"event":"#publish","data":{"channel":"ch1","data":"pubdata"},"cid":5}'), {
      _tag: "Publish",
      cid: 5,
      channel: "ch1",
      data: "pubdata"
    })
    assert.deepStrictEqual(classifyFrame('{"event":"#publish","data":{"channel":"ch1","data":"pubdata"}}'), {
      _tag: "Publish",
      cid: undefined,
      channel: "ch1",
      data: "pubdata"
    })
  })

  it("authenticate, removeAuthToken, disconnect, pong, response", () => {
    assert.deepStrictEqual(classifyFrame('{"event":"#authenticate","data":"a.b.c","cid":2}'), {
      _tag: "Authenticate",
      cid: 2,
      token: "a.b.c"
    })
    assert.deepStrictEqual(classifyFrame('{"event":"#removeAuthToken"}'), { _tag: "RemoveAuthToken" })
    assert.deepStrictEqual(classifyFrame('{"event":"#disconnect","data":{"code":4123,"data":"client reason"}}'), {
      _tag: "Disconnect",
      code: 4123,
      data: "client reason"
    })
    assert.deepStrictEqual(classifyFrame("#2"), { _tag: "Pong" })
    assert.deepStrictEqual(classifyFrame('{"rid":1,"data":"answer!"}'), {
      _tag: "Response",
      rid: 1,
      data: "answer!",
      error: undefined
    })
  })
})

describe("classify: malformed input (spec §14)", () => {
  it("not JSON, JSON primitives, objects without event/rid, nested arrays are Raw", () => {
    for (const frame of ["hello", "123", '"#2"', "null", "{bad", "#1", '{"a":1}', '{"event":null,"rid":null}']) {
      assert.deepStrictEqual(classifyFrame(frame), { _tag: "Raw" }, frame)
    }
    assert.deepStrictEqual(classifyFrame('[[{"event":"x"}],5,"#2"]'), [
      { _tag: "Raw" },
      { _tag: "Raw" },
      { _tag: "Raw" }
    ])
    assert.deepStrictEqual(classify(null), { _tag: "Raw" })
    assert.deepStrictEqual(classify(undefined), { _tag: "Raw" })
  })

  it("an empty batch is nothing", () => {
    assert.deepStrictEqual(classifyFrame("[]"), [])
  })

  it("reserved events with bad data are InvalidPacket with the raw data", () => {
    const cases: Array<[string, string, unknown]> = [
      ['{"event":"#subscribe","data":null,"cid":2}', "#subscribe", null],
      ['{"event":"#subscribe","data":5,"cid":2}', "#subscribe", 5],
      ['{"event":"#subscribe","data":["a"],"cid":2}', "#subscribe", ["a"]],
      ['{"event":"#subscribe","data":{"channel":{"a":1}},"cid":2}', "#subscribe", { channel: { a: 1 } }],
      ['{"event":"#subscribe","cid":2}', "#subscribe", undefined],
      ['{"event":"#unsubscribe","data":5,"cid":2}', "#unsubscribe", 5],
      ['{"event":"#publish","data":null,"cid":2}', "#publish", null],
      ['{"event":"#publish","data":{"channel":5,"data":1},"cid":2}', "#publish", { channel: 5, data: 1 }]
    ]
    for (const [frame, event, data] of cases) {
      const packet = classifyFrame(frame)
      assert.isFalse(isBatch(packet), frame)
      if (isBatch(packet) || packet._tag !== "InvalidPacket") return assert.fail(`${frame} was not InvalidPacket`)
      assert.strictEqual(packet.event, event)
      assert.strictEqual(packet.cid, 2)
      assert.deepStrictEqual(packet.data, data)
      assert.isString(packet.reason)
    }
  })

  it("handshake without usable data has a null token; disconnect without data has undefined code", () => {
    for (const frame of [
      '{"event":"#handshake","cid":1}',
      '{"event":"#handshake","data":null,"cid":1}',
      '{"event":"#handshake","data":"x","cid":1}',
      '{"event":"#handshake","data":{},"cid":1}'
    ]) {
      assert.deepStrictEqual(classifyFrame(frame), { _tag: "Handshake", cid: 1, authToken: null }, frame)
    }
    assert.deepStrictEqual(classifyFrame('{"event":"#handshake"}'), {
      _tag: "Handshake",
      cid: undefined,
      authToken: null
    })
    assert.deepStrictEqual(classifyFrame('{"event":"#disconnect"}'), {
      _tag: "Disconnect",
      code: undefined,
      data: undefined
    })
    assert.deepStrictEqual(classifyFrame('{"event":"#disconnect","data":{"code":"x"}}'), {
      _tag: "Disconnect",
      code: "x",
      data: undefined
    })
  })

  it("unknown # events and local names are plain events; cids are echoed as given", () => {
    assert.deepStrictEqual(classifyFrame('{"event":"#whatever","cid":"abc"}'), {
      _tag: "Event",
      event: "#whatever",
      cid: "abc",
      data: undefined
    })
    assert.deepStrictEqual(classifyFrame('{"event":"message","data":1,"cid":{"x":1}}'), {
      _tag: "Event",
      event: "message",
      cid: undefined,
      data: 1
    })
  })

  it("an object with both event and rid is an event", () => {
    assert.deepStrictEqual(classifyFrame('{"event":"e","rid":1}'), {
      _tag: "Event",
      event: "e",
      cid: undefined,
      data: undefined
    })
  })

  it("isFalsyCid follows v14's truthiness test", () => {
    assert.isTrue(isFalsyCid(undefined))
    assert.isTrue(isFalsyCid(0))
    assert.isTrue(isFalsyCid(""))
    assert.isFalse(isFalsyCid(1))
    assert.isFalse(isFalsyCid("abc"))
  })
})

const isPacketOrBatch = (classified: InboundPacket | ReadonlyArray<InboundPacket>): boolean =>
  isBatch(classified) ? classified.every((p) => typeof p._tag === "string") : typeof classified._tag === "string"

describe("classify: properties", () => {
  it.prop(
    "every inbound wire packet survives encode -> decode -> classify",
    [Arbitraries.inboundPacket],
    ([packet]) => {
      assert.deepStrictEqual(classify(json.decode(json.encode(packet))), expected(packet))
    }
  )

  it.prop("batches classify element by element", [Arbitraries.inboundFrame], ([frame]) => {
    const classified = classify(json.decode(json.encode(frame)))
    if (Array.isArray(frame)) {
      assert.deepStrictEqual(classified, frame.map(expected))
    } else {
      assert.deepStrictEqual(classified, expected(frame))
    }
  })

  it.prop("arbitrary text never throws and always classifies", [Arbitraries.text], ([text]) => {
    assert.isTrue(isPacketOrBatch(classify(json.decode(text))))
  })

  it.prop("arbitrary bytes never throw and always classify", [Arbitraries.bytes], ([bytes]) => {
    assert.isTrue(isPacketOrBatch(classify(json.decode(bytes))))
  })

  it.prop("arbitrary JSON never throws and always classifies", [Arbitraries.json], ([value]) => {
    assert.isTrue(isPacketOrBatch(classify(json.decode(json.encode(value)))))
  })

  // classify recognises `{channel: string}` data directly; the Schema decoders must agree on any data.
  it.prop("subscribe and publish data: valid exactly when the Schema decoders accept it", [channelData], ([data]) => {
    const decoded = json.decode(json.encode({ data }))
    const wire = (decoded as { readonly data?: unknown }).data
    const subscribeOk = Option.isSome(subscribeDataIn(wire))
    const publishOk = Option.isSome(publishDataIn(wire))
    const subscribe = classify({ event: "#subscribe", data: wire, cid: 1 })
    const publish = classify({ event: "#publish", data: wire, cid: 1 })
    assert.strictEqual(!isBatch(subscribe) && subscribe._tag === "Subscribe", subscribeOk)
    assert.strictEqual(!isBatch(publish) && publish._tag === "Publish", publishOk)
    if (!isBatch(publish) && publish._tag === "Publish") {
      const value = Option.getOrThrow(publishDataIn(wire))
      assert.strictEqual(publish.channel, value.channel)
    }
  })

  it.prop("outbound packets round-trip through the codec", [Arbitraries.outboundPacket], ([packet]) => {
    const decoded = Schema.decodeUnknownSync(OutboundPacket)(json.decode(json.encode(packet)))
    assert.isTrue(Schema.toEquivalence(OutboundPacket)(decoded, packet))
  })
})
