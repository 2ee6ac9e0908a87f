/**
 * Benchmark (not a test): one app (`bench/app`, plain socketcluster@14 API, workers 2,
 * brokers 1) run unchanged on three stacks, one after the other, in rounds, in one run:
 * (1) this framework with its broker processes, (2) this framework with `redisUrl`
 * (redis-server on loopback), (3) socketcluster@14.4.2 itself. Worker 0 measures
 * `exchange.set` + `exchange.get` round trips per second and `exchange.publish`
 * publications per second; worker 1's exchange watches the channel and counts deliveries
 * (cross-worker pub/sub).
 *
 *   flock /work/bench.lock ./dev bench:exchange    (DURATION_MS=3000 IN_FLIGHT=64 ROUNDS=2)
 */
import { spawn } from "node:child_process"
import * as Fs from "node:fs"
import { createRequire } from "node:module"
import * as Net from "node:net"
import * as Os from "node:os"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"
import { spawnRedisServer } from "@effect-socketcluster/broker-redis/testing"

const require = createRequire(import.meta.url)
const here = Path.dirname(fileURLToPath(import.meta.url))
const rounds = Number(process.env.ROUNDS ?? 2)

interface Result {
  readonly roundTripsPerSecond: number
  readonly publicationsPerSecond: number
  readonly published: number
  readonly delivered: number
}

const packageDir = (name: string): string => Path.dirname(require.resolve(`${name}/package.json`))

const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = Net.createServer()
    server.on("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      server.close(() => resolve(typeof address === "object" && address !== null ? address.port : 0))
    })
  })

/** Runs `bench/app` with `socketcluster` resolving to `socketclusterDir`; its JSON result line. */
const runApp = async (
  socketclusterDir: string,
  nodeArgs: ReadonlyArray<string>,
  env: Record<string, string>
): Promise<Result> => {
  const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "sc-bench-app-"))
  try {
    for (const file of ["server.js", "worker.js"]) Fs.copyFileSync(Path.join(here, "app", file), Path.join(dir, file))
    Fs.mkdirSync(Path.join(dir, "node_modules"))
    Fs.symlinkSync(socketclusterDir, Path.join(dir, "node_modules", "socketcluster"), "dir")
    Fs.symlinkSync(packageDir("tsx"), Path.join(dir, "node_modules", "tsx"), "dir")
    const port = await freePort()
    const child = spawn(process.execPath, [...nodeArgs, "server.js"], {
      cwd: dir,
      env: { ...process.env, ...env, PORT: String(port) },
      stdio: ["ignore", "pipe", "inherit"]
    })
    let out = ""
    child.stdout.on("data", (chunk: Buffer) => {
      out += chunk.toString()
    })
    const code = await new Promise<number | null>((resolve) => child.once("exit", resolve))
    const line = out.split("\n").find((l) => l.startsWith("{"))
    if (code !== 0 || line === undefined) throw new Error(`bench app exited with ${code}:\n${out}`)
    return JSON.parse(line) as Result
  } finally {
    Fs.rmSync(dir, { recursive: true, force: true })
  }
}

const ours = Path.resolve(here, "../../socketcluster")
const source = ["--conditions=@effect-socketcluster/source", "--import", "tsx"]

const main = async () => {
  const redis = await spawnRedisServer()
  const targets: ReadonlyArray<{ readonly name: string; readonly run: () => Promise<Result> }> = [
    { name: "effect-socketcluster, broker processes", run: () => runApp(ours, source, {}) },
    { name: "effect-socketcluster, Redis", run: () => runApp(ours, source, { REDIS_URL: redis.url }) },
    { name: "socketcluster@14.4.2", run: () => runApp(packageDir("socketcluster-14.4.2"), [], {}) }
  ]
  const rows: Array<Record<string, unknown>> = []
  try {
    for (let round = 1; round <= rounds; round++) {
      for (const target of targets) rows.push({ round, target: target.name, ...(await target.run()) })
    }
  } finally {
    await redis.stop()
  }
  const meta = {
    date: new Date().toISOString(),
    node: process.version,
    cpus: Os.cpus().length,
    loadAverage: Os.loadavg().map((l) => Math.round(l * 10) / 10),
    durationMs: Number(process.env.DURATION_MS ?? 3000),
    inFlight: Number(process.env.IN_FLIGHT ?? 64)
  }
  console.log(JSON.stringify({ meta, rows }, null, 2))
  console.table(rows)
}

void main()
