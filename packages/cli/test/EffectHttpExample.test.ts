import { assert, describe, it } from "@effect/vitest"
import { TestServer } from "@effect-socketcluster/client/testing"
import { Effect } from "effect"
import { make } from "../examples/effect-http.js"

describe("examples/effect-http.ts", () => {
  it.live("serves Effect routes and SocketCluster on the same port", () =>
    Effect.gen(function* () {
      const { port } = yield* make(0, "127.0.0.1")
      const hello = yield* Effect.promise(() => fetch(`http://127.0.0.1:${port}/hello/ada`))
      assert.strictEqual(hello.status, 200)
      assert.strictEqual(yield* Effect.promise(() => hello.text()), "hello ada\n")
      const metrics = yield* Effect.promise(() => fetch(`http://127.0.0.1:${port}/metrics`).then((r) => r.text()))
      assert.match(metrics, /^example_hello_requests_total 1$/m)
      const client = yield* TestServer.connect(TestServer.urlFor(port), { reconnect: false })
      assert.deepStrictEqual(yield* client.invoke("echo", { x: 1 }), { x: 1 })
    }).pipe(Effect.scoped)
  )
})
