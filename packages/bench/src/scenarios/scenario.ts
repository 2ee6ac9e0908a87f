/** What a scenario is and what it reports. */
import type { Protocol } from "../loadgen/sc-client.js"
import type { Integrity } from "../loadgen/sequence-tracker.js"
import type { TargetProcess } from "../target-process.js"

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
