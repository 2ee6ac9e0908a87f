import { assert, describe, it } from "@effect/vitest"
import fc from "fast-check"
import * as History from "../src/History.js"
import { HistoryBuffer } from "../src/HistoryBuffer.js"

const policyOf = (length: number) => History.compile({ default: { length } })("channel")!

describe("HistoryBuffer", () => {
  it("keeps a channel's first small publications as strings, then 1 KiB, then whole pages", () => {
    const buffer = new HistoryBuffer("epoch")
    const policy = policyOf(1000)
    assert.strictEqual(buffer.capacityBytes, 0)
    // 13 bytes each: up to 256 bytes (19 of them) need no buffer.
    for (let s = 0; s < 10; s++) buffer.append({ c: 1, s }, `{"c":1,"s":${s}}`, undefined, 0, policy, 1 << 20)
    assert.strictEqual(buffer.capacityBytes, 0)
    for (let s = 10; s < 30; s++) buffer.append({ c: 1, s }, `{"c":1,"s":${s}}`, undefined, 0, policy, 1 << 20)
    assert.strictEqual(buffer.capacityBytes, 1024)
    for (let s = 30; s < 200; s++) buffer.append({ c: 1, s }, `{"c":1,"s":${s}}`, undefined, 0, policy, 1 << 20)
    assert.strictEqual(buffer.capacityBytes % 4096, 0)
    assert.deepStrictEqual(
      buffer.readAfter(0).map((p) => p.data),
      Array.from({ length: 200 }, (_, s) => ({ c: 1, s }))
    )
  })

  it("a channel whose history aged out keeps its next publications as strings again", () => {
    const buffer = new HistoryBuffer("epoch")
    const policy = History.compile({ default: { length: 1000, age: "1 second" } })("channel")!
    const text = (s: number) => `${"x".repeat(20)}${s}`
    for (let s = 0; s < 40; s++) buffer.append(text(s), JSON.stringify(text(s)), undefined, 0, policy, 1 << 20)
    assert.strictEqual(buffer.capacityBytes, 1024)
    buffer.append("late", '"late"', undefined, 5000, policy, 1 << 20)
    assert.strictEqual(buffer.capacityBytes, 0)
    assert.deepStrictEqual(buffer.readAfter(0), [{ offset: 41, data: "late", json: '"late"' }])
  })

  it("reads back the newest publications, in order, whatever their sizes and the bounds", () => {
    fc.assert(
      fc.property(
        fc.array(fc.string({ unit: "grapheme", maxLength: 3000 }), { minLength: 1, maxLength: 60 }),
        fc.integer({ min: 1, max: 40 }),
        fc.integer({ min: 64, max: 16 * 1024 }),
        (texts, length, maxBytes) => {
          const buffer = new HistoryBuffer("epoch")
          const policy = policyOf(length)
          for (const text of texts) buffer.append(text, JSON.stringify(text), undefined, 0, policy, maxBytes)
          const retained = buffer.readAfter(0)
          // The newest ones that fit both bounds, contiguous up to the top.
          const expected: Array<string> = []
          let bytes = 0
          for (let k = texts.length - 1; k >= 0 && expected.length < length; k--) {
            const size = Buffer.byteLength(JSON.stringify(texts[k]))
            if (bytes + size > maxBytes) break
            bytes += size
            expected.unshift(texts[k]!)
          }
          assert.deepStrictEqual(
            retained.map((p) => p.data),
            expected
          )
          assert.deepStrictEqual(
            retained.map((p) => p.offset),
            expected.map((_, k) => texts.length - expected.length + 1 + k)
          )
        }
      )
    )
  })

  it("small publications, values without text among them, read back exactly across the switch to bytes", () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(fc.string({ unit: "grapheme", maxLength: 40 }), fc.bigInt()), {
          minLength: 1,
          maxLength: 80
        }),
        fc.integer({ min: 1, max: 50 }),
        (values, length) => {
          const buffer = new HistoryBuffer("epoch")
          const policy = policyOf(length)
          for (const value of values) {
            const json = typeof value === "string" ? JSON.stringify(value) : undefined
            buffer.append(value, json, undefined, 0, policy, 1 << 20)
          }
          const retained = buffer.readAfter(0)
          const expected = values.slice(-length)
          assert.deepStrictEqual(
            retained.map((p) => p.data),
            expected
          )
          assert.deepStrictEqual(
            retained.map((p) => p.offset),
            expected.map((_, k) => values.length - expected.length + 1 + k)
          )
        }
      )
    )
  })
})
