import { assert, describe, it } from "@effect/vitest"
import fc from "fast-check"
import * as Dialect from "../src/WireDialect.js"

describe("WireDialect", () => {
  it("the fixed options ignore the query; auto honours scProtocolVersion=1|2 only", () => {
    const q = (v: string) => `/socketcluster/?a=b&scProtocolVersion=${v}`
    assert.strictEqual(Dialect.initialDialect(1, q("2"), true), Dialect.v14)
    assert.strictEqual(Dialect.initialDialect(2, q("1"), true), Dialect.v2)
    assert.strictEqual(Dialect.initialDialect("auto", q("1"), true), Dialect.v1)
    assert.strictEqual(Dialect.initialDialect("auto", q("2"), true), Dialect.v2)
    assert.strictEqual(Dialect.initialDialect("auto", q("3"), true), Dialect.unknown)
    assert.strictEqual(Dialect.initialDialect("auto", "/socketcluster/", false), Dialect.unknownBinary)
  })

  it("property: any URL gives a dialect, and the version it names only when the parameter says 1 or 2", () => {
    fc.assert(
      fc.property(fc.webUrl({ withQueryParameters: true }), fc.constantFrom("1", "2", "x", ""), (url, v) => {
        const path = `${new URL(url).pathname}?${new URL(url).search.slice(1)}&scProtocolVersion=${v}`
        const version = Dialect.initialDialect("auto", path, true).version
        const named = new URLSearchParams(path.slice(path.indexOf("?") + 1)).get("scProtocolVersion")
        assert.strictEqual(version, named === "1" ? 1 : named === "2" ? 2 : null)
      }),
      { numRuns: 200 }
    )
  })

  it("the first pong fixes an unknown socket; a known one never changes", () => {
    assert.strictEqual(Dialect.afterPong(Dialect.unknown, 1), Dialect.v1)
    assert.strictEqual(Dialect.afterPong(Dialect.unknown, 2), Dialect.v2)
    assert.strictEqual(Dialect.afterPong(Dialect.unknownBinary, 1), Dialect.v1)
    assert.strictEqual(Dialect.afterPong(Dialect.v1, 2), Dialect.v1)
    assert.strictEqual(Dialect.afterPong(Dialect.v2, 1), Dialect.v2)
    assert.strictEqual(Dialect.afterPong(Dialect.v14, 2), Dialect.v14)
  })

  it("JSON codec: no probe after the handshake; both pings at each tick, every pong reported", () => {
    const dialect = Dialect.unknown
    assert.deepStrictEqual(
      [dialect.probeAfterHandshake, dialect.pingV1, dialect.pingV2, dialect.afterPing, dialect.hidesPong],
      [false, true, true, undefined, false]
    )
    for (const known of [Dialect.v14, Dialect.v1, Dialect.v2]) {
      assert.deepStrictEqual([known.probeAfterHandshake, known.hidesPong], [false, false])
    }
  })

  it("binary codec: probed with #1 only right after the handshake, and v2 at the next tick without a v1 pong", () => {
    const probe = Dialect.unknownBinary
    assert.deepStrictEqual(
      [probe.probeAfterHandshake, probe.pingV1, probe.pingV2, probe.atTick, probe.hidesPong],
      [true, true, false, undefined, false]
    )
    const probed = probe.afterPing!
    assert.strictEqual(probed.version, null)
    assert.strictEqual(probed.atTick, Dialect.v2)
    // The probe's answer is not the app's traffic (v14 sent no such ping).
    assert.strictEqual(probed.hidesPong, true)
  })

  it("raw pongs: #2 always, an empty frame except for fixed v1", () => {
    assert.strictEqual(Dialect.rawPong(Dialect.unknown, Buffer.from("#2")), 1)
    assert.strictEqual(Dialect.rawPong(Dialect.unknown, Buffer.alloc(0)), 2)
    assert.strictEqual(Dialect.rawPong(Dialect.v14, Buffer.alloc(0)), 0)
    assert.strictEqual(Dialect.rawPong(Dialect.v2, Buffer.from("#1")), 0)
    assert.strictEqual(Dialect.rawPong(Dialect.v2, Buffer.from("2")), 0)
  })
})
