import { Context, Metric } from "effect"
import { PrometheusMetrics } from "effect/observability"
import { describe, expect, it } from "vitest"
import { histogramOf } from "../src/ServerMetrics.js"
import { parsePrometheus, sampleValue } from "./harness.js"

describe("histogramOf (the series the CLI keeps itself and exports when scraped)", () => {
  it("counts each value in its bucket, cumulated as Prometheus reads them", () => {
    const series = histogramOf([5, 1, 10])
    for (const value of [0.2, 1, 3, 7, 50]) series.record(value)
    const state = series.hooks.get(Context.empty())
    expect(state.buckets).toEqual([
      [1, 2],
      [5, 3],
      [10, 4]
    ])
    expect({ count: state.count, sum: state.sum, min: state.min, max: state.max }).toEqual({
      count: 5,
      sum: 61.2,
      min: 0.2,
      max: 50
    })
    const context = Context.make(Metric.MetricRegistry, new Map())
    Metric.registerUnsafe(Metric.histogram("t_ms", { boundaries: [1, 5, 10] }), context, series.hooks)
    const samples = parsePrometheus(PrometheusMetrics.formatUnsafe(context))
    expect(sampleValue(samples, "t_ms_bucket", { le: "5" })).toBe(3)
    expect(sampleValue(samples, "t_ms_bucket", { le: "+Inf" })).toBe(5)
    expect(sampleValue(samples, "t_ms_count")).toBe(5)
  })

  it("recordAgain counts one more like the last recorded value, and nothing before a first one", () => {
    const series = histogramOf([1, 5, 10])
    series.recordAgain()
    expect(series.hooks.get(Context.empty()).count).toBe(0)
    series.record(3)
    series.recordAgain()
    series.recordAgain()
    series.record(0.5)
    series.recordAgain()
    const state = series.hooks.get(Context.empty())
    expect(state.buckets).toEqual([
      [1, 2],
      [5, 5],
      [10, 5]
    ])
    expect({ count: state.count, sum: state.sum, min: state.min, max: state.max }).toEqual({
      count: 5,
      sum: 10,
      min: 0.5,
      max: 3
    })
  })
})
