import fc from "fast-check"
import { describe, expect, it } from "vitest"
import * as Payload from "../src/Payload.js"

const roundTrip = (value: unknown) => Payload.decode(Payload.encode(value))

const key = fc.oneof(
  fc.string(),
  fc.string().map((s) => `\u0000${s}`),
  fc.constantFrom("\u0000b", "\u0000a", "\u0000\u0000b", "base64", "data", "type")
)
const { tree } = fc.letrec<{ tree: unknown; leaf: unknown; array: Array<unknown>; object: Record<string, unknown> }>(
  (tie) => ({
    tree: fc.oneof({ depthSize: "small" }, tie("leaf"), tie("array"), tie("object")),
    leaf: fc.oneof(
      fc.string({ unit: "grapheme" }),
      fc.double({ noNaN: true, noDefaultInfinity: true }).map((n) => (Object.is(n, -0) ? 0 : n)),
      fc.boolean(),
      fc.constant(null),
      fc.uint8Array({ maxLength: 40 }).map((bytes) => Buffer.from(bytes))
    ),
    array: fc.array(tie("tree"), { maxLength: 5 }),
    object: fc.dictionary(key, tie("tree"), { maxKeys: 5, noNullPrototype: true })
  })
)

describe("Payload", () => {
  it("round-trips JSON values with Buffers anywhere and keys that look like its markers", () => {
    fc.assert(
      fc.property(tree, (value) => {
        expect(roundTrip(value)).toStrictEqual(value)
      }),
      { numRuns: 500 }
    )
  })

  it("restores Buffers and ArrayBuffers as such, unicode intact", () => {
    const bytes = Buffer.from([0, 255, 1, 128, 0x0a])
    const decoded = roundTrip({ text: "héllo ✓ 😀 \u0000 中文", buf: bytes, list: [bytes, 1] })
    expect(decoded).toStrictEqual({ text: "héllo ✓ 😀 \u0000 中文", buf: bytes, list: [bytes, 1] })
    const arrayBuffer = new Uint8Array([9, 8, 7]).buffer
    const restored = roundTrip({ arrayBuffer })
    expect(restored).toHaveProperty("arrayBuffer")
    const value = (restored as { arrayBuffer: unknown }).arrayBuffer
    expect(value).toBeInstanceOf(ArrayBuffer)
    expect([...new Uint8Array(value as ArrayBuffer)]).toEqual([9, 8, 7])
    expect(roundTrip(bytes)).toStrictEqual(bytes)
  })

  it("leaves objects shaped like the SocketCluster binary form alone", () => {
    const lookalike = { base64: true, data: "aGk=" }
    expect(roundTrip(lookalike)).toStrictEqual(lookalike)
    expect(roundTrip({ lookalike, real: Buffer.from("hi") })).toStrictEqual({ lookalike, real: Buffer.from("hi") })
  })

  it("keeps undefined, top-level strings (the '#1' ping text too) and JSON-only values", () => {
    expect(roundTrip(undefined)).toBeUndefined()
    for (const value of ["", "#1", "#2", "plain", "{not json", 0, false, null, [], {}]) {
      expect(roundTrip(value)).toStrictEqual(value)
    }
    expect(roundTrip({ when: new Date(0), skip: undefined })).toStrictEqual({ when: "1970-01-01T00:00:00.000Z" })
  })

  it("delivers foreign messages (say, from redis-cli) as raw text", () => {
    expect(Payload.decode("hello")).toBe("hello")
    expect(Payload.decode("J{broken")).toBe("J{broken")
  })

  it("refuses what JSON cannot carry", () => {
    expect(() => Payload.encode(10n)).toThrow()
    expect(() => Payload.encode(() => 1)).toThrow()
    const cycle: Record<string, unknown> = {}
    cycle.self = cycle
    expect(() => Payload.encode(cycle)).toThrow()
  })
})
