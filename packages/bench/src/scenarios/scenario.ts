/** What a scenario is and what it reports. */
import type { Protocol } from "../loadgen/sc-client.js"
import type { Integrity } from "../loadgen/sequence-tracker.js"
import type { GcPauses, Syscalls, TargetProcess } from "../target-process.js"

/** One reported number: how to label it and which direction is better. */
export interface Figure {
  readonly key: string
  readonly label: string
  readonly unit: string
  readonly better: "higher" | "lower"
}

export interface RunResult {
  readonly metrics: Readonly<Record<string, number>>
  readonly integrity: Integrity
  /** Observations that are not failures (for example RPC answers out of cid order). */
  readonly notes: ReadonlyArray<string>
}

/** Knobs the runner sets: `quick` shortens the timed phases; `protocol` is what the load clients speak. */
export interface RunOptions {
  readonly quick: boolean
  readonly protocol: Protocol
}

export interface Scenario {
  readonly id: string
  readonly title: string
  /** Run only when named with `--scenarios`. */
  readonly optional?: boolean
  readonly figures: ReadonlyArray<Figure>
  readonly run: (target: TargetProcess, options: RunOptions) => Promise<RunResult>
}

/** Resolves once `count` reaches `total` (true) or after `timeoutMs` (false). */
export class Countdown {
  count = 0
  private total = Number.POSITIVE_INFINITY
  private done: ((reached: boolean) => void) | null = null

  add(amount = 1): void {
    this.count += amount
    if (this.count >= this.total) this.finish(true)
  }

  reach(total: number, timeoutMs: number): Promise<boolean> {
    this.total = total
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.finish(false), timeoutMs)
      this.done = (reached) => {
        clearTimeout(timer)
        resolve(reached)
      }
      if (this.count >= total) this.finish(true)
    })
  }

  private finish(reached: boolean): void {
    const done = this.done
    this.done = null
    this.total = Number.POSITIVE_INFINITY
    done?.(reached)
  }
}

export const delay = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/**
 * The load generator's own CPU (this process, all threads, user + system), in µs. A note
 * built from it says how busy the generator was in a timed phase: near 100 % of its core
 * it, not the server, may be what caps the rate.
 */
export const loadCpuMicros = (): number => {
  const usage = process.cpuUsage()
  return usage.user + usage.system
}

/** "load generator busy 62 % of the subscribe phase, 9.1 µs per subscribe" */
export const loadNote = (phase: string, cpuMicros: number, seconds: number, operations: number, per: string): string =>
  `load generator busy ${((cpuMicros / (seconds * 1e6)) * 100).toFixed(0)} % of the ${phase} phase, ` +
  `${(cpuMicros / operations).toFixed(2)} µs per ${per}`

/**
 * "server GC: 10 scavenges, 2.1 ms each, 0 full GCs, 0.21 µs of pauses per subscribe, the
 * longest 3.0 ms, in the subscribe phase"
 * (main-thread pauses only; V8's helper threads work in parallel with them). Round 6 found
 * the unbundled CLI's scavenges 8x longer than the library's with this.
 */
export const gcNote = (phase: string, before: GcPauses, after: GcPauses, operations: number, per: string): string => {
  const scavenges = after.minor.count - before.minor.count
  const scavengeMs = after.minor.ms - before.minor.ms
  const majorMs = after.major.ms - before.major.ms + after.incremental.ms - before.incremental.ms
  const each = scavenges === 0 ? "" : `, ${(scavengeMs / scavenges).toFixed(1)} ms each`
  return (
    `server GC: ${scavenges} scavenges${each}, ${after.major.count - before.major.count} full GCs, ` +
    `${(((scavengeMs + majorMs) * 1000) / operations).toFixed(2)} µs of pauses per ${per}, the longest ` +
    `${after.longestMs.toFixed(1)} ms, in the ${phase} phase`
  )
}

/**
 * "server: 0.52 read and 1.01 write system calls per delivery in the publish phase"
 * (read- and write-like calls of `/proc/<pid>/io`: on loopback each write also runs the
 * receiver's TCP input, so these are most of a server's CPU where nothing coalesces).
 */
export const syscallNote = (
  phase: string,
  before: Syscalls | undefined,
  after: Syscalls | undefined,
  operations: number,
  per: string
): string | undefined =>
  before === undefined || after === undefined
    ? undefined
    : `server: ${((after.reads - before.reads) / operations).toFixed(2)} read and ` +
      `${((after.writes - before.writes) / operations).toFixed(2)} write system calls per ${per} in the ${phase} phase`

/** What a max-rate phase measured over its timed window. */
export interface MaxRate {
  readonly delivered: number
  readonly seconds: number
  /** Server CPU (the target's `cpuMicros`). */
  readonly cpuMicros: number
  /** This process's CPU: the load generator's. */
  readonly loadMicros: number
  /** The server's system calls before and after the phase. */
  readonly syscallsBefore: Syscalls | undefined
  readonly syscallsAfter: Syscalls | undefined
}

/**
 * How long a timed phase runs after how long a warm-up. Every throughput figure is steady
 * state: the same work runs untimed first, so no target's window holds its JIT tiering up,
 * its compiler threads (their CPU counts: a target's CPU is all its threads) or its first
 * old-space growth. Round 4's cold 3-second windows moved every target's CPU per operation
 * by 20–50 % between rounds.
 */
export const phaseTiming = (quick: boolean): { readonly warmUpMs: number; readonly windowMs: number } =>
  quick ? { warmUpMs: 300, windowMs: 1000 } : { warmUpMs: 1500, windowMs: 4000 }

/** What the timed subscribe passes measured, summed over the passes. */
export interface SubscribePasses {
  readonly passes: number
  readonly seconds: number
  readonly cpuMicros: number
  readonly loadMicros: number
  /** Sums over the passes (so a `before` of zeros and an `after` of the sums). */
  readonly syscalls: { readonly before: Syscalls; readonly after: Syscalls } | undefined
  readonly gc: { readonly before: GcPauses; readonly after: GcPauses }
}

const noPauses: GcPauses = {
  minor: { count: 0, ms: 0 },
  major: { count: 0, ms: 0 },
  incremental: { count: 0, ms: 0 },
  weak: { count: 0, ms: 0 },
  longestMs: 0
}

const addPauses = (sum: GcPauses, before: GcPauses, after: GcPauses): GcPauses => {
  const add = (kind: "minor" | "major" | "incremental" | "weak") => ({
    count: sum[kind].count + after[kind].count - before[kind].count,
    ms: sum[kind].ms + after[kind].ms - before[kind].ms
  })
  return {
    minor: add("minor"),
    major: add("major"),
    incremental: add("incremental"),
    weak: add("weak"),
    longestMs: Math.max(sum.longestMs, after.longestMs)
  }
}

/**
 * The subscribe phase of the pub/sub scenarios: `subscribeAll` timed, then, while the
 * passes so far took less than half the window of {@link phaseTiming}, `unsubscribeAll`
 * untimed and `subscribeAll` timed again; it ends subscribed. One pass of 10,000
 * subscribes takes 70–350 ms, so a single pass (rounds 4–7) left one scavenge or one
 * scheduling hiccup a tenth of the figure: the CLI's many-channels subscribes ranged over
 * 50k–78k/s in round 6's five rounds. Half the window keeps the phase's extra run time
 * (the untimed unsubscribes) near the other phases'.
 */
export const timeSubscribePasses = async (
  target: TargetProcess,
  quick: boolean,
  subscribeAll: () => Promise<void>,
  unsubscribeAll: () => Promise<void>
): Promise<SubscribePasses> => {
  const windowSeconds = phaseTiming(quick).windowMs / 2000
  let passes = 0
  let seconds = 0
  let cpuMicros = 0
  let loadMicros = 0
  let syscalls: { before: Syscalls; after: Syscalls } | undefined = {
    before: { reads: 0, writes: 0 },
    after: { reads: 0, writes: 0 }
  }
  let gc = noPauses
  for (;;) {
    const gcBefore = await target.gcPauses()
    const cpuBefore = await target.cpuMicros()
    const syscallsBefore = target.syscalls()
    const loadBefore = loadCpuMicros()
    const started = performance.now()
    await subscribeAll()
    seconds += (performance.now() - started) / 1000
    loadMicros += loadCpuMicros() - loadBefore
    const syscallsAfter = target.syscalls()
    cpuMicros += (await target.cpuMicros()) - cpuBefore
    gc = addPauses(gc, gcBefore, await target.gcPauses())
    syscalls =
      syscalls === undefined || syscallsBefore === undefined || syscallsAfter === undefined
        ? undefined
        : {
            before: syscalls.before,
            after: {
              reads: syscalls.after.reads + syscallsAfter.reads - syscallsBefore.reads,
              writes: syscalls.after.writes + syscallsAfter.writes - syscallsBefore.writes
            }
          }
    passes++
    if (seconds >= windowSeconds)
      return { passes, seconds, cpuMicros, loadMicros, syscalls, gc: { before: noPauses, after: gc } }
    await unsubscribeAll()
  }
}

/**
 * The max-rate phase of the delivery scenarios, a closed loop: `pump` (call it on every
 * delivery) runs `fill`, which publishes until the deliveries in flight fill the
 * scenario's window. The loop runs untimed for the warm-up, then deliveries and server CPU
 * are counted over the timed window; then the deliveries still `due` are waited for
 * (their integrity is checked, their rate is not counted).
 */
export class ClosedLoop {
  private open = false
  constructor(private readonly fill: () => void) {}

  readonly pump = (): void => {
    if (this.open) this.fill()
  }

  async measure(target: TargetProcess, deliveries: Countdown, quick: boolean, due: () => number): Promise<MaxRate> {
    const { warmUpMs, windowMs } = phaseTiming(quick)
    this.open = true
    this.pump()
    await delay(warmUpMs)
    const cpuBefore = await target.cpuMicros()
    const deliveredBefore = deliveries.count
    const syscallsBefore = target.syscalls()
    const loadBefore = loadCpuMicros()
    const started = performance.now()
    await delay(windowMs)
    const cpuAfter = await target.cpuMicros()
    const delivered = deliveries.count - deliveredBefore
    const seconds = (performance.now() - started) / 1000
    const loadMicros = loadCpuMicros() - loadBefore
    const syscallsAfter = target.syscalls()
    this.open = false
    // Deliveries that never come show up as lost in the scenario's integrity check.
    await deliveries.reach(due(), 10000)
    return { delivered, seconds, cpuMicros: cpuAfter - cpuBefore, loadMicros, syscallsBefore, syscallsAfter }
  }
}
