/**
 * Two server processes (examples/start-redis.ts) on different ports sharing one Redis:
 * a client on A publishes, clients on B receive everything in order, and a subscriber on
 * A (the publisher's own process) gets each publication exactly once. The clients are the
 * project's Effect client (the test kit); the v14 client's wire is covered elsewhere.
 */
import { assert, describe, it } from "@effect/vitest"
import { TestServer } from "@effect-socketcluster/client/testing"
import { Effect, Fiber, Stream } from "effect"
import { useRedisServer } from "../src/testing/RedisServer.js"
import { type ServerProcess, twoServersOnRedis } from "./clients.js"

const count = 1_000

describe("two server processes sharing Redis", () => {
  const { servers } = twoServersOnRedis(useRedisServer)
  // The project's Effect client from the test kit, disconnected with the test's scope.
  const client = (server: ServerProcess) => TestServer.connect(TestServer.urlFor(server.port), { reconnect: false })

  it.live(`delivers ${count} publications from a client on A to every client on B, in order`, () =>
    Effect.gen(function* () {
      const [a, b] = servers()
      assert.notStrictEqual(a.port, b.port)
      const channel = `feed-${Date.now()}`
      const remote = yield* Effect.forEach([1, 2, 3], () => Effect.flatMap(client(b), (c) => c.subscription(channel)))
      const publisher = yield* client(a)
      const local = yield* publisher.subscription(channel)

      // All sent at once, in order (each publish writes its frame before the next starts); every ack must be a success.
      const acks: Array<Fiber.Fiber<void, unknown>> = []
      for (let n = 0; n < count; n++) {
        acks.push(yield* Effect.forkChild(publisher.publish(channel, { n, text: "ü✓" }), { startImmediately: true }))
      }
      yield* Fiber.joinAll(acks)

      const expected = Array.from({ length: count }, (_, n) => ({ n, text: "ü✓" }))
      for (const stream of remote)
        assert.deepStrictEqual([...(yield* Stream.runCollect(Stream.take(stream, count)))], expected)
      // Exactly once on the publisher's own process: nothing extra arrives before a marker published after.
      yield* publisher.publish(channel, "end")
      const received = yield* Stream.runCollect(Stream.takeUntil(local, (item) => item === "end"))
      assert.deepStrictEqual([...received], [...expected, "end"])
    }).pipe(Effect.scoped)
  )
})
