/**
 * Property test: random sequences of valid and invalid packets from several raw clients at
 * once against one real server. After each run the server holds exactly the open sockets
 * and their channels, nothing outlives its socket, a fresh client still handshakes and
 * echoes; after all runs the heap is back near its baseline. Longer runs: bench/fuzz.ts.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import fc from "fast-check"
import { guardAgainstEscapes } from "./attack.js"
import { freshClientWorks, fuzzServer, heapAfterGc, runScenario, scenario } from "./fuzz-harness.js"

guardAgainstEscapes()

describe("fuzz", () => {
  it.live(
    "random packet sequences from several clients leave the server consistent and serving",
    () =>
      Effect.gen(function* () {
        const server = yield* fuzzServer()
        // Warm up (JIT, lazy allocations) before the memory baseline.
        yield* Effect.promise(() => freshClientWorks(server.sourcePort!))
        const baseline = heapAfterGc()
        yield* Effect.promise(() =>
          fc.assert(
            fc.asyncProperty(scenario, (clients) => runScenario(server, clients)),
            { numRuns: 500, seed: Date.now() }
          )
        )
        const after = heapAfterGc()
        if (baseline !== undefined && after !== undefined) {
          console.log(`fuzz: heap ${((after - baseline) / 2 ** 20).toFixed(2)} MiB over baseline after 500 runs`)
          assert.isBelow(after - baseline, 8 * 1024 * 1024)
        }
        console.log(
          `fuzz: ${server.counters.handshakes} sockets, ${server.counters.messagesIn} frames in, ${server.counters.messagesOut} out`
        )
        // The runs really exercised the server (more than one socket and frame per run).
        assert.isAbove(server.counters.handshakes, 500)
        assert.isAbove(server.counters.messagesIn, 1000)
        assert.strictEqual(server.clientsCount, 0)
        assert.strictEqual(server.registry.channelCount, 0)
      }),
    30_000
  )
})
