/**
 * The processes of a scale or workers run as Linux sees them: a throw-away redis-server,
 * a process tree (node:cluster workers are children of the primary), and each process's
 * CPU and RSS read from /proc, because the stats agent sees the primary only.
 */
import type { ChildProcess } from "node:child_process"
import { readdirSync, readFileSync } from "node:fs"
import { freePort, launchRedisServer } from "@effect-socketcluster/broker-redis/testing"

/** A throw-away redis-server (no persistence) on a free port, with its process for CPU and RSS. */
export const startRedis = async (): Promise<{ readonly url: string; readonly process: ChildProcess }> => {
  const port = await freePort()
  return { url: `redis://127.0.0.1:${port}`, process: await launchRedisServer(port) }
}

// Linux clock ticks (USER_HZ) per second, as /proc/<pid>/stat counts CPU time.
const ticksPerSecond = 100

/** The direct children of `pid` (all its threads'). */
export const childrenOf = (pid: number): Array<number> => {
  let tasks: Array<string> = []
  try {
    tasks = readdirSync(`/proc/${pid}/task`)
  } catch {
    return []
  }
  const out: Array<number> = []
  for (const task of tasks) {
    try {
      const children = readFileSync(`/proc/${pid}/task/${task}/children`, "utf8").trim()
      if (children !== "") out.push(...children.split(" ").map(Number))
    } catch {}
  }
  return out
}

/** The pids of `pid` and all its descendants. */
export const processTree = (pid: number): Array<number> => {
  const out = [pid]
  for (let i = 0; i < out.length; i++) out.push(...childrenOf(out[i]!))
  return out
}

/** User + system CPU of a process (all threads), in µs, from /proc (10 ms resolution); 0 once it is gone. */
export const processCpuMicros = (pid: number): number => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8")
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
    return ((Number(fields[11]) + Number(fields[12])) / ticksPerSecond) * 1e6
  } catch {
    return 0
  }
}

/** The resident set of a process in bytes (`VmRSS`), or 0 once it is gone. */
export const rssBytes = (pid: number): number => {
  try {
    const kib = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1]
    return kib === undefined ? 0 : Number(kib) * 1024
  } catch {
    return 0
  }
}
