/**
 * The README's example: a server and a client in one process.
 * Run it with `./dev tsx packages/client/examples/quickstart.ts`.
 */

import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as NodeSocket from "@effect/platform-node/NodeSocket"
import { SCClient } from "@effect-socketcluster/client"
import { BrokerMemory, SCServer } from "@effect-socketcluster/server"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Stream from "effect/Stream"

/** Connects to the server at `url`, calls `echo`, and reads one publication on `news`. */
export const talk = (url: string) =>
  Effect.gen(function* () {
    const client = yield* SCClient.connect(url)
    const echoed = yield* client.invoke("echo", { hello: "world" })
    const news = yield* client.subscription("news")
    yield* client.publish("news", "first!")
    const [headline] = yield* Stream.runCollect(Stream.take(news, 1))
    return { echoed, headline }
  }).pipe(Effect.scoped, Effect.provide(NodeSocket.layerWebSocketConstructor))

/** A server on a free port with an `echo` handler. */
export const Server = Layer.effectDiscard(
  Effect.gen(function* () {
    const server = yield* SCServer.SCServer
    yield* server.handle("echo", (data) => Effect.succeed(data))
  })
).pipe(Layer.provideMerge(SCServer.layer({ port: 0, host: "127.0.0.1" })), Layer.provide(BrokerMemory.layer))

export const main = Effect.gen(function* () {
  const server = yield* SCServer.SCServer
  const result = yield* talk(`ws://127.0.0.1:${server.sourcePort}/socketcluster/`)
  yield* Console.log(JSON.stringify(result))
  return result
}).pipe(Effect.provide(Server))

if (import.meta.url === `file://${process.argv[1]}`) NodeRuntime.runMain(main)
