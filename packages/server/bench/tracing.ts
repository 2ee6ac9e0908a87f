/**
 * Micro-benchmark: what the tracing hooks cost a procedure call when no tracer is
 * installed (the hook is one boolean test: `host.tracing ? span : effect`), against the
 * same call with no hook at all, and with spans on for scale.
 *
 *   node --conditions=@effect-socketcluster/source --import tsx packages/server/bench/tracing.ts [--calls 200000] [--rounds 7]
 *
 * Prints the median ns per call of each variant over the rounds (variants interleaved).
 */
import * as Effect from "effect/Effect"
import * as Tracing from "../src/Tracing.js"
import { argNumber } from "./script-tools.js"

const calls = argNumber("calls", 200_000)
const rounds = argNumber("rounds", 7)

const handler = (data: number) => Effect.succeed(data + 1)
const host = { tracing: false, id: "socket-id" }

type Variant = (i: number) => Effect.Effect<number>
const variants: Record<string, Variant> = {
  "no hook": (i) => Effect.suspend(() => handler(i)),
  "hook, no tracer": (i) => {
    const run = Effect.suspend(() => handler(i))
    return host.tracing
      ? Tracing.span(true, "sc.procedure", () => ({ "sc.socket.id": host.id, "sc.event": "echo" }), run)
      : run
  },
  "spans on": (i) =>
    Tracing.span(
      true,
      "sc.procedure",
      () => ({ "sc.socket.id": host.id, "sc.event": "echo" }),
      Effect.suspend(() => handler(i))
    )
}

const time = (variant: Variant): number => {
  let sum = 0
  const started = process.hrtime.bigint()
  for (let i = 0; i < calls; i++) sum += Effect.runSync(variant(i))
  const ns = Number(process.hrtime.bigint() - started) / calls
  if (sum === 0) throw new Error("unreachable")
  return ns
}

const results: Record<string, Array<number>> = {}
for (const name of Object.keys(variants)) results[name] = []
for (let round = 0; round < rounds + 1; round++) {
  for (const [name, variant] of Object.entries(variants)) {
    const ns = time(variant)
    if (round > 0) results[name]!.push(ns) // round 0 warms the JIT
  }
}
const median = (xs: Array<number>) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
console.log(`| variant | ns per call (median of ${rounds} rounds of ${calls}) |`)
console.log("| --- | --- |")
for (const [name, xs] of Object.entries(results)) console.log(`| ${name} | ${median(xs).toFixed(0)} |`)
