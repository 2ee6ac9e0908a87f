/**
 * The targets (issue 20), checked on the medians of one run: each is a ratio of
 * the CLI to a reference measured in the same run, so the check never mixes runs.
 * A target whose figures or reference were not measured in this run reads "not measured".
 */
import type { Report, ScenarioReport } from "./report.js"

/** One target, checked on every scenario of `scenarios` that ran. */
interface Goal {
  readonly name: string
  readonly scenarios: ReadonlyArray<string>
  readonly figure: string
  /** Reference target ids, the first one measured is used. */
  readonly reference: ReadonlyArray<string>
  /** ours ÷ reference must be ≥ `ratio` (higher is better) or ≤ `ratio` (lower is better). */
  readonly ratio: number
  readonly better: "higher" | "lower"
}

const limit = ["bare-ws-coalesced"]
// socketcluster-server 14 speaks v1 only; with --protocol 2 the latest one stands in.
const sc14 = ["sc-server", "sc-server-20"]
const connects = ["connect-1000", "connect-5000", "connect-10000"]
const channelScenarios = ["many-channels", "many-clients"]

const goals: ReadonlyArray<Goal> = [
  {
    name: "handshakes ≥ 0.9× the limit",
    scenarios: connects,
    figure: "handshakesPerSecond",
    reference: limit,
    ratio: 0.9,
    better: "higher"
  },
  {
    name: "RPC ≥ 0.9× the limit",
    scenarios: ["rpc"],
    figure: "requestsPerSecond",
    reference: limit,
    ratio: 0.9,
    better: "higher"
  },
  {
    name: "RPC ≥ 3× sc14",
    scenarios: ["rpc"],
    figure: "requestsPerSecond",
    reference: sc14,
    ratio: 3,
    better: "higher"
  },
  {
    name: "subscribes/s ≥ 2× sc14",
    scenarios: channelScenarios,
    figure: "subscribesPerSecond",
    reference: sc14,
    ratio: 2,
    better: "higher"
  },
  {
    name: "publish→delivery ≥ 2× sc14",
    scenarios: channelScenarios,
    figure: "deliveriesPerSecond",
    reference: sc14,
    ratio: 2,
    better: "higher"
  },
  {
    name: "fan-out ≥ 0.95× the limit",
    scenarios: ["fan-out-1000", "fan-out-5000"],
    figure: "deliveriesPerSecond",
    reference: limit,
    ratio: 0.95,
    better: "higher"
  },
  {
    name: "heap per idle socket ≤ the limit's + 10 %",
    scenarios: connects,
    figure: "heapPerSocketBytes",
    reference: limit,
    ratio: 1.1,
    better: "lower"
  },
  {
    name: "RSS per channel ≤ sc14's",
    scenarios: ["many-channels"],
    figure: "rssPerChannelBytes",
    reference: sc14,
    ratio: 1,
    better: "lower"
  },
  {
    name: "p50 latency ≤ 0.8× sc14 (fixed rate)",
    scenarios: ["fan-out-1000", "fan-out-5000", "many-clients"],
    figure: "latencyP50Ms",
    reference: sc14,
    ratio: 0.8,
    better: "lower"
  }
]

/** One checked target on one scenario. */
export interface GoalRow {
  readonly goal: string
  readonly scenario: string
  readonly figure: string
  readonly reference: string
  readonly ratio: number | undefined
  readonly needed: string
  readonly met: boolean | undefined
}

const medianOf = (scenario: ScenarioReport, target: string, figure: string): number | undefined =>
  scenario.summary[target]?.[figure]?.median

const judge = (ratio: number | undefined, needed: number, better: "higher" | "lower"): boolean | undefined =>
  ratio === undefined ? undefined : better === "higher" ? ratio >= needed : ratio <= needed

/** Every target on every scenario of the run, plus "the CLI within 10 % of the library" per scenario. */
export const checkGoals = (report: Report, ours: string, library: string): ReadonlyArray<GoalRow> => {
  const measured = new Set(report.targets.filter((t) => t.status === "measured").map((t) => t.id))
  const rows: Array<GoalRow> = []
  const byId = new Map(report.scenarios.map((s) => [s.id, s]))
  for (const goal of goals) {
    for (const id of goal.scenarios) {
      const scenario = byId.get(id)
      if (scenario === undefined) continue
      const figure = scenario.figures.find((f) => f.key === goal.figure)
      const reference = goal.reference.find((r) => measured.has(r)) ?? goal.reference[0]!
      const ourValue = medianOf(scenario, ours, goal.figure)
      const referenceValue = medianOf(scenario, reference, goal.figure)
      const ratio =
        ourValue === undefined || referenceValue === undefined || referenceValue === 0
          ? undefined
          : ourValue / referenceValue
      rows.push({
        goal: goal.name,
        scenario: id,
        figure: figure?.label ?? goal.figure,
        reference,
        ratio,
        needed: `${goal.better === "higher" ? "≥" : "≤"} ${goal.ratio}×`,
        met: judge(ratio, goal.ratio, goal.better)
      })
    }
  }
  for (const scenario of report.scenarios) {
    for (const figure of scenario.figures) {
      const ourValue = medianOf(scenario, ours, figure.key)
      const libraryValue = medianOf(scenario, library, figure.key)
      const ratio =
        ourValue === undefined || libraryValue === undefined || libraryValue === 0 ? undefined : ourValue / libraryValue
      const needed = figure.better === "higher" ? 0.9 : 1.1
      rows.push({
        goal: "CLI within 10 % of the library",
        scenario: scenario.id,
        figure: figure.label,
        reference: library,
        ratio,
        needed: `${figure.better === "higher" ? "≥" : "≤"} ${needed}×`,
        met: judge(ratio, needed, figure.better)
      })
    }
  }
  return rows
}

/** The targets as a Markdown table, with a count of met and missed. */
export const goalsMarkdown = (rows: ReadonlyArray<GoalRow>, ours: string): string => {
  const met = rows.filter((r) => r.met === true).length
  const missed = rows.filter((r) => r.met === false).length
  const lines = [
    `#### Issue 20 targets (${ours} ÷ reference, medians of this run): ${met} met, ${missed} missed`,
    "",
    "| target | scenario | figure | reference | ratio | needed | result |",
    "|---|---|---|---|---:|---:|---|"
  ]
  for (const r of rows) {
    const result = r.met === undefined ? "not measured" : r.met ? "met" : "**MISSED**"
    const ratio = r.ratio === undefined ? "–" : `${r.ratio.toFixed(2)}×`
    lines.push(`| ${r.goal} | ${r.scenario} | ${r.figure} | ${r.reference} | ${ratio} | ${r.needed} | ${result} |`)
  }
  return `${lines.join("\n")}\n`
}
