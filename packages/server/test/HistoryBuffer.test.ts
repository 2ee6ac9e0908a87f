import { assert, describe, it } from "@effect/vitest"
import fc from "fast-check"
import * as History from "../src/History.js"
import { HistoryBuffer } from "../src/HistoryBuffer.js"

const policyOf = (length: number) => History.compile({ default: { length } })("channel")!

describe("HistoryBuffer", () => {
  it("keeps a channel's first small publications in 1 KiB, then grows in whole pages", () => {
    const buffer = new HistoryBuffer("epoch")
    const policy = policyOf(1000)
    assert.strictEqual(buffer.capacityBytes, 0)
    buffer.append({ c: 1, s: 0 }, '{"c":1,"s":0}', undefined, 0, policy, 1 << 20)
    assert.strictEqual(buffer.capacityBytes, 1024)
    for (let s = 1; s < 200; s++) buffer.append({ c: 1, s }, `{"c":1,"s":${s}}`, undefined, 0, policy, 1 << 20)
    assert.strictEqual(buffer.capacityBytes % 4096, 0)
    assert.deepStrictEqual(
      buffer.readAfter(0).map((p) => p.data),
      Array.from({ length: 200 }, (_, s) => ({ c: 1, s }))
    )
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
})
