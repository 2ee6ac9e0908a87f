import { assert, describe, it } from "@effect/vitest"
import { generateId } from "../src/SocketId.js"

describe("SocketId", () => {
  it("ids are 20 base64url characters and unique across pool refills", () => {
    const ids = new Set<string>()
    for (let i = 0; i < 10_000; i++) {
      const id = generateId()
      assert.match(id, /^[A-Za-z0-9_-]{20}$/)
      ids.add(id)
    }
    assert.strictEqual(ids.size, 10_000)
  })
})
