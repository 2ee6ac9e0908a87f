/**
 * A real 3-node Redis Cluster for the tests: three `redis-server --cluster-enabled yes`
 * processes on free loopback ports (data and bus ports both chosen free), joined with
 * `redis-cli --cluster create`, each master owning a third of the slots, no replicas.
 * Missing binaries fail the test; nothing is skipped.
 */
import { type ChildProcess, execFile } from "node:child_process"
import { mkdtemp, rm } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { freePort, launchRedisServer, terminate } from "./RedisServer.js"

export interface RedisCluster {
  /** `redis://127.0.0.1:<port>` of every node. */
  readonly urls: ReadonlyArray<string>
  /** Stops every node and removes their files. */
  stop(): Promise<void>
}

const launchNode = (dir: string, port: number, busPort: number): Promise<ChildProcess> =>
  launchRedisServer(port, [
    "--cluster-enabled",
    "yes",
    "--cluster-port",
    String(busPort),
    "--cluster-config-file",
    `nodes-${port}.conf`,
    "--dir",
    dir
  ])

const redisCli = (args: ReadonlyArray<string>): Promise<string> =>
  new Promise((resolve, reject) =>
    execFile("redis-cli", args, (error, stdout, stderr) =>
      error ? reject(new Error(`redis-cli ${args.join(" ")}: ${error.message}\n${stdout}${stderr}`)) : resolve(stdout)
    )
  )

// The nodes agree on the slot map through their bus a moment after `--cluster create` returns.
const untilClusterOk = async (ports: ReadonlyArray<number>): Promise<void> => {
  for (let attempt = 0; attempt < 200; attempt++) {
    const infos = await Promise.all(ports.map((port) => redisCli(["-p", String(port), "cluster", "info"])))
    if (infos.every((info) => info.includes("cluster_state:ok"))) return
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  throw new Error("the Redis cluster did not reach cluster_state:ok")
}

/** Starts a 3-master Redis Cluster on free loopback ports. */
export const spawnRedisCluster = async (): Promise<RedisCluster> => {
  const dir = await mkdtemp(join(tmpdir(), "sc-redis-cluster-"))
  const ports: Array<number> = []
  const busPorts: Array<number> = []
  const children: Array<ChildProcess> = []
  const stop = async () => {
    await Promise.all(children.map(terminate))
    await rm(dir, { recursive: true, force: true })
  }
  try {
    const taken = new Set<number>()
    const nextPort = async () => {
      for (;;) {
        const port = await freePort()
        if (!taken.has(port)) {
          taken.add(port)
          return port
        }
      }
    }
    for (let i = 0; i < 3; i++) {
      ports.push(await nextPort())
      busPorts.push(await nextPort())
    }
    for (let i = 0; i < 3; i++) children.push(await launchNode(dir, ports[i]!, busPorts[i]!))
    await redisCli([
      "--cluster",
      "create",
      ...ports.map((port) => `127.0.0.1:${port}`),
      "--cluster-replicas",
      "0",
      "--cluster-yes"
    ])
    await untilClusterOk(ports)
  } catch (error) {
    await stop()
    throw error
  }
  return { urls: ports.map((port) => `redis://127.0.0.1:${port}`), stop }
}
