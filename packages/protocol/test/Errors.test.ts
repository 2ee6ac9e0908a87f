import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import {
  ApplicationError,
  Arbitraries,
  AuthTokenExpiredError,
  BrokerError,
  dehydrate,
  hydrate,
  InvalidActionError,
  isSCError,
  json,
  SilentMiddlewareBlockedError,
  SocketProtocolError,
  scErrorNames
} from "../src/index.js"

/** What the peer sees: dehydrate, then the JSON codec both ways. */
const overTheWire = (error: unknown): unknown => json.decode(json.encode({ rid: 1, error: dehydrate(error) }))

describe("Errors: the catalogue", () => {
  it("uses the wire name as _tag and name", () => {
    const error = new InvalidActionError({ message: "nope" })
    assert.strictEqual(error._tag, "InvalidActionError")
    assert.strictEqual(error.name, "InvalidActionError")
    assert.strictEqual(error.message, "nope")
    assert.instanceOf(error, Error)
    assert.isTrue(isSCError(error))
    assert.isFalse(isSCError(new Error("x")))
    assert.isFalse(isSCError(new ApplicationError({ name: "InvalidActionError", message: "x" })))
    assert.strictEqual(scErrorNames.length, 19)
  })

  it.effect("is yieldable and catchable by tag", () =>
    Effect.gen(function* () {
      const caught = yield* new BrokerError({ message: "b" }).pipe(
        Effect.catchTag("BrokerError", (e) => Effect.succeed(e.message))
      )
      assert.strictEqual(caught, "b")
    })
  )
})

describe("Errors: dehydrate (spec §13.1)", () => {
  it("writes catalogue errors as {message, name, ...extras}", () => {
    const expired = new AuthTokenExpiredError({ message: "jwt expired", expiry: new Date("2026-11-26T04:26:02.000Z") })
    assert.deepStrictEqual(overTheWire(expired), {
      rid: 1,
      error: { message: "jwt expired", name: "AuthTokenExpiredError", expiry: "2026-11-26T04:26:02.000Z" }
    })
    assert.strictEqual(
      json.encode(
        dehydrate(
          new SilentMiddlewareBlockedError({
            message: "Action was silently blocked by handshakeSC middleware",
            type: "handshakeSC"
          })
        )
      ),
      '{"message":"Action was silently blocked by handshakeSC middleware","name":"SilentMiddlewareBlockedError","type":"handshakeSC"}'
    )
  })

  it("writes a plain Error without a name", () => {
    assert.deepStrictEqual(dehydrate(new Error("nope")), { message: "nope" })
    const named = Object.assign(new Error("too lazy"), { name: "LazyErr" })
    assert.deepStrictEqual(dehydrate(named), { message: "too lazy", name: "LazyErr" })
  })

  it("writes ApplicationError as {message, name, ...fields}", () => {
    const error = new ApplicationError({ name: "SmokeError", message: "boom", fields: { retry: 3 } })
    assert.strictEqual(error.name, "SmokeError")
    assert.strictEqual(json.encode(dehydrate(error)), '{"message":"boom","name":"SmokeError","retry":3}')
  })

  it("keeps primitives, maps null/undefined to null and names functions", () => {
    assert.strictEqual(dehydrate("just a string"), "just a string")
    assert.strictEqual(dehydrate(42), 42)
    assert.strictEqual(dehydrate(false), false)
    assert.strictEqual(dehydrate(null), null)
    assert.strictEqual(dehydrate(undefined), null)
    assert.strictEqual(
      dehydrate(function handler() {}),
      "[function handler]"
    )
  })

  it("never sends a stack and replaces cycles with $ref markers", () => {
    const inner: Record<string, unknown> = { x: 1 }
    inner.self = inner
    const error = Object.assign(new Error("cyc"), { inner })
    assert.strictEqual(
      json.encode(dehydrate(error)),
      '{"message":"cyc","inner":{"x":1,"self":{"$ref":"$[\\"inner\\"]"}}}'
    )
    assert.notInclude(json.encode(dehydrate(new BrokerError({ message: "m" }))), "stack")
  })
})

describe("Errors: hydrate (spec §13.2)", () => {
  it("rebuilds catalogue classes and plain errors", () => {
    const expired = hydrate({
      message: "jwt expired",
      name: "AuthTokenExpiredError",
      expiry: "2026-11-26T04:26:02.000Z"
    })
    assert.instanceOf(expired, AuthTokenExpiredError)
    const custom = hydrate({ message: "too lazy", name: "LazyErr", extra: 42 })
    assert.instanceOf(custom, Error)
    assert.strictEqual((custom as Error).name, "LazyErr")
    assert.strictEqual(Reflect.get(custom as Error, "extra"), 42)
    const badExtras = hydrate({ message: "m", name: "SocketProtocolError", code: "x" })
    assert.notInstanceOf(badExtras, SocketProtocolError)
    assert.strictEqual((badExtras as Error).name, "SocketProtocolError")
  })

  it("handles odd inputs like sc-errors 2.x", () => {
    assert.strictEqual(hydrate(null), null)
    assert.strictEqual(hydrate(undefined), null)
    assert.strictEqual(hydrate("just a string"), "just a string")
    assert.strictEqual((hydrate({ message: 5 }) as Error).message, "Invalid error message format")
  })

  it.prop("dehydrate -> hydrate -> dehydrate round-trips every catalogue error", [Arbitraries.scError], ([error]) => {
    const wire = overTheWire(error)
    const again = overTheWire(hydrate(Reflect.get(wire as object, "error")))
    assert.deepStrictEqual(again, wire)
    assert.isTrue(isSCError(hydrate(Reflect.get(wire as object, "error"))))
  })

  it("drops keys a fresh Error already has, like sc-errors 2.x", () => {
    const hydrated = hydrate({ message: "m", name: "X", toString: 1, stack: "s", kept: 2 })
    assert.deepStrictEqual(dehydrate(hydrated), { message: "m", name: "X", kept: 2 })
  })

  it.prop("round-trips ApplicationErrors by name, message and fields", [Arbitraries.applicationError], ([error]) => {
    const fields = Object.fromEntries(
      Object.entries(error.fields ?? {}).filter(([key]) => Reflect.get(new Error(), key) === undefined)
    )
    const sendable = new ApplicationError({ name: error.name, message: error.message, fields })
    const wire = overTheWire(sendable)
    assert.deepStrictEqual(overTheWire(hydrate(Reflect.get(wire as object, "error"))), wire)
  })
})
