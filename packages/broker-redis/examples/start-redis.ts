/**
 * The quick-start server (packages/server/examples/start.ts) with the Redis broker: run
 * several on different ports against one Redis and they share publications.
 *
 *   BROKER_URL=redis://127.0.0.1:6379 PORT=8000 pnpm tsx packages/broker-redis/examples/start-redis.ts
 *
 * BROKER_URL is required (BROKER_PREFIX optional, default "sc:"); PORT defaults to 8000.
 * BROKER_CLUSTER_NODES (comma-separated `redis://` URLs) uses the sharded Redis Cluster
 * broker instead; BROKER=memory the in-memory broker (one process). BROKER_HISTORY=off
 * turns channel history off. Broker notices (connection lost / restored, recovery, history
 * gaps) are printed as `notice <json>` lines.
 */
import { BrokerMemory, SCServer } from "@effect-socketcluster/server"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import { BrokerRedis, BrokerRedisCluster } from "../src/index.js"

const port = Number(process.env.PORT ?? 8000)
const history = process.env.BROKER_HISTORY === "off" ? { default: "off" as const } : undefined
const clusterNodes = process.env.BROKER_CLUSTER_NODES

const broker =
  process.env.BROKER === "memory"
    ? BrokerMemory.layerWith({ history })
    : clusterNodes !== undefined && clusterNodes !== ""
      ? BrokerRedisCluster.layer({ rootNodes: clusterNodes.split(","), history })
      : Layer.unwrap(Effect.map(BrokerRedis.config, (options) => BrokerRedis.layer({ ...options, history })))

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
).pipe(Layer.provideMerge(SCServer.layer({ port })), Layer.provide(broker))

// Like NodeRuntime.runMain (not a dependency of this package): a signal interrupts, finalizers run, then exit.
const main = Effect.runFork(Layer.launch(App))
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => Effect.runFork(Fiber.interrupt(main)))
}
main.addObserver((exit) => {
  if (Exit.isFailure(exit) && !Exit.hasInterrupts(exit)) console.error(exit.cause)
  process.exit(Exit.isSuccess(exit) || Exit.hasInterrupts(exit) ? 0 : 1)
})
