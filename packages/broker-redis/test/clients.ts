/**
 * The real socketcluster-client v14 for these tests, with promise-returning helpers, and
 * server processes (examples/start-redis.ts) spawned as children.
 */
import { type ChildProcess, spawn } from "node:child_process"
import { createRequire } from "node:module"
import { fileURLToPath } from "node:url"
import { afterAll, beforeAll } from "vitest"
import type { RedisServer } from "../src/testing/RedisServer.js"

const require = createRequire(import.meta.url)

/** The subset of the v14 client these tests use. */
export interface ClientSocket {
  readonly id: string | null
  readonly state: string
  destroy(): void
  emit(event: string, data?: unknown, callback?: (error: unknown, data: unknown) => void): void
  on(event: string, listener: (...args: Array<unknown>) => void): void
  once(event: string, listener: (...args: Array<unknown>) => void): void
  off(event: string, listener?: (...args: Array<unknown>) => void): void
  subscribe(channel: string, options?: { readonly data?: unknown }): ClientChannel
  publish(channel: string, data: unknown, callback?: (error: unknown) => void): void
  /** The client's codec (sc-formatter). */
  encode(value: unknown): string
  decode(message: string): unknown
}
export interface ClientChannel {
  readonly state: string
  watch(handler: (data: unknown) => void): void
  on(event: string, listener: (...args: Array<unknown>) => void): void
}
const scClient: { create(options: Record<string, unknown>): ClientSocket } = require("socketcluster-client")

/** Connects a client to `port` (plus client `options`) and waits for its `connect` event. */
export const connect = (port: number, options: Record<string, unknown> = {}): Promise<ClientSocket> =>
  new Promise((resolve, reject) => {
    const client = scClient.create({ hostname: "127.0.0.1", port, multiplex: false, autoReconnect: false, ...options })
    client.on("error", () => {})
    client.once("connect", () => resolve(client))
    client.once("connectAbort", (code, reason) => reject(new Error(`connectAbort ${String(code)} ${String(reason)}`)))
  })

/** Subscribes and waits until the server confirmed; every publication goes to `inbox`. */
export const subscribe = (client: ClientSocket, channel: string, inbox: Inbox): Promise<ClientChannel> =>
  new Promise((resolve, reject) => {
    const ch = client.subscribe(channel)
    ch.watch(inbox.push)
    ch.on("subscribe", () => resolve(ch))
    ch.on("subscribeFail", (error) => reject(error))
  })

/** `client.publish` with its ack: resolves with the ack error (undefined when accepted). */
export const publish = (client: ClientSocket, channel: string, data: unknown): Promise<unknown> =>
  new Promise((resolve) => client.publish(channel, data, (error) => resolve(error ?? undefined)))

/** `client.emit` with an ack. */
export const invoke = (client: ClientSocket, event: string, data: unknown): Promise<unknown> =>
  new Promise((resolve, reject) =>
    client.emit(event, data, (error, response) => (error ? reject(error) : resolve(response)))
  )

/** What a subscription received, in order, with a way to wait for more. */
export class Inbox {
  readonly items: Array<unknown> = []
  private readonly waiters: Array<{ readonly ready: () => boolean; readonly resolve: () => void }> = []

  readonly push = (item: unknown): void => {
    this.items.push(item)
    for (let i = this.waiters.length - 1; i >= 0; i--) {
      const waiter = this.waiters[i]!
      if (waiter.ready()) {
        this.waiters.splice(i, 1)
        waiter.resolve()
      }
    }
  }

  /** Resolves once `predicate` holds for some received item. */
  until(predicate: (item: unknown) => boolean): Promise<void> {
    const ready = () => this.items.some(predicate)
    return new Promise((resolve) => {
      if (ready()) return resolve()
      this.waiters.push({ ready, resolve })
    })
  }

  /** Resolves once at least `count` items arrived. */
  atLeast(count: number): Promise<void> {
    const ready = () => this.items.length >= count
    return new Promise((resolve) => {
      if (ready()) return resolve()
      this.waiters.push({ ready, resolve })
    })
  }
}

export interface ServerProcess {
  readonly port: number
  readonly child: ChildProcess
  /** Lines the server printed on stdout so far. */
  readonly lines: Array<string>
  /** Resolves with the first line (printed so far or later) that satisfies `predicate`. */
  line(predicate: (line: string) => boolean): Promise<string>
  stop(): Promise<void>
}

const example = fileURLToPath(new URL("../examples/start-redis.ts", import.meta.url))

/**
 * How long a server process may take to print `listening`. Nearly all of a start is
 * loading modules: node + tsx load effect, the server and the redis client from source
 * through tsx's loader (about 5 s for one process, 6.5 s for two at once, measured on
 * the 2-core machine under load; only milliseconds go to connecting to Redis and
 * listening). The two-server hooks get 30 s for the pair; this deadline is a little
 * less, so a start that hangs fails here, with what the process printed, and is killed.
 */
export const serverStartTimeoutMs = 25_000

/** Spawns examples/start-redis.ts (node + tsx) on a free port and waits for its `listening <port>` line. */
export const spawnServer = (brokerUrl: string): Promise<ServerProcess> =>
  new Promise((resolve, reject) => {
    const started = performance.now()
    const child = spawn(process.execPath, ["--conditions=@effect-socketcluster/source", "--import", "tsx", example], {
      env: { ...process.env, PORT: "0", BROKER_URL: brokerUrl },
      stdio: ["ignore", "pipe", "pipe"]
    })
    const lines: Array<string> = []
    const lineWaiters = new Set<(line: string) => void>()
    const line = (predicate: (line: string) => boolean) =>
      new Promise<string>((done) => {
        const found = lines.find(predicate)
        if (found !== undefined) return done(found)
        const waiter = (candidate: string) => {
          if (!predicate(candidate)) return
          lineWaiters.delete(waiter)
          done(candidate)
        }
        lineWaiters.add(waiter)
      })
    let stderr = ""
    let pending = ""
    const deadline = setTimeout(() => {
      child.off("exit", onExit)
      child.kill("SIGKILL")
      reject(
        new Error(
          `server not listening after ${Math.round(performance.now() - started)} ms; stdout:\n${lines.join("\n")}\nstderr:\n${stderr}`
        )
      )
    }, serverStartTimeoutMs)
    child.stderr?.on("data", (chunk: Buffer) => {
      stderr += chunk.toString()
    })
    child.stdout?.on("data", (chunk: Buffer) => {
      pending += chunk.toString()
      const parts = pending.split("\n")
      pending = parts.pop() ?? ""
      for (const text of parts) {
        lines.push(text)
        for (const waiter of lineWaiters) waiter(text)
        const match = /^listening (\d+)$/.exec(text)
        if (match !== null) {
          clearTimeout(deadline)
          child.off("exit", onExit)
          resolve({
            port: Number(match[1]),
            child,
            lines,
            line,
            stop: () =>
              new Promise<void>((done) => {
                if (child.exitCode !== null || child.signalCode !== null) return done()
                child.once("exit", () => done())
                child.kill("SIGTERM")
              })
          })
        }
      }
    })
    const onExit = (code: number | null) => {
      clearTimeout(deadline)
      reject(new Error(`server exited with ${String(code)}:\n${stderr}`))
    }
    child.once("exit", onExit)
    child.once("error", (error) => {
      clearTimeout(deadline)
      reject(error)
    })
  })

/** A `#publish` frame as the socket received it (offset and epoch only on recovering subscriptions). */
export interface PublishFrame {
  readonly data: unknown
  readonly offset: number
  readonly epoch: string
}

const parseFrame = (message: unknown): unknown => {
  if (typeof message !== "string" || !message.startsWith("{")) return undefined
  try {
    return JSON.parse(message)
  } catch {
    return undefined
  }
}

/** Every `#publish` frame on `channel` that `client` receives from now on, read from the raw messages. */
export const publications = (client: ClientSocket, channel: string): Array<PublishFrame> => {
  const frames: Array<PublishFrame> = []
  client.on("message", (message) => {
    const frame = parseFrame(message) as { event?: unknown; data?: { channel?: unknown } & PublishFrame } | undefined
    if (frame?.event === "#publish" && frame.data?.channel === channel) frames.push(frame.data)
  })
  return frames
}

/**
 * Subscribes with subscribe `data` (v14 `subscribe(channel, { data })`) and resolves with
 * the `data` of the server's answer (the v14 client does not surface it: read from the raw messages).
 */
export const subscribeWith = (client: ClientSocket, channel: string, data: unknown, inbox: Inbox): Promise<unknown> =>
  new Promise((resolve, reject) => {
    let answer: unknown
    const onMessage = (message: unknown) => {
      const frame = parseFrame(message) as { rid?: unknown; data?: { replayed?: unknown } } | undefined
      if (frame?.rid !== undefined && typeof frame.data?.replayed === "number") answer = frame.data
    }
    client.on("message", onMessage)
    const ch = client.subscribe(channel, { data })
    ch.watch(inbox.push)
    ch.on("subscribe", () => {
      client.off("message", onMessage)
      resolve(answer)
    })
    ch.on("subscribeFail", (error) => reject(error))
  })

/** A redis-server and two server processes on it, shared by a test file. */
export interface TwoServers {
  readonly redis: () => RedisServer
  readonly servers: () => readonly [ServerProcess, ServerProcess]
  /** Connects a client to `server`; it is destroyed after the file. */
  readonly client: (server: ServerProcess) => Promise<ClientSocket>
}

/**
 * Registers the file's hooks: before all tests, `startRedis()` and two servers
 * (examples/start-redis.ts) on it; after all, every client, both servers and Redis stop.
 */
export const twoServersOnRedis = (startRedis: () => Promise<RedisServer>): TwoServers => {
  let redis: RedisServer | undefined
  let servers: Array<ServerProcess> = []
  const clients: Array<ClientSocket> = []
  beforeAll(async () => {
    redis = await startRedis()
    const url = redis.url
    // Both start at once; if one fails, the other is stopped too, so nothing outlives the file.
    const started = await Promise.allSettled([spawnServer(url), spawnServer(url)])
    servers = started.flatMap((result) => (result.status === "fulfilled" ? [result.value] : []))
    const failed = started.find((result) => result.status === "rejected")
    if (failed !== undefined) throw failed.reason
  }, 30_000)
  afterAll(async () => {
    for (const client of clients) client.destroy()
    await Promise.all(servers.map((server) => server.stop()))
    await redis?.stop()
  }, 30_000)
  return {
    redis: () => {
      if (redis === undefined) throw new Error("redis-server not started")
      return redis
    },
    servers: () => {
      const [a, b] = servers
      if (a === undefined || b === undefined) throw new Error("servers not started")
      return [a, b]
    },
    client: async (server) => {
      const c = await connect(server.port)
      clients.push(c)
      return c
    }
  }
}
