/** Turns the runs of one invocation into a summary (median, min, max) and a Markdown report. */
import { median } from "./loadgen/percentile.js"
import type { Integrity } from "./loadgen/sequence-tracker.js"
import type { Figure } from "./scenarios/scenario.js"

export interface RunRecord {
  readonly round: number
  readonly metrics?: Readonly<Record<string, number>>
  readonly integrity?: Integrity
  readonly notes?: ReadonlyArray<string>
  readonly error?: string
}

export interface Spread {
  readonly median: number
  readonly min: number
  readonly max: number
}

export interface ScenarioReport {
  readonly id: string
  readonly title: string
  readonly figures: ReadonlyArray<Figure>
  readonly runs: Record<string, Array<RunRecord>>
  summary: Record<string, Record<string, Spread>>
}

export interface TargetReport {
  readonly id: string
  readonly label: string
  readonly status: string
}

export interface Report {
  readonly date: string
  readonly command: string
  readonly node: string
  readonly cpu: string
  readonly pinning: string
  readonly rounds: number
  readonly quick: boolean
  readonly targets: ReadonlyArray<TargetReport>
  readonly scenarios: ReadonlyArray<ScenarioReport>
  readonly failures: ReadonlyArray<string>
}

/** Median and range of each figure over the successful runs of each target. */
export const summarise = (scenario: ScenarioReport): void => {
  scenario.summary = {}
  for (const [target, runs] of Object.entries(scenario.runs)) {
    const figures: Record<string, Spread> = {}
    for (const figure of scenario.figures) {
      const values = runs.flatMap((run) => {
        const value = run.metrics?.[figure.key]
        return value === undefined || !Number.isFinite(value) ? [] : [value]
      })
      if (values.length > 0) {
        figures[figure.key] = { median: median(values), min: Math.min(...values), max: Math.max(...values) }
      }
    }
    scenario.summary[target] = figures
  }
}

const formatValue = (value: number, unit: string): string => {
  switch (unit) {
    case "/s":
      return value >= 100000
        ? `${(value / 1000).toLocaleString("en-US", { maximumFractionDigits: 0 })}k`
        : Math.round(value).toLocaleString("en-US")
    case "B":
      return Math.abs(value) < 1024 ? `${Math.round(value)} B` : `${(value / 1024).toFixed(1)} KB`
    case "ms":
      return `${value.toFixed(value < 10 ? 2 : 1)} ms`
    default:
      return `${value.toFixed(value < 10 ? 2 : 1)} ${unit}`
  }
}

const formatSpread = (spread: Spread | undefined, unit: string, rounds: number): string => {
  if (spread === undefined) return "–"
  const middle = formatValue(spread.median, unit)
  if (rounds <= 1 || spread.min === spread.max) return middle
  return `${middle} (${formatValue(spread.min, unit)}–${formatValue(spread.max, unit)})`
}

/**
 * The Markdown report: environment, one table per scenario with the ratios of ours (the
 * CLI) to every other target, then `appendix` (the targets checked on this run).
 */
export const toMarkdown = (report: Report, ours: string, appendix = ""): string => {
  const shown = report.targets.filter((target) => target.status === "measured")
  const references = shown.filter((target) => target.id !== ours)
  const hasOurs = shown.some((target) => target.id === ours)
  const lines: Array<string> = [
    `Date: ${report.date} · Node ${report.node} · CPU: ${report.cpu} · ${report.pinning}`,
    "",
    `Command: \`${report.command}\` (${report.rounds} round${report.rounds === 1 ? "" : "s"}, ${report.quick ? "quick" : "full"} durations; medians with min–max over rounds)`,
    ""
  ]
  for (const target of report.targets) {
    if (target.status !== "measured") lines.push(`- ${target.label}: ${target.status}`)
  }
  if (lines.at(-1) !== "") lines.push("")
  for (const scenario of report.scenarios) {
    lines.push(`#### ${scenario.title}`, "")
    const ratioHeads = hasOurs ? references.map((target) => `${ours} ÷ ${target.id}`) : []
    lines.push(`| figure | ${[...shown.map((target) => target.label), ...ratioHeads].join(" | ")} |`)
    lines.push(`|---|${[...shown, ...ratioHeads].map(() => "---:").join("|")}|`)
    for (const figure of scenario.figures) {
      const cells = shown.map((target) =>
        formatSpread(scenario.summary[target.id]?.[figure.key], figure.unit, report.rounds)
      )
      const ourValue = scenario.summary[ours]?.[figure.key]?.median
      const ratios = hasOurs
        ? references.map((target) => {
            const reference = scenario.summary[target.id]?.[figure.key]?.median
            return ourValue === undefined || reference === undefined || reference === 0
              ? "–"
              : `${(ourValue / reference).toFixed(2)}×`
          })
        : []
      const better = figure.better === "higher" ? "↑" : "↓"
      lines.push(`| ${figure.label} ${better} | ${[...cells, ...ratios].join(" | ")} |`)
    }
    const failed = Object.entries(scenario.runs).flatMap(([target, runs]) =>
      runs.filter((run) => run.error !== undefined).map((run) => `${target} round ${run.round}: ${run.error}`)
    )
    const notes = Object.entries(scenario.runs).flatMap(([target, runs]) =>
      runs.flatMap((run) => (run.notes ?? []).map((note) => `${target} round ${run.round}: ${note}`))
    )
    lines.push("")
    for (const line of failed) lines.push(`- **FAILED** ${line}`)
    for (const line of notes) lines.push(`- note: ${line}`)
    if (failed.length + notes.length > 0) lines.push("")
  }
  lines.push(
    "↑ higher is better, ↓ lower is better. Lost, duplicated and reordered messages: none unless listed as FAILED.",
    ""
  )
  if (hasOurs && appendix !== "") lines.push(appendix)
  return `${lines.join("\n")}\n`
}
