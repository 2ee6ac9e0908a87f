/**
 * The quick-start server: SocketCluster on PORT (default 8000) with an `echo` procedure,
 * client publishing allowed and the embedded in-memory broker. `PROTOCOL_VERSION=1` or `=2`
 * serves one protocol only (default: detected per connection). `HISTORY=off` keeps no channel
 * history (publications carry no offsets and cannot be recovered; the default keeps
 * `History.defaultPolicy` for every channel).
 *
 *   PORT=8000 ./dev tsx packages/server/examples/start.ts
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import { BrokerMemory, SCServer } from "../src/index.js"

const port = Number(process.env.PORT ?? 8000)
const broker =
  process.env.HISTORY === "off" ? BrokerMemory.layerWith({ history: { default: "off" } }) : BrokerMemory.layer
const protocolVersion = process.env.PROTOCOL_VERSION === "1" ? 1 : process.env.PROTOCOL_VERSION === "2" ? 2 : "auto"

const App = Layer.effectDiscard(
  Effect.gen(function* () {
    const server = yield* SCServer.SCServer
    yield* server.handle("echo", (data) => Effect.succeed(data))
    yield* Effect.log(`effect-socketcluster listening on ws://127.0.0.1:${server.sourcePort}${server.getPath()}`)
    console.log(`listening ${server.sourcePort}`)
  })
).pipe(Layer.provideMerge(SCServer.layer({ port, protocolVersion })), Layer.provide(broker))

NodeRuntime.runMain(Layer.launch(App), {
  teardown: (exit, onExit) => onExit(Exit.isSuccess(exit) || Exit.hasInterrupts(exit) ? 0 : 1)
})
