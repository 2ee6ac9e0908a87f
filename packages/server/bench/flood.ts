/**
 * Peak server memory during a flood from one publisher: a server (default options,
 * memory broker) in this process, the clients in a child (bench/flood-child.ts): one
 * publisher sends N × 4 KiB without waiting for acks to a channel one subscriber reads at
 * full speed. RSS is sampled every 10 ms from before the flood until the subscriber has
 * every publication; the peak growth over the baseline (after a full collection) is the
 * figure. Each size runs in a fresh process, so one flood's garbage does not count in
 * the next.
 *
 *   node --expose-gc --conditions=@effect-socketcluster/source --import tsx packages/server/bench/flood.ts [--sizes 10000,40000,160000] [--no-history]
 */
import { execFileSync, fork } from "node:child_process"
import { fileURLToPath } from "node:url"
import * as v8 from "node:v8"
import * as Effect from "effect/Effect"
import * as BrokerMemory from "../src/BrokerMemory.js"
import * as SCServer from "../src/SCServer.js"
import { argNumber, argString, childMessage, mib, startChild } from "./script-tools.js"

interface Done {
  readonly received: number
  readonly acks: number
  readonly ackErrors: number
  readonly ms: number
}

const spaceSize = (name: string): number =>
  v8.getHeapSpaceStatistics().find((space) => space.space_name === name)?.space_size ?? 0

const one = (count: number) =>
  Effect.gen(function* () {
    const server = yield* SCServer.make(
      { authKey: "flood-key-0123456789abcdef0123456789abcdef" },
      { _tag: "Listen", port: 0, host: "127.0.0.1" }
    ).pipe(
      Effect.provide(
        process.argv.includes("--no-history")
          ? BrokerMemory.layerWith({ history: { default: "off" } })
          : BrokerMemory.layer
      )
    )
    const result = yield* Effect.promise(async () => {
      const child = startChild(fork, new URL("./flood-child.ts", import.meta.url))
      await childMessage(child, "ready")
      ;(globalThis as { gc?: () => void }).gc?.()
      const start = process.memoryUsage()
      const baseline = start.rss
      let peak = baseline
      let peakHeap = start.heapTotal
      let peakExternal = start.external
      // V8's young generation (new_space) and old generation separately: they grow for different reasons.
      const startNew = spaceSize("new_space")
      const startOld = spaceSize("old_space")
      let peakNew = startNew
      let peakOld = startOld
      const sampler = setInterval(() => {
        const m = process.memoryUsage()
        peak = Math.max(peak, m.rss)
        peakHeap = Math.max(peakHeap, m.heapTotal)
        peakExternal = Math.max(peakExternal, m.external)
        peakNew = Math.max(peakNew, spaceSize("new_space"))
        peakOld = Math.max(peakOld, spaceSize("old_space"))
      }, 10)
      const done = childMessage<Done>(child, "done")
      const cpuBefore = process.cpuUsage()
      child.send({ port: server.sourcePort, count })
      const stats = await done
      const cpu = process.cpuUsage(cpuBefore)
      clearInterval(sampler)
      peak = Math.max(peak, process.memoryUsage().rss)
      return {
        ...stats,
        cpuMicros: cpu.user + cpu.system,
        baseline,
        peak,
        heapGrowth: peakHeap - start.heapTotal,
        startNew,
        peakNew,
        oldGrowth: peakOld - startOld,
        externalGrowth: peakExternal - start.external
      }
    })
    const row = {
      count,
      baselineMiB: mib(result.baseline),
      peakGrowthMiB: mib(result.peak - result.baseline),
      heapGrowthMiB: mib(result.heapGrowth),
      newSpaceMiB: `${mib(result.startNew)} → ${mib(result.peakNew)}`,
      oldSpaceGrowthMiB: mib(result.oldGrowth),
      externalGrowthMiB: mib(result.externalGrowth),
      received: result.received,
      lost: count - result.received,
      ackErrors: result.ackErrors,
      dropped: server.counters.droppedPublications,
      publisherHolds: server.counters.publisherHolds,
      seconds: (result.ms / 1000).toFixed(1),
      // This process is the server (and its sampler): its CPU per publication, all of the delivery included.
      cpuPerPublicationMicros: (result.cpuMicros / count).toFixed(1)
    }
    console.log(JSON.stringify(row))
  }).pipe(Effect.scoped)

const single = argNumber("count", 0)
if (single > 0) {
  Effect.runPromise(one(single)).then(
    () => process.exit(0),
    (error) => {
      console.error(error)
      process.exit(1)
    }
  )
} else {
  const sizes = argString("sizes", "10000,40000,160000").split(",").map(Number)
  const self = fileURLToPath(import.meta.url)
  console.log(
    "| publications × 4 KiB | baseline RSS MiB | peak RSS growth MiB | peak heap growth MiB | new space MiB (start → peak) | peak old-space growth MiB | peak external growth MiB | lost | dropped | publisher holds | s | server CPU µs per publication |"
  )
  console.log("|---|---|---|---|---|---|---|---|---|---|---|---|")
  for (const count of sizes) {
    const extra = process.argv.includes("--no-history") ? ["--no-history"] : []
    const out = execFileSync(process.execPath, [...process.execArgv, self, "--count", String(count), ...extra], {
      encoding: "utf8"
    })
    const row = JSON.parse(out.trim().split("\n").at(-1) ?? "{}") as Record<string, string | number>
    console.log(
      `| ${row.count} | ${row.baselineMiB} | ${row.peakGrowthMiB} | ${row.heapGrowthMiB} | ${row.newSpaceMiB} | ${row.oldSpaceGrowthMiB} | ${row.externalGrowthMiB} | ${row.lost} | ${row.dropped} | ${row.publisherHolds} | ${row.seconds} | ${row.cpuPerPublicationMicros} |`
    )
  }
}
