/**
 * The real CLI as a child process, run from the sources (`node
 * --conditions=@effect-socketcluster/source --import tsx src/main.ts ...`), with a way to
 * wait for its output, and a private redis-server for the multi-process tests.
 */
import { type ChildProcess, spawn } from "node:child_process"
import { fileURLToPath } from "node:url"
import { settingSpecs } from "../src/Config.js"

const repoRoot = fileURLToPath(new URL("../../../", import.meta.url))
const mainPath = fileURLToPath(new URL("../src/main.ts", import.meta.url))

/** The parent's settings must not leak into the child. */
export const cleanEnv = (extra: Record<string, string> = {}): NodeJS.ProcessEnv => {
  const env = { ...process.env }
  for (const { env: name } of Object.values(settingSpecs)) delete env[name]
  return { ...env, ...extra }
}

/** A running CLI process. */
export interface CliProcess {
  readonly proc: ChildProcess
  /** Resolves with the first match of `pattern` in stdout+stderr (from `from` on); rejects if the process exits first. */
  readonly waitFor: (pattern: RegExp, from?: number) => Promise<RegExpMatchArray>
  readonly exited: Promise<number | null>
  readonly output: () => string
}

/** Spawns the CLI. Signals go to node itself, not to a tsx/pnpm wrapper that could mask the exit code. */
export const spawnCli = (argv: ReadonlyArray<string>, env: NodeJS.ProcessEnv = cleanEnv()): CliProcess => {
  const proc = spawn(
    process.execPath,
    ["--conditions=@effect-socketcluster/source", "--import", "tsx", mainPath, ...argv],
    {
      cwd: repoRoot,
      env,
      stdio: ["ignore", "pipe", "pipe"]
    }
  )
  let output = ""
  const waiters: Array<() => void> = []
  const onData = (chunk: Buffer) => {
    output += chunk.toString()
    for (const waiter of waiters.splice(0)) waiter()
  }
  proc.stdout?.on("data", onData)
  proc.stderr?.on("data", onData)
  const exited = new Promise<number | null>((resolve) => proc.once("exit", (code) => resolve(code)))
  const waitFor = (pattern: RegExp, from = 0): Promise<RegExpMatchArray> =>
    new Promise((resolve, reject) => {
      const check = () => {
        const match = pattern.exec(output.slice(from))
        if (match !== null) return resolve(match)
        if (proc.exitCode !== null || proc.signalCode !== null) {
          return reject(new Error(`exited ${proc.exitCode ?? proc.signalCode} before ${pattern}:\n${output}`))
        }
        waiters.push(check)
      }
      proc.once("exit", check)
      check()
    })
  return { proc, waitFor, exited, output: () => output }
}

/** The port from the first "listening on http://host:PORT/" line. */
export const listeningPort = async (cli: CliProcess): Promise<number> =>
  Number((await cli.waitFor(/listening on http:\/\/[^:]+:(\d+)\//))[1])

/** A redis-server the test owns: `REDIS_URL` when set, else a private one (see broker-redis). */
export { type RedisServer, useRedisServer as useRedis } from "@effect-socketcluster/broker-redis/testing"
