/**
 * Sharded mode on a real 3-node Redis Cluster started by the test: the broker
 * conformance suite (history included), and two brokers (two server processes' worth of
 * connections) exchanging publications on channels spread over every shard.
 */
import { execFile } from "node:child_process"
import { assert, describe, it } from "@effect/vitest"
import { Broker } from "@effect-socketcluster/server"
import { conformanceHistory, runBrokerConformance } from "@effect-socketcluster/server/testing"
import { Context, Effect, Layer, Queue } from "effect"
import { afterAll, beforeAll } from "vitest"
import * as BrokerRedisCluster from "../src/BrokerRedisCluster.js"
import { type RedisCluster, spawnRedisCluster } from "../src/testing/RedisCluster.js"

let cluster: RedisCluster
beforeAll(async () => {
  cluster = await spawnRedisCluster()
}, 30_000)
afterAll(() => cluster?.stop())

const clusterLayer = () =>
  Layer.unwrap(Effect.sync(() => BrokerRedisCluster.layer({ rootNodes: cluster.urls, history: conformanceHistory })))

runBrokerConformance("BrokerRedisCluster (sharded)", clusterLayer())

const redisCli = (port: string, ...args: Array<string>) =>
  Effect.promise(
    () =>
      new Promise<string>((resolve, reject) =>
        execFile("redis-cli", ["-p", port, ...args], (error, stdout) => (error ? reject(error) : resolve(stdout)))
      )
  )

describe("BrokerRedisCluster", () => {
  it.live(
    "carries channels on every shard with SPUBLISH/SSUBSCRIBE: in order, with offsets, from one broker to another",
    () =>
      Effect.gen(function* () {
        const a = Context.get(yield* Layer.build(clusterLayer()), Broker.Broker)
        const b = Context.get(yield* Layer.build(clusterLayer()), Broker.Broker)
        yield* a.ready
        yield* b.ready
        const inbox = yield* Queue.unbounded<Broker.Publication>()
        yield* b.onPublication((channel, data, offset, epoch) => {
          Queue.offerUnsafe(inbox, { channel, data, offset, epoch })
        })
        const run = Math.random().toString(36).slice(2)
        const channels = Array.from({ length: 30 }, (_, i) => `spread-${run}-${i}`)
        for (const channel of channels) yield* b.subscribe(channel)
        for (let n = 1; n <= 5; n++) for (const channel of channels) yield* a.publish(channel, { n })
        const got: Array<Broker.Publication> = []
        while (got.length < channels.length * 5) got.push(yield* Queue.take(inbox))
        for (const channel of channels) {
          const mine = got.filter((p) => p.channel === channel)
          assert.deepStrictEqual(
            mine.map((p) => [p.data, p.offset]),
            [1, 2, 3, 4, 5].map((n) => [{ n }, n])
          )
        }
        // Sharded pub/sub only, and the channels (with their streams) spread over all three masters.
        for (const url of cluster.urls) {
          const port = new URL(url).port
          const shardChannels = (yield* redisCli(port, "pubsub", "shardchannels", `sc:{spread-${run}-*`)).trim()
          assert.isAbove(shardChannels.split("\n").filter((line) => line !== "").length, 0, `shard channels on ${port}`)
          assert.strictEqual((yield* redisCli(port, "pubsub", "channels", `sc:*spread-${run}*`)).trim(), "")
          const streams = (yield* redisCli(port, "--scan", "--pattern", `sc:s:{spread-${run}-*`)).trim()
          assert.isAbove(streams.split("\n").filter((line) => line !== "").length, 0, `streams on ${port}`)
        }
      }).pipe(Effect.scoped),
    30_000
  )
})
