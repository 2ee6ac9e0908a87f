import { assert, describe, it } from "@effect/vitest"
import { defaultReconnect } from "../src/BrokerRedis.js"
import * as ReconnectStrategy from "../src/internal/ReconnectStrategy.js"

describe("defaultReconnect", () => {
  it("backs off from about 20 ms, never beyond 500 ms + 20% jitter, and jitters", () => {
    const delays = (): Array<number> => {
      const strategy = ReconnectStrategy.fromSchedule(defaultReconnect)
      const out: Array<number> = []
      for (let retries = 0; retries < 40; retries++) {
        const delay = strategy(retries, new Error("connection refused"))
        if (typeof delay !== "number") throw delay
        out.push(delay)
      }
      return out
    }
    const first = delays()
    assert.isAtMost(first[0]!, 25)
    for (const delay of first) assert.isAtMost(delay, 600)
    assert.isAtLeast(Math.max(...first), 400)
    // Jitter: two outages do not retry on the same beat.
    const second = delays()
    assert.notDeepEqual(first, second)
  })
})
