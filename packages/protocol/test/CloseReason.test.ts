import { assert, describe, it } from "@effect/vitest"
import fc from "fast-check"
import { closeFrameReason, MAX_CLOSE_REASON_BYTES } from "../src/index.js"

const utf8 = (s: string): number => new TextEncoder().encode(s).length

describe("closeFrameReason (spec protocol-v2.md §2.2, §3.3)", () => {
  it("strings as they are, other values as JSON, nothing for undefined and null", () => {
    assert.strictEqual(closeFrameReason("custom reason"), "custom reason")
    assert.strictEqual(closeFrameReason({ a: 1 }), '{"a":1}')
    assert.strictEqual(closeFrameReason(42), "42")
    assert.strictEqual(closeFrameReason(undefined), "")
    assert.strictEqual(closeFrameReason(null), "")
  })

  it("cuts to 123 UTF-8 bytes on a character boundary (100 × é → 61 × é)", () => {
    assert.strictEqual(closeFrameReason("é".repeat(100)), "é".repeat(61))
    assert.strictEqual(closeFrameReason("a".repeat(200)), "a".repeat(123))
    assert.strictEqual(closeFrameReason("😀".repeat(40)), "😀".repeat(30))
  })

  it("property: any value gives a prefix of its text that fits a close frame, whole when it fits", () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit: "grapheme", maxLength: 200 }), fc.string({ maxLength: 300 })), (text) => {
        const reason = closeFrameReason(text)
        assert.isAtMost(utf8(reason), MAX_CLOSE_REASON_BYTES)
        assert.isTrue(text.startsWith(reason))
        if (utf8(text) <= MAX_CLOSE_REASON_BYTES) assert.strictEqual(reason, text)
        else assert.isAbove(utf8(text.slice(0, reason.length + 2)), MAX_CLOSE_REASON_BYTES)
      })
    )
  })
})
