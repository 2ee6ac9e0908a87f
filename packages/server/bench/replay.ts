/**
 * The server's CPU per publication of a requested replay (a socket subscribing with
 * `recover: { offset, epoch }` and getting the channel's history before live delivery),
 * this tree against another checkout (`BENCH_BASE_TREE`), interleaved: each round replays
 * a channel's 1,000 retained publications to 20 subscribers one after another, on a memory
 * broker and a channel registry per tree, every frame built as the socket writer would ask
 * for it. What it shows: the cost of framing a replayed publication (decoding the stored
 * text is the same in both, the memory broker keeps history as text).
 *
 *   BENCH_BASE_TREE=/tmp/base pnpm tsx --conditions=@effect-socketcluster/source packages/server/bench/replay.ts
 */
import { json } from "@effect-socketcluster/protocol"
import * as Effect from "effect/Effect"
import * as MineBroker from "../src/BrokerMemory.js"
import { ChannelRegistry as MineRegistry } from "../src/ChannelRegistry.js"
import type { Frame } from "../src/Frame.js"

const base = process.env.BENCH_BASE_TREE
if (base === undefined) throw new Error("BENCH_BASE_TREE must name the checkout to compare with")
const BaseBroker: typeof MineBroker = await import(`${base}/packages/server/src/BrokerMemory.ts`)
const { ChannelRegistry: BaseRegistry }: { ChannelRegistry: typeof MineRegistry } = await import(
  `${base}/packages/server/src/ChannelRegistry.ts`
)

const retained = 1_000
const replays = 20
const rounds = 22
const channel = "replay"

/** A broker whose channel holds `retained` publications, and a registry fanning out from it. */
const setup = (make: typeof MineBroker.make, Registry: typeof MineRegistry) => {
  const broker = Effect.runSync(make)
  const registry = new Registry(
    broker,
    () => json,
    Effect.runFork,
    (error) => {
      throw error
    }
  )
  // History is kept whether or not anybody is subscribed: no publication handler is needed.
  for (let i = 1; i <= retained; i++) {
    Effect.runSync(
      broker.publish(channel, { id: i, user: `user-${i % 97}`, text: "a chat line of some length ✓", tags: ["x", "y"] })
    )
  }
  return registry
}

// A subscriber that asks for its frame (as the writer does) and keeps nothing.
let bytes = 0
const subscriber = () => ({
  replaying: false,
  deliver(_channel: string, _data: unknown, frame: () => Frame | undefined) {
    const f = frame()
    bytes += typeof f === "string" ? f.length : f instanceof Uint8Array ? f.length : (f?.bytes.length ?? 0)
  }
})

const replayCost = (registry: MineRegistry): number => {
  const before = process.cpuUsage()
  for (let r = 0; r < replays; r++) {
    const socket = subscriber()
    const ack = Effect.runSync(registry.addRecoveringSocket(socket, channel, { since: { offset: 0, epoch: "" } }))
    if (ack.replayed !== retained) throw new Error(`replayed ${ack.replayed}, expected ${retained}`)
    registry.removeSocket(socket, channel)
  }
  const used = process.cpuUsage(before)
  return (used.user + used.system) / (replays * retained)
}

const trees = {
  base: setup(BaseBroker.make, BaseRegistry),
  mine: setup(MineBroker.make, MineRegistry)
}
const median = (values: Array<number>): number => [...values].sort((a, b) => a - b)[values.length >> 1]!
const results = { base: [] as Array<number>, mine: [] as Array<number> }
for (let round = 0; round < rounds; round++) {
  results.base.push(replayCost(trees.base))
  results.mine.push(replayCost(trees.mine))
}
for (const [tree, values] of Object.entries(results)) {
  // The first two rounds warm up the JIT.
  const measured = values.slice(2)
  console.log(
    `${tree}: ${median(measured).toFixed(2)} µs per replayed publication (median of ${measured.length}; rounds ${measured.map((v) => v.toFixed(2)).join(" ")})`
  )
}
console.log(`(${bytes} frame bytes built)`)
