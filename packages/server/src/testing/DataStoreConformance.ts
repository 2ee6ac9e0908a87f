/**
 * The data-store contract as a reusable test suite (the exchange data API semantics of
 * spec framework.md §6.2–§6.4). Every store must pass it:
 *
 * ```ts
 * import { runDataStoreConformance } from "@effect-socketcluster/server/testing"
 * runDataStoreConformance("MyStore", MyStore.layer)
 * ```
 *
 * The layer should sweep expiries often (e.g. every 100 ms): the expiry tests wait for a
 * 1-second expiry to happen (polling the store, with a deadline) rather than sleeping.
 * Keys are unique per test, except in the `removeAll` test, so a shared store is fine.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import type * as Layer from "effect/Layer"
import * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"
import { DataStore, type DataStoreShape, type KeyChain } from "../DataStore.js"

const unique = (prefix: string) => `${prefix}-${Math.random().toString(36).slice(2)}`

/** Polls `keyChain` until it is absent (at most `seconds`); fails the test otherwise. */
const awaitGone = (data: DataStoreShape, keyChain: KeyChain, seconds: number) =>
  data.hasKey(keyChain).pipe(
    Effect.repeat({ until: (present) => !present, schedule: Schedule.spaced("50 millis") }),
    Effect.timeoutOrElse({
      duration: `${seconds} seconds`,
      orElse: () => Effect.die(new Error(`${JSON.stringify(keyChain)} did not expire within ${seconds} s`))
    })
  )

/** Registers the conformance tests for the store built by `layer` (fresh per test). */
export const runDataStoreConformance = <E>(name: string, layer: Layer.Layer<DataStore, E>): void => {
  describe(`DataStore conformance: ${name}`, () => {
    const run = (body: (data: DataStoreShape) => Effect.Effect<void, unknown, Scope.Scope>) =>
      Effect.gen(function* () {
        const data = yield* DataStore
        yield* body(data)
      }).pipe(Effect.scoped, Effect.provide(layer, { local: true }))

    it.live("a missing key reads as absent", () =>
      run((data) =>
        Effect.gen(function* () {
          const k = unique("nope")
          assert.strictEqual(yield* data.get(k), undefined)
          assert.strictEqual(yield* data.hasKey(k), false)
          assert.strictEqual(yield* data.count(k), 0)
          assert.deepStrictEqual(yield* data.getRange(k, 0, 2), {})
          assert.deepStrictEqual(yield* data.pop(k), [])
          assert.deepStrictEqual(yield* data.splice(k, { index: 0, count: 1 }), [])
          assert.strictEqual(yield* data.remove(k), undefined)
          assert.deepStrictEqual(yield* data.removeRange(k, 0), {})
        })
      )
    )

    it.live("key chains address nested containers; there is no dot-path parsing", () =>
      run((data) =>
        Effect.gen(function* () {
          const obj = unique("obj")
          yield* data.set([obj, "a", "b"], 5)
          assert.deepStrictEqual(yield* data.get([obj]), { a: { b: 5 } })
          assert.deepStrictEqual(yield* data.get(obj), { a: { b: 5 } })
          assert.strictEqual(yield* data.get([obj, "a", "b"]), 5)
          assert.strictEqual(yield* data.get(`${obj}.a`), undefined)
          yield* data.set([obj, "a", "b", "c"], "deep")
          assert.deepStrictEqual(yield* data.get(obj), { a: { b: { c: "deep" } } })
          yield* data.set([obj, "list"], ["x", { y: 1 }])
          assert.strictEqual(yield* data.get([obj, "list", 1, "y"]), 1)
          assert.strictEqual(yield* data.get([obj, "list", "0"]), "x")
          yield* data.set([obj, "n"], null)
          assert.strictEqual(yield* data.hasKey([obj, "n"]), true)
          assert.strictEqual(yield* data.get([obj, "n"]), null)
          assert.strictEqual(yield* data.count(obj), 3)
        })
      )
    )

    it.live("values keep JSON semantics", () =>
      run((data) =>
        Effect.gen(function* () {
          const k = unique("json")
          const value = { when: new Date(0), f: () => 1, u: undefined, nested: [1, "two", true] }
          yield* data.set(k, value)
          value.nested.push(4)
          assert.deepStrictEqual(yield* data.get(k), { when: "1970-01-01T00:00:00.000Z", nested: [1, "two", true] })
          const read = (yield* data.get(k)) as { nested: Array<unknown> }
          read.nested.push("mutated copy")
          assert.deepStrictEqual(yield* data.get([k, "nested"]), [1, "two", true])
        })
      )
    )

    it.live("add appends and returns the index; a missing key or a scalar becomes an array", () =>
      run((data) =>
        Effect.gen(function* () {
          const arr = unique("arr")
          yield* data.set(arr, ["a", "b", "c"])
          assert.strictEqual(yield* data.add(arr, "d"), 3)
          assert.deepStrictEqual(yield* data.get(arr), ["a", "b", "c", "d"])
          const fresh = unique("new")
          assert.strictEqual(yield* data.add(fresh, "x"), 0)
          assert.deepStrictEqual(yield* data.get(fresh), ["x"])
          const scalar = unique("k")
          yield* data.set(scalar, "v2")
          assert.strictEqual(yield* data.add(scalar, "x"), 1)
          assert.deepStrictEqual(yield* data.get(scalar), ["v2", "x"])
          assert.strictEqual(yield* data.count(arr), 4)
        })
      )
    )

    it.live("concat appends arrays, merges objects and wraps other values", () =>
      run((data) =>
        Effect.gen(function* () {
          const k = unique("cat")
          yield* data.concat(k, [1, 2])
          yield* data.concat(k, [3])
          yield* data.concat(k, 4)
          assert.deepStrictEqual(yield* data.get(k), [1, 2, 3, 4])
          const o = unique("merge")
          yield* data.set(o, { a: 1 })
          yield* data.concat(o, { b: 2 })
          assert.deepStrictEqual(yield* data.get(o), { a: 1, b: 2 })
        })
      )
    )

    it.live("getRange reads a window of an array or of an object's keys", () =>
      run((data) =>
        Effect.gen(function* () {
          const arr = unique("arr")
          yield* data.set(arr, ["a", "b", "c", "d"])
          assert.deepStrictEqual(yield* data.getRange(arr, 1, 3), ["b", "c"])
          assert.deepStrictEqual(yield* data.getRange(arr, 2), ["c", "d"])
          assert.deepStrictEqual(yield* data.getRange(arr, 0, 0), ["a", "b", "c", "d"])
          assert.deepStrictEqual(yield* data.getRange(arr, 1, 99), ["b", "c", "d"])
          const obj = unique("obj")
          yield* data.set(obj, { w: 1, x: 2, y: 3, z: 4 })
          assert.deepStrictEqual(yield* data.getRange(obj, "x", "z"), { x: 2, y: 3 })
          assert.deepStrictEqual(yield* data.getRange(obj, "y"), { y: 3, z: 4 })
        })
      )
    )

    it.live("pop, splice and removeRange edit the numeric slots", () =>
      run((data) =>
        Effect.gen(function* () {
          const arr = unique("arr")
          yield* data.set(arr, ["a", "b", "c", "d"])
          assert.deepStrictEqual(yield* data.pop(arr), ["d"])
          assert.deepStrictEqual(yield* data.pop(arr), ["c"])
          assert.deepStrictEqual(yield* data.get(arr), ["a", "b"])
          assert.deepStrictEqual(yield* data.splice(arr, { index: 1, count: 1, items: ["X", "Y"] }), ["b"])
          assert.deepStrictEqual(yield* data.get(arr), ["a", "X", "Y"])
          assert.deepStrictEqual(yield* data.splice(arr, {}), [])
          assert.deepStrictEqual(yield* data.removeRange(arr, 1, 2), ["X"])
          assert.deepStrictEqual(yield* data.get(arr), ["a", "Y"])
          assert.deepStrictEqual(yield* data.splice(arr, { index: 1 }), ["Y"])
          assert.deepStrictEqual(yield* data.get(arr), ["a"])
          const obj = unique("obj")
          yield* data.set(obj, { p: 1, q: 2, r: 3 })
          assert.deepStrictEqual(yield* data.removeRange(obj, "q"), { q: 2, r: 3 })
          assert.deepStrictEqual(yield* data.get(obj), { p: 1 })
        })
      )
    )

    it.live("remove returns what it removed", () =>
      run((data) =>
        Effect.gen(function* () {
          const obj = unique("obj")
          yield* data.set([obj, "a", "b"], 5)
          assert.deepStrictEqual(yield* data.remove([obj, "a"]), { b: 5 })
          assert.deepStrictEqual(yield* data.get(obj), {})
          assert.deepStrictEqual(yield* data.remove(obj), {})
          assert.strictEqual(yield* data.remove(obj), undefined)
          assert.strictEqual(yield* data.remove([obj, "x", "y"]), undefined)
        })
      )
    )

    it.live("malformed key chains fail with InvalidArguments and change nothing", () =>
      run((data) =>
        Effect.gen(function* () {
          const bad: ReadonlyArray<unknown> = [[], [{}], Number.NaN, null, { a: 1 }, [true]]
          for (const keyChain of bad) {
            const error = yield* Effect.flip(data.set(keyChain as KeyChain, 1))
            assert.strictEqual(error._tag, "DataStoreError")
            assert.strictEqual(error.reason, "InvalidArguments")
          }
          const error = yield* Effect.flip(data.expire(unique("str") as unknown as ReadonlyArray<KeyChain>, 1))
          assert.strictEqual(error.reason, "InvalidArguments")
        })
      )
    )

    it.live("removeAll empties the store", () =>
      run((data) =>
        Effect.gen(function* () {
          const a = unique("a")
          const b = unique("b")
          yield* data.set(a, 1)
          yield* data.set([b, "c"], 2)
          yield* data.removeAll
          assert.strictEqual(yield* data.hasKey(a), false)
          assert.strictEqual(yield* data.hasKey(b), false)
          assert.deepStrictEqual(yield* data.getAll, {})
          yield* data.set(a, 3)
          assert.deepStrictEqual(yield* data.getAll, { [a]: 3 })
        })
      )
    )

    it.live("expire removes a chain after its time; unexpire cancels; getExpiry reads it", () =>
      run((data) =>
        Effect.gen(function* () {
          const tmp = unique("tmp")
          const kept = unique("kept")
          yield* data.set(tmp, "bye")
          yield* data.set([kept, "x"], "stay")
          const before = Math.round(Date.now() / 1000)
          yield* data.expire([[tmp], [kept, "x"]], 1)
          yield* data.unexpire([[kept, "x"]])
          const at = yield* data.getExpiry([tmp])
          assert.isNumber(at)
          assert.isTrue((at ?? 0) >= before && (at ?? 0) <= before + 2)
          assert.strictEqual(yield* data.getExpiry([kept, "x"]), undefined)
          assert.strictEqual(yield* data.get(tmp), "bye")
          yield* awaitGone(data, tmp, 5)
          assert.strictEqual(yield* data.get([kept, "x"]), "stay")
          assert.strictEqual(yield* data.getExpiry([tmp]), undefined)
        })
      )
    )

    it.live("an expiry belongs to the key name: a value set again before the time goes too", () =>
      run((data) =>
        Effect.gen(function* () {
          const k = unique("name")
          yield* data.expire([[k]], 1)
          yield* data.set(k, "later")
          yield* awaitGone(data, k, 5)
        })
      )
    )
  })
}
