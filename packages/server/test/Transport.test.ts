import * as Http from "node:http"
import { NodeHttpServer } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Context, Effect, Layer } from "effect"
import { HttpRouter, HttpServer, HttpServerResponse } from "effect/http"
import * as BrokerMemory from "../src/BrokerMemory.js"
import * as SCServer from "../src/SCServer.js"
import * as SCServerHttp from "../src/SCServerHttp.js"
import { connectClient, invoke } from "./helpers.js"

describe("transport", () => {
  it.live("joins an Effect HTTP app: app routes and SocketCluster share one port", () =>
    Effect.gen(function* () {
      const Health = HttpRouter.add("GET", "/health", HttpServerResponse.text("ok"))
      const Sc = SCServerHttp.layerRouter({ authKey: "k".repeat(40) }).pipe(Layer.provide(BrokerMemory.layer))
      const App = SCServerHttp.serve(Layer.mergeAll(Health, Sc), { disableListenLog: true, disableLogger: true }).pipe(
        Layer.provideMerge(NodeHttpServer.layer(Http.createServer, { port: 0, host: "127.0.0.1" }))
      )
      const context = yield* Layer.build(App)
      const server = Context.get(context, SCServer.SCServer)
      const address = Context.get(context, HttpServer.HttpServer).address
      const port = address._tag === "UnixPathAddress" ? 0 : address.port
      assert.strictEqual(server.sourcePort, port)
      yield* server.handle("echo", (d) => Effect.succeed(d))
      const client = yield* connectClient(server)
      assert.strictEqual(yield* invoke(client, "echo", "same port"), "same port")
      const health = yield* Effect.promise(() => fetch(`http://127.0.0.1:${port}/health`).then((r) => r.text()))
      assert.strictEqual(health, "ok")
    })
  )
})
