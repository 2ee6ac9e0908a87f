import { assert, describe, it } from "@effect/vitest"
import fc from "fast-check"
import { decodeRecoverRequest } from "../src/Recovery.js"

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
