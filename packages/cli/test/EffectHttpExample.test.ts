import { Effect, Exit, Scope } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { make } from "../examples/effect-http.js"
import { connectClient, invoke } from "./harness.js"

let scope: Scope.Closeable
let port: number
beforeAll(async () => {
  scope = Effect.runSync(Scope.make())
  port = (await Effect.runPromise(make(0, "127.0.0.1").pipe(Scope.provide(scope)))).port
})
afterAll(() => Effect.runPromise(Scope.close(scope, Exit.void)))

describe("examples/effect-http.ts", () => {
  it("serves Effect routes and SocketCluster on the same port", async () => {
    const hello = await fetch(`http://127.0.0.1:${port}/hello/ada`)
    expect(hello.status).toBe(200)
    expect(await hello.text()).toBe("hello ada\n")
    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text()
    expect(metrics).toMatch(/^example_hello_requests_total 1$/m)
    const client = await connectClient(port)
    expect(await invoke(client, "echo", { x: 1 })).toEqual({ x: 1 })
    client.destroy()
  })
})
