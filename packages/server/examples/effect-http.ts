/**
 * SocketCluster inside an Effect HTTP app: the app's routes and the WebSocket endpoint
 * share one port.
 *
 *   PORT=8000 ./dev tsx packages/server/examples/effect-http.ts
 *   curl localhost:8000/health   # ok
 */

import * as Http from "node:http"
import { NodeHttpServer, NodeRuntime } from "@effect/platform-node"
import { Effect, Exit, Layer } from "effect"
import { HttpRouter, HttpServerResponse } from "effect/http"
import { BrokerMemory, SCServer, SCServerHttp } from "../src/index.js"

const port = Number(process.env.PORT ?? 8000)

const Health = HttpRouter.add("GET", "/health", HttpServerResponse.text("ok"))

const Echo = Layer.effectDiscard(
  Effect.gen(function* () {
    const server = yield* SCServer.SCServer
    yield* server.handle("echo", (data) => Effect.succeed(data))
  })
)

// `SCServer.serve` is `HttpRouter.serve` that closes the sockets (1001) before the HTTP server's graceful close.
const App = SCServerHttp.serve(
  Layer.mergeAll(Health, Echo.pipe(Layer.provideMerge(SCServerHttp.layerRouter({})), Layer.provide(BrokerMemory.layer)))
).pipe(Layer.provide(NodeHttpServer.layer(Http.createServer, { port })))

NodeRuntime.runMain(Layer.launch(App), {
  teardown: (exit, onExit) => onExit(Exit.isSuccess(exit) || Exit.hasInterrupts(exit) ? 0 : 1)
})
