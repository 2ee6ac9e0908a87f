/**
 * Child processes for the release tests: spawn with a clean environment, wait for
 * output, find the listening port, and check what a process left behind (its process
 * tree, its port).
 */
import { type ChildProcess, type SpawnOptions, spawn } from "node:child_process"
import { readdirSync, readFileSync } from "node:fs"
import * as Net from "node:net"
import { fileURLToPath } from "node:url"

export const repoRoot = fileURLToPath(new URL("../../../", import.meta.url))

/**
 * The environment of a user's shell: no vitest or pnpm variables, no NODE_OPTIONS, no
 * server settings from the caller.
 */
export const userEnv = (extra: Record<string, string> = {}): NodeJS.ProcessEnv => {
  const env: NodeJS.ProcessEnv = {}
  for (const [name, value] of Object.entries(process.env)) {
    if (/^(npm_|pnpm_|vitest|node_options$|node_env$|port$|host$|broker_url$|auth_key$)/i.test(name)) continue
    env[name] = value
  }
  return { ...env, ...extra }
}

/** A running child with its output so far. */
export interface Child {
  readonly proc: ChildProcess
  readonly pid: number
  /** The first match of `pattern` in stdout+stderr; rejects when the process exits first. */
  readonly waitFor: (pattern: RegExp) => Promise<RegExpMatchArray>
  /** Exit code and signal. */
  readonly exited: Promise<{ readonly code: number | null; readonly signal: NodeJS.Signals | null }>
  readonly output: () => string
}

/** Spawns `command` with piped output; the test must end it (see {@link stop}). */
export const start = (command: string, args: ReadonlyArray<string>, options: SpawnOptions = {}): Child => {
  const proc = spawn(command, args, { env: userEnv(), ...options, stdio: ["ignore", "pipe", "pipe"] })
  if (proc.pid === undefined) throw new Error(`could not start ${command}`)
  let output = ""
  const waiters = new Set<() => void>()
  const onData = (chunk: Buffer) => {
    output += chunk.toString()
    for (const waiter of waiters) waiter()
  }
  proc.stdout?.on("data", onData)
  proc.stderr?.on("data", onData)
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    proc.once("exit", (code, signal) => {
      resolve({ code, signal })
      for (const waiter of waiters) waiter()
    })
  )
  const waitFor = (pattern: RegExp): Promise<RegExpMatchArray> =>
    new Promise((resolve, reject) => {
      const check = () => {
        const match = pattern.exec(output)
        if (match !== null) {
          waiters.delete(check)
          resolve(match)
        } else if (proc.exitCode !== null || proc.signalCode !== null) {
          waiters.delete(check)
          reject(new Error(`exited (${proc.exitCode ?? proc.signalCode}) before ${pattern}:\n${output}`))
        }
      }
      waiters.add(check)
      check()
    })
  return { proc, pid: proc.pid, waitFor, exited, output: () => output }
}

/** Runs `command` to its end: exit code and output. */
export const run = async (
  command: string,
  args: ReadonlyArray<string>,
  options: SpawnOptions = {}
): Promise<{ readonly code: number | null; readonly output: string }> => {
  const child = start(command, args, options)
  const { code } = await child.exited
  return { code, output: child.output() }
}

/** Kills a child that a failed test left running. */
export const stop = (child: Child | undefined): void => {
  if (child !== undefined && child.proc.exitCode === null && child.proc.signalCode === null) child.proc.kill("SIGKILL")
}

/** The port of the CLI's "listening on http://host:PORT/" line. */
export const cliPort = async (child: Child): Promise<number> =>
  Number((await child.waitFor(/listening on http:\/\/[^:]+:(\d+)\//))[1])

/** The port of a "listening PORT" line (the test apps print one). */
export const appPort = async (child: Child): Promise<number> => Number((await child.waitFor(/listening (\d+)/))[1])

/** A process as /proc shows it: pid, start time (so a reused pid is not mistaken for it), command line. */
export interface ProcessInfo {
  readonly pid: number
  readonly startTime: string
  readonly commandLine: string
}

const statFields = (pid: number): ReadonlyArray<string> | undefined => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8")
    // Fields after the command name, which is in parentheses and may hold spaces.
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")
  } catch {
    return undefined
  }
}

const info = (pid: number): ProcessInfo | undefined => {
  const fields = statFields(pid)
  if (fields === undefined) return undefined
  let commandLine = ""
  try {
    commandLine = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").join(" ").trim()
  } catch {
    return undefined
  }
  // stat field 22 (starttime) is index 19 after the name; field 4 (ppid) is index 1.
  return { pid, startTime: fields[19] ?? "", commandLine }
}

/** `pid` and all its descendants, read from /proc. */
export const processTree = (pid: number): ReadonlyArray<ProcessInfo> => {
  const children = new Map<number, Array<number>>()
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue
    const ppid = Number(statFields(Number(entry))?.[1])
    children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)])
  }
  const tree: Array<ProcessInfo> = []
  const visit = (p: number) => {
    const found = info(p)
    if (found === undefined) return
    tree.push(found)
    for (const child of children.get(p) ?? []) visit(child)
  }
  visit(pid)
  return tree
}

/** The processes of `tree` that still exist (zombies count as gone). */
export const survivors = (tree: ReadonlyArray<ProcessInfo>): ReadonlyArray<ProcessInfo> =>
  tree.filter((p) => {
    const fields = statFields(p.pid)
    return fields !== undefined && fields[0] !== "Z" && fields[19] === p.startTime
  })

/** Whether nothing accepts connections on loopback `port` any more. */
export const portIsFree = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const socket = Net.connect({ host: "127.0.0.1", port })
    socket.once("connect", () => {
      socket.destroy()
      resolve(false)
    })
    socket.once("error", () => resolve(true))
  })
