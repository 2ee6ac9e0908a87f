/**
 * The exchange data API with v14 callbacks (spec framework.md FW-43..FW-52, FW-63): the
 * callback shapes, arities and options of sc-broker-cluster's exchange, in one process.
 */
import { afterEach, describe, expect, it, vi } from "vitest"
import type { SCExchange } from "../src/index.js"
import { startServer } from "./helpers.js"

/** Calls a v14 data method and resolves with every argument its callback got. */
const call = (exchange: SCExchange, method: string, ...args: Array<unknown>): Promise<Array<unknown>> =>
  new Promise((resolve) => {
    const fn = Reflect.get(exchange, method) as (...a: Array<unknown>) => void
    fn.call(exchange, ...args, (...answer: Array<unknown>) => resolve(answer))
  })

afterEach(() => {
  vi.useRealTimers()
})

describe("exchange data API (v14 callbacks)", () => {
  it("reads a missing key with exactly one callback argument", async () => {
    const { exchange } = await startServer()
    expect(await call(exchange, "get", "nope")).toEqual([null])
    expect(await call(exchange, "hasKey", "nope")).toEqual([null, false])
    expect(await call(exchange, "count", "nope")).toEqual([null, 0])
    expect(await call(exchange, "getRange", "nope", 0, 2)).toEqual([null, {}])
  })

  it("sets and reads key chains; set answers a value only with getValue", async () => {
    const { exchange } = await startServer()
    expect(await call(exchange, "set", ["obj", "a", "b"], 5)).toEqual([null])
    expect(await call(exchange, "get", ["obj"])).toEqual([null, { a: { b: 5 } }])
    expect(await call(exchange, "get", ["obj", "a", "b"])).toEqual([null, 5])
    expect(await call(exchange, "get", "obj.a")).toEqual([null])
    expect(await call(exchange, "set", "k", "v")).toEqual([null])
    expect(await call(exchange, "set", "k", "v2", true)).toEqual([null, "v2"])
  })

  it("add, getRange, pop, splice, removeRange and remove answer as v14", async () => {
    const { exchange } = await startServer()
    await call(exchange, "set", "k", "v2")
    await call(exchange, "set", "arr", ["a", "b", "c"])
    expect(await call(exchange, "add", "arr", "d")).toEqual([null, 3])
    expect(await call(exchange, "add", "new", "x")).toEqual([null, 0])
    expect(await call(exchange, "get", "new")).toEqual([null, ["x"]])
    expect(await call(exchange, "add", "k", "x")).toEqual([null, 1])
    expect(await call(exchange, "get", "k")).toEqual([null, ["v2", "x"]])
    expect(await call(exchange, "getRange", "arr", 1, 3)).toEqual([null, ["b", "c"]])
    expect(await call(exchange, "getRange", "arr", 2)).toEqual([null, ["c", "d"]])
    expect(await call(exchange, "getRange", "arr", 0, 0)).toEqual([null, ["a", "b", "c", "d"]])
    expect(await call(exchange, "pop", "arr")).toEqual([null])
    expect(await call(exchange, "pop", "arr", true)).toEqual([null, ["c"]])
    expect(await call(exchange, "splice", "arr", { index: 1, count: 1, items: ["X", "Y"], getValue: true })).toEqual([
      null,
      ["b"]
    ])
    expect(await call(exchange, "get", "arr")).toEqual([null, ["a", "X", "Y"]])
    expect(await call(exchange, "splice", "nope", { index: 0, count: 1, getValue: true })).toEqual([null, []])
    expect(await call(exchange, "removeRange", "arr", 1, 2, true)).toEqual([null, ["X"]])
    expect(await call(exchange, "removeRange", "arr", 0, { toIndex: 1, getValue: true })).toEqual([null, ["a"]])
    expect(await call(exchange, "remove", "arr", true)).toEqual([null, ["Y"]])
    expect(await call(exchange, "remove", "arr", true)).toEqual([null, undefined])
    await call(exchange, "set", ["obj", "a", "b"], 5)
    expect(await call(exchange, "remove", ["obj", "a"], { getValue: true })).toEqual([null, { b: 5 }])
    expect(await call(exchange, "remove", "obj")).toEqual([null])
  })

  it("removeAll and expire answer one entry per broker; a fire-and-forget call still runs", async () => {
    const { exchange } = await startServer()
    exchange.set("solo", 1)
    expect(await call(exchange, "get", "solo")).toEqual([null, 1])
    expect(await call(exchange, "expire", ["solo"], 60)).toEqual([null, [undefined]])
    const [error, expiry] = await call(exchange, "getExpiry", "solo")
    expect(error).toBeNull()
    expect(expiry).toBeGreaterThan(Date.now() / 1000 + 50)
    expect(await call(exchange, "unexpire", ["solo"])).toEqual([null, [undefined]])
    expect(await call(exchange, "getExpiry", "solo")).toEqual([null])
    expect(await call(exchange, "removeAll")).toEqual([null, [undefined]])
    expect(await call(exchange, "getAll")).toEqual([null, {}])
  })

  it("a malformed key chain fails the callback and leaves the store working", async () => {
    const { exchange } = await startServer()
    const [error] = await call(exchange, "set", [], 1)
    expect(error).toMatchObject({ name: "DataStoreError", reason: "InvalidArguments" })
    expect(await call(exchange, "set", "fine", 1)).toEqual([null])
    expect(await call(exchange, "get", "fine")).toEqual([null, 1])
  })

  it("noAck runs the command but its callback times out after 10 s, as v14", async () => {
    const { exchange } = await startServer()
    await call(exchange, "set", "foo", 1)
    vi.useFakeTimers({ toFake: ["setTimeout"] })
    const answer = call(exchange, "remove", "foo", { noAck: true })
    vi.advanceTimersByTime(10_000)
    const [error] = await answer
    vi.useRealTimers()
    expect(error).toMatchObject({ name: "TimeoutError", message: "Broker Error - The remove action timed out" })
    expect(await call(exchange, "get", "foo")).toEqual([null])
  })

  it("extractKeys and extractValues work (v14.4.2 threw)", async () => {
    const { exchange } = await startServer()
    expect(exchange.extractKeys({ a: 1, b: 2 })).toEqual(["a", "b"])
    expect(exchange.extractValues({ a: 1, b: 2 })).toEqual([1, 2])
  })
})
