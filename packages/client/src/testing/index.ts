/**
 * `@effect-socketcluster/client/testing`: a real server on a free loopback port and
 * connected clients, for an app's tests (and this project's).
 *
 * @example
 * ```ts
 * import { TestServer } from "@effect-socketcluster/client/testing"
 * import { it } from "@effect/vitest"
 *
 * it.effect("echo", () =>
 *   Effect.gen(function* () {
 *     const { server } = yield* TestServer.TestServer
 *     yield* server.handle("echo", Effect.succeed)
 *     const client = yield* TestServer.client()
 *     assert.deepStrictEqual(yield* client.invoke("echo", { a: 1 }), { a: 1 })
 *   }).pipe(Effect.scoped, Effect.provide(TestServer.layer()))
 * )
 * ```
 *
 * @since 0.1.0
 */
export * as TestServer from "./TestServer.js"
