/**
 * Test harness: the CLI's app in-process on a free loopback port (real HTTP and
 * WebSocket), real socketcluster-client v14 clients, and a Prometheus text parser.
 */
import { createRequire } from "node:module"
import { BrokerMemory } from "@effect-socketcluster/server"
import { Effect, Exit, Layer, Scope } from "effect"
import { vi } from "vitest"
import * as App from "../src/App.js"
import { type Settings, settingsFrom } from "../src/Config.js"
import * as Logging from "../src/Logging.js"

const require = createRequire(import.meta.url)

/** The subset of the v14 client the tests use. */
export interface ClientSocket {
  readonly id: string | null
  readonly state: string
  readonly authState: string
  emit(event: string, data?: unknown, callback?: (error: unknown, data: unknown) => void): void
  on(event: string, listener: (...args: Array<unknown>) => void): void
  once(event: string, listener: (...args: Array<unknown>) => void): void
  off(event: string, listener?: (...args: Array<unknown>) => void): void
  subscribe(channel: string, options?: { readonly data?: unknown }): ClientChannel
  publish(channel: string, data: unknown, callback?: (error: unknown) => void): void
  disconnect(code?: number): void
  destroy(): void
  getSignedAuthToken(): string | null
}
export interface ClientChannel {
  readonly name: string
  watch(handler: (data: unknown) => void): void
  on(event: string, listener: (...args: Array<unknown>) => void): void
}
interface ClientModule {
  create(options: Record<string, unknown>): ClientSocket
}
const scClient: ClientModule = require("socketcluster-client")

/** Settings as the CLI reads them, on a free loopback port with logs off, plus `argv`. */
export const testSettings = (argv: ReadonlyArray<string> = []): Promise<Settings> =>
  Effect.runPromise(
    settingsFrom(["--port", "0", "--host", "127.0.0.1", "--log-level", "none", "--drain-period", "0", ...argv], {})
  ).then(({ settings }) => {
    if (settings === undefined) throw new Error("no settings")
    return settings
  })

/** A running app and the way to stop it (the same drain as SIGTERM). */
export interface TestApp extends App.RunningApp {
  readonly baseUrl: string
  readonly stop: () => Promise<void>
}

/** Starts the app in-process. */
export const startApp = async (argv: ReadonlyArray<string> = []): Promise<TestApp> => {
  const settings = await testSettings(argv)
  const scope = Effect.runSync(Scope.make())
  const app = await Effect.runPromise(
    App.make(settings).pipe(
      Scope.provide(scope),
      Effect.provide(Layer.mergeAll(BrokerMemory.layer, Logging.layer("json", settings.logLevel)))
    )
  )
  return {
    ...app,
    baseUrl: `http://127.0.0.1:${app.port}`,
    stop: () => Effect.runPromise(Scope.close(scope, Exit.void))
  }
}

/** Connects a real v14 client and waits for `connect`. */
export const connectClient = (port: number, options: Record<string, unknown> = {}): Promise<ClientSocket> =>
  new Promise((resolve, reject) => {
    const client = scClient.create({ hostname: "127.0.0.1", port, autoReconnect: false, multiplex: false, ...options })
    client.once("connect", () => resolve(client))
    client.once("connectAbort", (code) => reject(new Error(`connectAbort ${String(code)}`)))
    client.on("error", () => {})
  })

/** `emit` with an ack, as a promise. */
export const invoke = (client: ClientSocket, event: string, data?: unknown): Promise<unknown> =>
  new Promise((resolve, reject) =>
    client.emit(event, data, (error, result) => (error ? reject(error) : resolve(result)))
  )

/** `publish` with an ack; resolves with the error (or `undefined`). */
export const publish = (client: ClientSocket, channel: string, data: unknown): Promise<unknown> =>
  new Promise((resolve) => client.publish(channel, data, (error) => resolve(error ?? undefined)))

/** Subscribes and waits for `subscribe` (rejects on `subscribeFail`). */
export const subscribe = (client: ClientSocket, name: string): Promise<ClientChannel> =>
  new Promise((resolve, reject) => {
    const channel = client.subscribe(name)
    channel.on("subscribe", () => resolve(channel))
    channel.on("subscribeFail", (error) => reject(error))
  })

/** One sample of a Prometheus text exposition. */
export interface Sample {
  readonly name: string
  readonly labels: Readonly<Record<string, string>>
  readonly value: number
}

const sampleLine = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$/
const labelPair = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g

/**
 * Parses the Prometheus text format strictly: `# HELP` / `# TYPE` comments and
 * `name{labels} value` samples; anything else throws.
 */
export const parsePrometheus = (text: string): ReadonlyArray<Sample> => {
  if (text.length > 0 && !text.endsWith("\n")) throw new Error("exposition must end with a newline")
  const samples: Array<Sample> = []
  const typed = new Set<string>()
  for (const line of text.split("\n")) {
    if (line === "") continue
    if (line.startsWith("# HELP ")) continue
    const type = /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)$/.exec(line)
    if (type !== null) {
      typed.add(type[1] ?? "")
      continue
    }
    const match = sampleLine.exec(line)
    if (match === null) throw new Error(`not a Prometheus sample line: ${line}`)
    const value = match[4] === "+Inf" ? Number.POSITIVE_INFINITY : Number(match[4])
    if (Number.isNaN(value) && match[4] !== "NaN") throw new Error(`bad value in: ${line}`)
    const labels: Record<string, string> = {}
    for (const pair of (match[3] ?? "").matchAll(labelPair)) labels[pair[1] ?? ""] = pair[2] ?? ""
    const name = match[1] ?? ""
    const family = name.replace(/_(bucket|sum|count)$/, "")
    if (!typed.has(name) && !typed.has(family)) throw new Error(`sample without # TYPE: ${line}`)
    samples.push({ name, labels, value })
  }
  return samples
}

/** The value of the sample `name` whose labels include `labels` (0 when absent). */
export const sampleValue = (
  samples: ReadonlyArray<Sample>,
  name: string,
  labels: Readonly<Record<string, string>> = {}
): number =>
  samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value ?? 0

/** One JSON log line (`Logger.consoleJson`). */
export interface LogLine {
  readonly message: unknown
  readonly level: string
  readonly annotations: Readonly<Record<string, unknown>>
}

/** Collects the JSON log lines written to console.log and resolves waiters on a match. */
export const captureLogs = () => {
  const lines: Array<LogLine> = []
  const raw: Array<string> = []
  const waiters: Array<{ readonly test: (line: LogLine) => boolean; readonly resolve: (line: LogLine) => void }> = []
  const spy = vi.spyOn(console, "log").mockImplementation((text: unknown) => {
    raw.push(String(text))
    const line = JSON.parse(String(text)) as LogLine
    lines.push(line)
    for (const w of waiters.splice(0)) {
      if (w.test(line)) w.resolve(line)
      else waiters.push(w)
    }
  })
  const waitFor = (test: (line: LogLine) => boolean): Promise<LogLine> =>
    new Promise((resolve) => {
      const found = lines.find(test)
      if (found !== undefined) return resolve(found)
      waiters.push({ test, resolve })
    })
  return { lines, raw, waitFor, restore: () => spy.mockRestore() }
}

/** A log line's message text (the first part when the line has extra parts). */
export const logText = (line: LogLine): string =>
  Array.isArray(line.message) ? String(line.message[0]) : String(line.message)
