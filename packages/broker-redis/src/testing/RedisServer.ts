/**
 * A real redis-server for the tests: `REDIS_URL` when set, else a private child process
 * on a free loopback port. The fault tests always spawn their own (they stop and restart
 * it). A missing `redis-server` binary fails the test; it is never skipped.
 */
import { type ChildProcess, spawn } from "node:child_process"
import * as Net from "node:net"

export interface RedisServer {
  readonly url: string
  readonly port: number
  /** Stops the server (SIGTERM) and waits for the process to exit. */
  stop(): Promise<void>
  /** Starts it again on the same port. */
  restart(): Promise<void>
}

// redis-server has no "port 0": ask the kernel for a free port, release it, hand it over.
/** A port free on the loopback interface right now. */
export const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = Net.createServer()
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      const port = typeof address === "object" && address !== null ? address.port : 0
      server.close(() => resolve(port))
    })
  })

/** Starts `redis-server` on loopback `port` without persistence (plus `args`) and waits until it accepts connections. */
export const launchRedisServer = (port: number, args: ReadonlyArray<string> = []): Promise<ChildProcess> =>
  new Promise((resolve, reject) => {
    const child = spawn(
      "redis-server",
      [
        "--port",
        String(port),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "no",
        "--loglevel",
        "notice",
        ...args
      ],
      { stdio: ["ignore", "pipe", "pipe"] }
    )
    let output = ""
    const onData = (chunk: Buffer) => {
      output += chunk.toString()
      if (output.includes("Ready to accept connections")) {
        child.stdout?.off("data", onData)
        child.off("exit", onExit)
        child.off("error", onError)
        child.stdout?.resume()
        resolve(child)
      }
    }
    const onExit = (code: number | null) =>
      reject(new Error(`redis-server exited with ${String(code)} before it was ready:\n${output}`))
    const onError = (error: Error) =>
      reject(
        new Error(`cannot start redis-server (install the redis-server package, or set REDIS_URL): ${error.message}`)
      )
    child.stdout?.on("data", onData)
    child.stderr?.on("data", (chunk: Buffer) => {
      output += chunk.toString()
    })
    child.once("exit", onExit)
    child.once("error", onError)
  })

/** Stops a child process (SIGTERM) and waits for it to exit. */
export const terminate = (child: ChildProcess): Promise<void> =>
  new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve()
    child.once("exit", () => resolve())
    child.kill("SIGTERM")
  })

/** Spawns a private redis-server on a free port. */
export const spawnRedisServer = async (): Promise<RedisServer> => {
  const port = await freePort()
  let child: ChildProcess | undefined = await launchRedisServer(port)
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    stop: async () => {
      if (child !== undefined) await terminate(child)
      child = undefined
    },
    restart: async () => {
      if (child !== undefined) await terminate(child)
      child = await launchRedisServer(port)
    }
  }
}

/** `REDIS_URL` if set (never stopped by the tests), else a private server. */
export const useRedisServer = async (): Promise<RedisServer> => {
  const external = process.env.REDIS_URL
  if (external === undefined || external === "") return spawnRedisServer()
  const port = Number(new URL(external).port || 6379)
  const refuse = () => Promise.reject(new Error("the REDIS_URL server is not managed by the tests"))
  return { url: external, port, stop: async () => {}, restart: refuse }
}
