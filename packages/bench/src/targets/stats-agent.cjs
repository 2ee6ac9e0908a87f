// Preloaded into every target (`node --expose-gc --require stats-agent.cjs …`) so the
// runner can read CPU and memory of any server the same way, without touching its code.
// Commands arrive as lines on stdin; answers are one stdout line `@stats {json}`.
//   cpu -> {cpu: process.cpuUsage()}
//   mem -> full GC (twice, so weak/finalised objects go too), then {mem: process.memoryUsage()}
//   prof-start -> starts the V8 CPU profiler in this thread, {profiling: true}
//   prof-stop FILE -> stops it and writes the .cpuprofile to FILE, {profiled: FILE}
//   gc -> the main thread's GC pauses so far by kind, {pauses: {minor: {count, ms}, major: …,
//         longestMs}}, longestMs being the longest single pause since the previous gc command
// (the runner's --cpu-prof: profiles of the measured phases only, not of start-up)
// When stdin closes (the runner went away) the target exits, so no server outlives a run.
"use strict"
// Under node:cluster (the CLI's --workers) the workers inherit this preload and the
// primary's stdin; only the process the runner started answers.
if (!require("node:cluster").isWorker) start()

function start() {
  const readline = require("node:readline")

  const lines = readline.createInterface({ input: process.stdin })
  // Observed from start-up: a scenario reads this before and after a phase.
  const pauses = {
    minor: { count: 0, ms: 0 },
    major: { count: 0, ms: 0 },
    incremental: { count: 0, ms: 0 },
    weak: { count: 0, ms: 0 },
    longestMs: 0
  }
  const { PerformanceObserver, constants } = require("node:perf_hooks")
  const kinds = {
    [constants.NODE_PERFORMANCE_GC_MINOR]: pauses.minor,
    [constants.NODE_PERFORMANCE_GC_MAJOR]: pauses.major,
    [constants.NODE_PERFORMANCE_GC_INCREMENTAL]: pauses.incremental,
    [constants.NODE_PERFORMANCE_GC_WEAKCB]: pauses.weak
  }
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      const kind = kinds[entry.detail?.kind]
      if (kind !== undefined) {
        kind.count++
        kind.ms += entry.duration
        if (entry.duration > pauses.longestMs) pauses.longestMs = entry.duration
      }
    }
  }).observe({ entryTypes: ["gc"] })
  lines.on("line", (line) => {
    const command = line.trim()
    if (command === "cpu") {
      answer({ cpu: process.cpuUsage() })
    } else if (command === "mem") {
      if (typeof global.gc === "function") {
        global.gc()
        global.gc()
      }
      answer({ mem: process.memoryUsage(), gc: typeof global.gc === "function" })
    } else if (command === "gc") {
      answer({ pauses })
      pauses.longestMs = 0
    }
  })
  let session
  lines.on("line", (line) => {
    const [command, file] = line.trim().split(" ")
    if (command === "prof-start") {
      const inspector = require("node:inspector")
      session ??= new inspector.Session()
      session.connect()
      // 100 µs between samples (V8's default is 1 ms): a measured phase of a second or two
      // otherwise yields too few samples to rank functions that cost a few percent.
      session.post("Profiler.enable", () =>
        session.post("Profiler.setSamplingInterval", { interval: 100 }, () =>
          session.post("Profiler.start", () => answer({ profiling: true }))
        )
      )
    } else if (command === "prof-stop") {
      session.post("Profiler.stop", (error, result) => {
        if (!error) require("node:fs").writeFileSync(file, JSON.stringify(result.profile))
        session.disconnect()
        answer({ profiled: error ? String(error) : file })
      })
    }
  })
  lines.on("close", () => process.exit(0))

  function answer(value) {
    process.stdout.write(`@stats ${JSON.stringify(value)}\n`)
  }
}
