/**
 * The memory broker's cost of a channel's first publication (its history stream is made:
 * epoch, ring, byte buffer), this tree against another checkout (`BENCH_BASE_TREE`, as for
 * the `effect-sc-base` target), interleaved: each round makes a broker per tree, subscribes
 * 10,000 channels and publishes once on each, keeping every broker alive as a server keeps
 * its channels. CPU is the whole process's (all threads, so GC helpers count).
 *
 *   BENCH_BASE_TREE=/tmp/base pnpm tsx --conditions=@effect-socketcluster/source packages/bench/src/micro/first-publication.ts
 */
import { BrokerMemory as Mine } from "@effect-socketcluster/server"
import * as Effect from "effect/Effect"

const base = process.env.BENCH_BASE_TREE
if (base === undefined) throw new Error("BENCH_BASE_TREE must name the checkout to compare with")
const Base: typeof Mine = await import(`${base}/packages/server/src/BrokerMemory.ts`)

const channels = 10_000
const rounds = 8
const names = Array.from({ length: channels }, (_, i) => `mc${i}`)
const alive: Array<unknown> = []

const firstPublications = (make: typeof Mine.make): number => {
  const broker = Effect.runSync(make)
  alive.push(broker)
  const immediate = broker.immediate
  if (immediate === undefined) throw new Error("the memory broker offers immediate operations")
  broker.onPublication(() => {})
  for (const name of names) immediate.subscribe(name)
  const before = process.cpuUsage()
  for (let i = 0; i < channels; i++) immediate.publish(names[i]!, { c: i, s: 0 })
  const used = process.cpuUsage(before)
  return (used.user + used.system) / channels
}

const median = (values: Array<number>): number => [...values].sort((a, b) => a - b)[values.length >> 1]!
const results = { base: [] as Array<number>, mine: [] as Array<number> }
for (let round = 0; round < rounds; round++) {
  results.base.push(firstPublications(Base.make))
  results.mine.push(firstPublications(Mine.make))
}
for (const [tree, values] of Object.entries(results)) {
  // The first two rounds warm up the JIT.
  const measured = values.slice(2)
  console.log(
    `${tree}: ${median(measured).toFixed(2)} µs per first publication (median; rounds ${measured.map((v) => v.toFixed(1)).join(" ")})`
  )
}
