/**
 * The quick-start server (packages/server/examples/start.ts) with the Redis broker: run
 * several on different ports against one Redis and they share publications.
 *
 *   BROKER_URL=redis://127.0.0.1:6379 PORT=8000 ./dev tsx packages/broker-redis/examples/start-redis.ts
 *
 * BROKER_URL is required (BROKER_PREFIX optional, default "sc:"); PORT defaults to 8000.
 * Broker notices (connection lost / restored) are logged.
 */
import { SCServer } from "@effect-socketcluster/server"
import { Effect, Exit, Fiber, Layer } from "effect"
import { BrokerRedis } from "../src/index.js"

const port = Number(process.env.PORT ?? 8000)

const App = Layer.effectDiscard(
  Effect.gen(function* () {
    const server = yield* SCServer.SCServer
    yield* server.handle("echo", (data) => Effect.succeed(data))
    server.hub.listen((event) => {
      if (event._tag === "Notice") console.log(`notice ${JSON.stringify(event.notice)}`)
    })
    yield* Effect.log(`effect-socketcluster listening on ws://127.0.0.1:${server.sourcePort}${server.getPath()}`)
    console.log(`listening ${server.sourcePort}`)
  })
).pipe(Layer.provideMerge(SCServer.layer({ port })), Layer.provide(BrokerRedis.layerConfig))

// Like NodeRuntime.runMain (not a dependency of this package): a signal interrupts, finalizers run, then exit.
const main = Effect.runFork(Layer.launch(App))
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => Effect.runFork(Fiber.interrupt(main)))
}
main.addObserver((exit) => {
  if (Exit.isFailure(exit) && !Exit.hasInterrupts(exit)) console.error(exit.cause)
  process.exit(Exit.isSuccess(exit) || Exit.hasInterrupts(exit) ? 0 : 1)
})
