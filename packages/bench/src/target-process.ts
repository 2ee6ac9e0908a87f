/**
 * One fresh server process per run: spawned pinned to its core, ready when it prints a
 * line containing `listening`, asked for CPU and memory through the preloaded stats agent
 * (`targets/stats-agent.cjs`), and killed at the end of the run.
 */
import { type ChildProcessByStdio, spawn } from "node:child_process"
import { readFileSync } from "node:fs"
import { createInterface } from "node:readline"
import type { Readable, Writable } from "node:stream"
import { fileURLToPath } from "node:url"
import { freePort } from "@effect-socketcluster/broker-redis/testing"

/** How to start a target: Node arguments (after our own flags) and extra environment. */
export interface Launch {
  readonly args: ReadonlyArray<string>
  readonly env?: Readonly<Record<string, string>>
}

export interface MemorySnapshot {
  readonly heapUsed: number
  readonly rss: number
  readonly external: number
}

/**
 * With `--cpu-prof`: the measured phases are profiled. Scenarios read the CPU in pairs
 * around each measured phase, so the first read of a pair starts the profiler and the
 * second stops it and writes `<dir>/<name>-<phase>.cpuprofile` (start-up is left out).
 */
export interface CpuProfile {
  readonly dir: string
  readonly name: string
}

/** A process's read- and write-like system calls so far (`syscr`, `syscw` of `/proc/<pid>/io`). */
export interface Syscalls {
  readonly reads: number
  readonly writes: number
}

/** The system calls of process `pid` so far, or undefined where `/proc/<pid>/io` cannot be read. */
export const syscallsOf = (pid: number): Syscalls | undefined => {
  try {
    const io = readFileSync(`/proc/${pid}/io`, "utf8")
    const reads = /^syscr: (\d+)$/m.exec(io)?.[1]
    const writes = /^syscw: (\d+)$/m.exec(io)?.[1]
    return reads === undefined || writes === undefined ? undefined : { reads: Number(reads), writes: Number(writes) }
  } catch {
    return undefined
  }
}

/** Main-thread GC pauses so far, by kind (from `PerformanceObserver` "gc" entries). */
export interface GcPauses {
  readonly minor: { readonly count: number; readonly ms: number }
  readonly major: { readonly count: number; readonly ms: number }
  readonly incremental: { readonly count: number; readonly ms: number }
  readonly weak: { readonly count: number; readonly ms: number }
  /** The longest single pause since the previous `gcPauses()` (so, read after a phase: its longest). */
  readonly longestMs: number
}

/** A running target. `cpuMicros` is user + system CPU of the whole process (all threads). */
export interface TargetProcess {
  readonly pid: number
  readonly port: number
  readonly path: string
  cpuMicros(): Promise<number>
  /** Its system calls so far (the main process only: a `--workers` CLI's workers are not counted). */
  syscalls(): Syscalls | undefined
  memory(): Promise<MemorySnapshot>
  gcPauses(): Promise<GcPauses>
  stop(): Promise<void>
}

/** Fails a run: the target did not start, died, or did not answer the stats agent. */
export class TargetProcessError extends Error {
  override readonly name = "TargetProcessError"
}

const statsAgent = fileURLToPath(new URL("./targets/stats-agent.cjs", import.meta.url))

interface StatsAnswer {
  readonly cpu?: { readonly user: number; readonly system: number }
  readonly mem?: MemorySnapshot
  readonly profiling?: boolean
  readonly profiled?: string
  readonly pauses?: GcPauses
}

const isStatsAnswer = (value: unknown): value is StatsAnswer => typeof value === "object" && value !== null

/**
 * Starts `launch` on a free loopback port. With `core` set, the process is pinned to
 * that core with `taskset` (which execs Node, so the pid stays the server's).
 */
export const startTarget = async (
  launch: Launch,
  core: number | null,
  profile?: CpuProfile
): Promise<TargetProcess> => {
  const port = await freePort()
  const nodeArgs = ["--expose-gc", "--require", statsAgent, ...launch.args]
  const [command, args] =
    core === null ? [process.execPath, nodeArgs] : ["taskset", ["-c", String(core), process.execPath, ...nodeArgs]]
  const { NODE_OPTIONS: _ignored, ...parentEnv } = process.env
  const child: ChildProcessByStdio<Writable, Readable, Readable> = spawn(command, args, {
    env: { ...parentEnv, ...launch.env, PORT: String(port) },
    stdio: ["pipe", "pipe", "pipe"]
  })
  let stderr = ""
  child.stderr.on("data", (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000)
  })
  const waiters: Array<(answer: StatsAnswer) => void> = []
  let exited = false
  const exit = new Promise<void>((resolve) => child.once("exit", () => resolve()))
  const ready = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new TargetProcessError(`not listening after 30 s; stderr: ${stderr}`)), 30000)
    createInterface({ input: child.stdout }).on("line", (line) => {
      if (line.startsWith("@stats ")) {
        const answer: unknown = JSON.parse(line.slice(7))
        if (isStatsAnswer(answer)) waiters.shift()?.(answer)
      } else if (line.includes("listening")) {
        clearTimeout(timer)
        resolve()
      }
    })
    child.once("exit", (code, signal) => {
      exited = true
      clearTimeout(timer)
      reject(new TargetProcessError(`exited (${code ?? signal}) before listening; stderr: ${stderr}`))
    })
  })
  child.stdin.on("error", () => {})
  const ask = (command: string): Promise<StatsAnswer> =>
    new Promise((resolve, reject) => {
      if (exited) {
        reject(new TargetProcessError(`target died; stderr: ${stderr}`))
        return
      }
      const timer = setTimeout(() => reject(new TargetProcessError(`no answer to ${command}`)), 30000)
      waiters.push((answer) => {
        clearTimeout(timer)
        resolve(answer)
      })
      child.stdin.write(`${command}\n`)
    })
  const stop = async (): Promise<void> => {
    if (!exited) child.kill("SIGKILL")
    await exit
  }
  let cpuReads = 0
  try {
    await ready
  } catch (error) {
    await stop()
    throw error
  }
  return {
    pid: child.pid ?? 0,
    port,
    path: "/socketcluster/",
    cpuMicros: async () => {
      const { cpu } = await ask("cpu")
      if (cpu === undefined) throw new TargetProcessError("stats agent sent no cpu")
      if (profile !== undefined) {
        cpuReads++
        if (cpuReads % 2 === 1) await ask("prof-start")
        else await ask(`prof-stop ${profile.dir}/${profile.name}-${cpuReads / 2}.cpuprofile`)
      }
      return cpu.user + cpu.system
    },
    syscalls: () => syscallsOf(child.pid ?? 0),
    memory: async () => {
      const { mem } = await ask("mem")
      if (mem === undefined) throw new TargetProcessError("stats agent sent no memory")
      return mem
    },
    gcPauses: async () => {
      const { pauses } = await ask("gc")
      if (pauses === undefined) throw new TargetProcessError("stats agent sent no gc pauses")
      return pauses
    },
    stop
  }
}
