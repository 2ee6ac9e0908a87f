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
