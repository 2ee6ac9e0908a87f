/**
 * SocketCluster inside an Effect HTTP app: the app's routes and the WebSocket endpoint
 * share one port.
 *
 *   PORT=8000 ./dev tsx packages/server/examples/effect-http.ts
 *   curl localhost:8000/health   # ok
 */

import * as Http from "node:http"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as HttpRouter from "effect/http/HttpRouter"
import * as HttpServerResponse from "effect/http/HttpServerResponse"
import * as Layer from "effect/Layer"
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
