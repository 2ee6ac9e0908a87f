import { assert, describe, it } from "@effect/vitest"
import { Effect, Schema } from "effect"
import { Arbitraries, Codec, json } from "../src/index.js"

const sameJson = Schema.toEquivalence(Schema.Json)

describe("json codec: encode", () => {
  it("passes ping and pong through unquoted", () => {
    assert.strictEqual(json.encode("#1"), "#1")
    assert.strictEqual(json.encode("#2"), "#2")
  })

  it("writes Buffers and ArrayBuffers as sc-formatter base64 objects (spec §2.1 example)", () => {
    const frame = json.encode({ rid: 6, data: { buf: Buffer.from("hello"), ab: new Uint8Array([1, 2, 3]).buffer } })
    assert.strictEqual(
      frame,
      '{"rid":6,"data":{"buf":{"base64":true,"data":"aGVsbG8="},"ab":{"base64":true,"data":"AQID"}}}'
    )
  })

  it("leaves typed arrays other than Buffer index-keyed, like sc-formatter", () => {
    assert.strictEqual(json.encode({ u: new Uint8Array([1, 2]) }), '{"u":{"0":1,"1":2}}')
  })

  it("converts {type:'Buffer',data:[…]} objects as sc-formatter does", () => {
    assert.strictEqual(json.encode({ b: { type: "Buffer", data: [104, 105] } }), '{"b":{"base64":true,"data":"aGk="}}')
  })

  it("finds binary deep inside arrays and behind toJSON", () => {
    assert.strictEqual(json.encode([[{ x: [Buffer.from([255])] }]]), '[[{"x":[{"base64":true,"data":"/w=="}]}]]')
    const custom = { toJSON: () => ({ inner: Buffer.from("a") }) }
    assert.strictEqual(json.encode({ custom }), '{"custom":{"inner":{"base64":true,"data":"YQ=="}}}')
  })

  it("writes Dates as ISO strings and drops undefined", () => {
    assert.strictEqual(json.encode({ d: new Date(0), u: undefined }), '{"d":"1970-01-01T00:00:00.000Z"}')
  })

  it("throws on circular values", () => {
    const cyclic: Record<string, unknown> = {}
    cyclic.self = cyclic
    assert.throws(() => json.encode(cyclic))
  })

  it.prop("equals JSON.stringify for JSON values", [Arbitraries.json], ([value]) => {
    assert.strictEqual(json.encode(value), value === "#1" || value === "#2" ? value : JSON.stringify(value))
  })

  it.prop("round-trips JSON values through decode", [Arbitraries.json], ([value]) => {
    if (typeof value !== "object" || value === null) return
    const decoded = Schema.decodeUnknownSync(Schema.Json)(json.decode(json.encode(value)))
    assert.isTrue(sameJson(decoded, value))
  })
})

describe("json codec: decode", () => {
  it("follows spec §2.2", () => {
    assert.strictEqual(json.decode("#1"), "#1")
    assert.strictEqual(json.decode("#2"), "#2")
    assert.strictEqual(json.decode('"#2"'), '"#2"')
    assert.strictEqual(json.decode("123"), "123")
    assert.strictEqual(json.decode("hello"), "hello")
    assert.strictEqual(json.decode("{not json"), "{not json")
    assert.deepStrictEqual(json.decode(' \n\t{"a":1}'), { a: 1 })
    assert.deepStrictEqual(json.decode("[1,2]"), [1, 2])
    assert.strictEqual(json.decode(""), "")
  })

  it("reads bytes as UTF-8", () => {
    assert.deepStrictEqual(json.decode(Buffer.from('{"event":"é","cid":1}')), { event: "é", cid: 1 })
    assert.deepStrictEqual(json.decode(new TextEncoder().encode('{"a":[1]}')), { a: [1] })
    assert.strictEqual(json.decode(Buffer.from("#2")), "#2")
  })

  it("does not turn base64 objects back into bytes", () => {
    assert.deepStrictEqual(json.decode('{"base64":true,"data":"AQID"}'), { base64: true, data: "AQID" })
  })

  it.prop("never throws on arbitrary text", [Arbitraries.text], ([text]) => {
    const decoded = json.decode(text)
    assert.isTrue(typeof decoded === "string" || (typeof decoded === "object" && decoded !== null))
  })

  it.prop("never throws on arbitrary bytes", [Arbitraries.bytes], ([bytes]) => {
    json.decode(bytes)
  })
})

describe("Codec service", () => {
  it.effect("provides the json codec by default", () =>
    Effect.gen(function* () {
      assert.strictEqual(yield* Codec, json)
    }).pipe(Effect.provide(Codec.layer))
  )

  it.effect("provides any engine with layerFrom", () => {
    const custom = { encode: (value: unknown) => String(value), decode: (message: string | Uint8Array) => message }
    return Effect.gen(function* () {
      assert.strictEqual(yield* Codec, custom)
    }).pipe(Effect.provide(Codec.layerFrom(custom)))
  })
})
