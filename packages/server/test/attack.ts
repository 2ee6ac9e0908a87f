/**
 * Tools for the hardening tests: raw clients past the handshake, a guard that records
 * any exception escaping to the process, and hostile payload builders.
 */
import { afterAll, afterEach, assert, beforeAll } from "@effect/vitest"
import { Effect, type Scope } from "effect"
import type * as SCServer from "../src/SCServer.js"
import { type RawClient, rawClient } from "./helpers.js"

/** A raw `ws` client that completed `#handshake` (cid 1). */
export const handshaken = (server: SCServer.SCServerCore): Effect.Effect<RawClient, unknown, Scope.Scope> =>
  Effect.gen(function* () {
    const client = yield* rawClient(server)
    client.send(JSON.stringify({ event: "#handshake", data: {}, cid: 1 }))
    yield* client.waitFor((f) => f.startsWith('{"rid":1,'))
    return client
  })

/** Waits for the answer to `cid` and parses it. */
export const answerTo = (client: RawClient, cid: number | string): Effect.Effect<Record<string, unknown>> =>
  client
    .waitFor((f) => f.startsWith(`{"rid":${JSON.stringify(cid)}`))
    .pipe(Effect.map((f) => JSON.parse(f) as Record<string, unknown>))

/** `[[[…]]]` nested `depth` levels, as JSON text, built without recursion. */
export const deepArrayJson = (depth: number): string => "[".repeat(depth) + "]".repeat(depth)

/**
 * Records every `uncaughtException` and `unhandledRejection` of the test process and
 * fails the test after which one was seen: proof that nothing escapes a fiber or callback.
 */
export const guardAgainstEscapes = (): void => {
  const escaped: Array<unknown> = []
  const record = (error: unknown) => {
    escaped.push(error)
  }
  beforeAll(() => {
    process.on("uncaughtException", record)
    process.on("unhandledRejection", record)
  })
  afterAll(() => {
    process.off("uncaughtException", record)
    process.off("unhandledRejection", record)
  })
  afterEach(() => {
    const seen = escaped.splice(0)
    assert.deepStrictEqual(
      seen.map((e) => String(e)),
      [],
      "an exception escaped to the process"
    )
  })
}
