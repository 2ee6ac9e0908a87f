/**
 * The long fuzz run: the property of test/Fuzz.test.ts for many more cases, in batches,
 * with the heap (after a full collection) printed after each batch; fails when a run
 * breaks an invariant or the heap keeps growing.
 *
 *   node --expose-gc --conditions=@effect-socketcluster/source --import tsx packages/server/bench/fuzz.ts --runs 20000 [--batch 1000] [--seed n]
 */
import * as Effect from "effect/Effect"
import fc from "fast-check"
import { freshClientWorks, fuzzServer, heapAfterGc, runScenario, scenario } from "../test/fuzz-harness.js"
import { argNumber, mib } from "./script-tools.js"

const runs = argNumber("runs", 20_000)
const batch = argNumber("batch", 1000)
const seed = argNumber("seed", Date.now() % 2 ** 31)

const program = Effect.gen(function* () {
  const server = yield* fuzzServer()
  yield* Effect.promise(() => freshClientWorks(server.sourcePort!))
  const baseline = heapAfterGc()
  if (baseline === undefined) console.log("run with --expose-gc to check the heap")
  console.log(`seed ${seed}; ${runs} runs in batches of ${batch}`)
  const heaps: Array<number> = []
  for (let done = 0; done < runs; done += batch) {
    const started = performance.now()
    yield* Effect.promise(() =>
      fc.assert(
        fc.asyncProperty(scenario, (clients) => runScenario(server, clients)),
        { numRuns: Math.min(batch, runs - done), seed: seed + done }
      )
    )
    const heap = heapAfterGc()
    if (heap !== undefined) heaps.push(heap)
    console.log(
      `${done + Math.min(batch, runs - done)} runs: ${((performance.now() - started) / 1000).toFixed(1)} s; sockets ${server.counters.handshakes}, frames in ${server.counters.messagesIn}; heap ${heap === undefined ? "?" : mib(heap)} MiB`
    )
  }
  if (baseline !== undefined && heaps.length > 0) {
    const growth = heaps.at(-1)! - baseline
    console.log(`heap growth over baseline: ${mib(growth)} MiB`)
    if (growth > 16 * 1024 * 1024) throw new Error("heap kept growing")
  }
  console.log("OK: every run kept the invariants")
})

Effect.runPromise(Effect.scoped(program)).then(
  () => process.exit(0),
  (error) => {
    console.error(error)
    process.exit(1)
  }
)
