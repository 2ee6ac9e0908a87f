/**
 * Test harness: an app directory in a temp dir (its files, and a `node_modules` of
 * symlinks so `require('socketcluster')` finds this repository's alias package and the
 * plugins resolve from this package's devDependencies), a master process started in it
 * (`node --import tsx server.js`), its stdout lines, real v14 clients. Everything is torn
 * down after each file.
 */
import { type ChildProcess, spawn } from "node:child_process"
import * as Fs from "node:fs"
import { createRequire } from "node:module"
import * as Net from "node:net"
import * as Os from "node:os"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"
import { freePort } from "@effect-socketcluster/broker-redis/testing"
import { afterAll } from "vitest"

const require = createRequire(import.meta.url)
const here = Path.dirname(fileURLToPath(import.meta.url))
export const aliasPackage = Path.resolve(here, "../../socketcluster")

const moduleDir = (name: string): string => {
  if (name === "socketcluster") return aliasPackage
  try {
    return Path.dirname(require.resolve(`${name}/package.json`))
  } catch {}
  let dir = Path.dirname(require.resolve(name))
  while (!Fs.existsSync(Path.join(dir, "package.json"))) dir = Path.dirname(dir)
  return dir
}

const cleanups: Array<() => Promise<void> | void> = []
afterAll(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

/** A temp app dir holding `files` (name → contents) and `node_modules/<m>` links for `modules`. */
export const makeAppDir = (files: Record<string, string | Buffer>, modules: ReadonlyArray<string>): string => {
  const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "sc-app-"))
  cleanups.push(() => Fs.rmSync(dir, { recursive: true, force: true }))
  for (const [name, text] of Object.entries(files)) {
    Fs.mkdirSync(Path.dirname(Path.join(dir, name)), { recursive: true })
    Fs.writeFileSync(Path.join(dir, name), text)
  }
  Fs.mkdirSync(Path.join(dir, "node_modules"))
  for (const name of ["tsx", ...modules]) Fs.symlinkSync(moduleDir(name), Path.join(dir, "node_modules", name), "dir")
  return dir
}

/** Copies a directory's files (recursively) into an object for {@link makeAppDir}. */
export const readTree = (root: string, prefix = ""): Record<string, Buffer> => {
  const out: Record<string, Buffer> = {}
  for (const entry of Fs.readdirSync(root, { withFileTypes: true })) {
    const full = Path.join(root, entry.name)
    if (entry.isDirectory()) Object.assign(out, readTree(full, `${prefix}${entry.name}/`))
    else out[`${prefix}${entry.name}`] = Fs.readFileSync(full)
  }
  return out
}

// The same helper the Redis tests use (a port free on loopback right now).
export { freePort }

const canListen = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const server = Net.createServer()
    server.once("error", () => resolve(false))
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)))
  })

/**
 * A free port `p` whose `p + 1` is free too (for `--inspect-*` flags, which give the next
 * child the next port), below the kernel's ephemeral range so outgoing connections of
 * the test do not take `p + 1` meanwhile.
 */
export const freePortPair = async (): Promise<number> => {
  for (;;) {
    const port = 20_000 + Math.floor(Math.random() * 10_000)
    if ((await canListen(port)) && (await canListen(port + 1))) return port
  }
}

export type Line = Record<string, unknown>

export interface Master {
  readonly child: ChildProcess
  readonly lines: Array<Line>
  readonly output: () => string
  /** Resolves with the first line (from index `from`) matching `predicate`. */
  readonly waitFor: (predicate: (line: Line) => boolean, from?: number, timeoutMs?: number) => Promise<Line>
  /** Writes `{n, cmd, args}` to the master's stdin; resolves with its `{event: "reply", n}` line. */
  readonly command: (cmd: string, ...args: Array<unknown>) => Promise<Line>
  readonly stop: () => Promise<void>
}

/** Starts `node --import tsx <script> …args` in `dir`; JSON stdout lines are parsed into `lines`. */
export const startMaster = (
  dir: string,
  script: string,
  env: Record<string, string>,
  args: ReadonlyArray<string> = []
): Master => {
  const child = spawn(
    process.execPath,
    ["--conditions=@effect-socketcluster/source", "--import", "tsx", script, ...args],
    { cwd: dir, env: { ...process.env, ...env }, stdio: ["pipe", "pipe", "pipe"] }
  )
  const lines: Array<Line> = []
  let text = ""
  let pending = ""
  const waiters = new Set<() => void>()
  const onData = (chunk: Buffer) => {
    if (process.env.SC_TEST_DEBUG) process.stderr.write(chunk)
    text += chunk.toString()
    pending += chunk.toString()
    const parts = pending.split("\n")
    pending = parts.pop() ?? ""
    for (const part of parts) {
      try {
        const value: unknown = JSON.parse(part)
        if (value !== null && typeof value === "object") lines.push(value as Line)
      } catch {
        lines.push({ text: part })
      }
    }
    for (const wake of waiters) wake()
  }
  child.stdout?.on("data", onData)
  child.stderr?.on("data", (chunk: Buffer) => {
    if (process.env.SC_TEST_DEBUG) process.stderr.write(chunk)
    text += chunk.toString()
  })
  const stop = () =>
    new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve()
      child.once("exit", () => resolve())
      child.kill("SIGTERM")
      setTimeout(() => child.kill("SIGKILL"), 5000).unref()
    })
  cleanups.push(stop)
  const waitFor = (predicate: (line: Line) => boolean, from = 0, timeoutMs = 20_000) =>
    new Promise<Line>((resolve, reject) => {
      const check = () => {
        const found = lines.slice(from).find(predicate)
        if (found === undefined) return false
        waiters.delete(check)
        clearTimeout(timer)
        resolve(found)
        return true
      }
      const timer = setTimeout(() => {
        waiters.delete(check)
        reject(new Error(`no matching line within ${timeoutMs} ms; output:\n${text}`))
      }, timeoutMs)
      waiters.add(check)
      check()
    })
  let nextCommand = 0
  const command = (cmd: string, ...commandArgs: Array<unknown>) => {
    const n = nextCommand++
    child.stdin?.write(`${JSON.stringify({ n, cmd, args: commandArgs })}\n`)
    return waitFor((l) => l.event === "reply" && l.n === n, 0, 30_000)
  }
  return { child, lines, output: () => text, waitFor, command, stop }
}

const appsDir = Path.join(here, "apps")

/** A running test app (`test/apps/<name>`): its master once `ready`, and its port. */
export interface App {
  readonly master: Master
  readonly port: number
  readonly dir: string
}

/** Starts the master of `test/apps/<name>` on a free port (env `PORT`) and waits for its `ready` line. */
export const startApp = async (
  name: string,
  options: {
    readonly modules?: ReadonlyArray<string>
    readonly env?: Record<string, string>
    readonly args?: ReadonlyArray<string>
  } = {}
): Promise<App> => {
  const port = await freePort()
  const dir = makeAppDir(readTree(Path.join(appsDir, name)), ["socketcluster", ...(options.modules ?? [])])
  const master = startMaster(dir, "server.js", { PORT: String(port), ...options.env }, options.args)
  await master.waitFor((line) => line.event === "ready", 0, 60_000)
  return { master, port, dir }
}

/** The subset of the v14 client the tests use. */
export interface ClientSocket {
  readonly state: string
  emit(event: string, data?: unknown, callback?: (error: unknown, data: unknown) => void): void
  on(event: string, listener: (...args: Array<unknown>) => void): void
  off(event: string, listener?: (...args: Array<unknown>) => void): void
  once(event: string, listener: (...args: Array<unknown>) => void): void
  subscribe(channel: string): {
    watch(handler: (data: unknown) => void): void
    on(event: string, l: () => void): void
    state: string
  }
  publish(channel: string, data: unknown, callback?: (error: unknown) => void): void
  destroy(): void
  readonly options: { autoReconnect: boolean }
}
const scClient: { create(options: Record<string, unknown>): ClientSocket } = require("socketcluster-client")

/**
 * Destroys a client for good. The v14 client's close handler schedules a reconnect while
 * `autoReconnect` is on, even during `destroy()` of a socket that is still connecting (the
 * masters stop first); that timer then throws "Cannot connect a destroyed client" as an
 * uncaught error, which fails the run after every test has passed.
 */
const retire = (socket: ClientSocket): void => {
  socket.options.autoReconnect = false
  socket.destroy()
}

/** A connected v14 client (torn down after the file). */
export const connect = (port: number): Promise<ClientSocket> =>
  new Promise((resolve, reject) => {
    const socket = scClient.create({
      hostname: "127.0.0.1",
      port,
      multiplex: false,
      // Above the brokers' fixed 10 s answer timeout, so a test can watch that one fire.
      ackTimeout: 20_000,
      autoReconnectOptions: { initialDelay: 100, randomness: 100, multiplier: 1.2, maxDelay: 500 }
    })
    cleanups.push(() => retire(socket))
    socket.once("connect", () => resolve(socket))
    // After the first connection, errors are the server going away (a worker killed or
    // restarted): the client reconnects by itself.
    socket.on("error", (error) => {
      if (socket.state !== "open") reject(error)
    })
  })

/** `emit` with a callback, as a promise of `[error, data]`. */
export const invoke = (socket: ClientSocket, event: string, data?: unknown): Promise<[unknown, unknown]> =>
  new Promise((resolve) => socket.emit(event, data, (error, answer) => resolve([error, answer])))

/** Resolves when `socket`'s channel is subscribed. */
export const subscribed = (socket: ClientSocket, channel: string, onMessage: (data: unknown) => void): Promise<void> =>
  new Promise((resolve) => {
    const ch = socket.subscribe(channel)
    ch.watch(onMessage)
    if (ch.state === "subscribed") resolve()
    else ch.on("subscribe", () => resolve())
  })

/** Resolves once `GET path` answers `status` (polling every 200 ms; the app prints no ready line). */
export const waitForHttp = async (port: number, path: string, status: number, timeoutMs = 60_000): Promise<void> => {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const got = await fetch(`http://127.0.0.1:${port}${path}`).then(
      (r) => r.status,
      () => 0
    )
    if (got === status) return
    if (Date.now() > deadline)
      throw new Error(`GET ${path} did not answer ${status} within ${timeoutMs} ms (last: ${got})`)
    await new Promise((resolve) => setTimeout(resolve, 200))
  }
}

/** One connected client per worker id `0…workers−1` (round-robin scheduling spreads connections). */
export const clientPerWorker = async (port: number, workers: number): Promise<Map<number, ClientSocket>> => {
  const byWorker = new Map<number, ClientSocket>()
  for (let attempt = 0; attempt < 5 * workers && byWorker.size < workers; attempt++) {
    const socket = await connect(port)
    const [, who] = await invoke(socket, "whoami")
    const id = Number(Reflect.get(Object(who), "id"))
    if (!byWorker.has(id)) byWorker.set(id, socket)
    else retire(socket)
  }
  return byWorker
}
