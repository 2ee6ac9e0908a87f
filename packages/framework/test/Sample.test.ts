/**
 * The sample app shipped in socketcluster@14.4.2 (server.js, worker.js, broker.js and its
 * page, read from the npm tarball at test time) runs unchanged on the framework with its
 * plugins from npm (express, serve-static, morgan, sc-framework-health-check,
 * sc-hot-reboot, scc-broker-client, minimist), and real v14 clients talk to it (FW-64).
 */
import * as Fs from "node:fs"
import { createRequire } from "node:module"
import * as Path from "node:path"
import { beforeAll, describe, expect, it } from "vitest"
import {
  type ClientSocket,
  connect,
  freePort,
  type Master,
  makeAppDir,
  readTree,
  startMaster,
  subscribed,
  waitForHttp
} from "./apps.js"

const require = createRequire(import.meta.url)
const sampleDir = Path.join(Path.dirname(require.resolve("socketcluster-14.4.2/package.json")), "sample")
const plugins = [
  "socketcluster",
  "socketcluster-client",
  "express",
  "serve-static",
  "morgan",
  "sc-framework-health-check",
  "sc-hot-reboot",
  "scc-broker-client",
  "minimist"
]

const get = async (port: number, path: string): Promise<{ status: number; body: string }> => {
  const response = await fetch(`http://127.0.0.1:${port}${path}`)
  return { status: response.status, body: await response.text() }
}

describe("the socketcluster@14.4.2 sample app, unchanged", () => {
  let master: Master
  let port: number

  beforeAll(async () => {
    port = await freePort()
    const dir = makeAppDir(readTree(sampleDir), plugins)
    master = startMaster(dir, "server.js", {
      SOCKETCLUSTER_WORKERS: "2",
      SOCKETCLUSTER_BROKERS: "2",
      SOCKETCLUSTER_PORT: String(port),
      ENV: "prod"
    })
    // The sample prints no ready line of its own: wait until its health check answers.
    await waitForHttp(port, "/health-check", 200)
    const workerLines = () => master.lines.filter((l) => /^ {3}>> Worker PID: \d+$/.test(String(l.text))).length
    await master.waitFor(() => workerLines() === 2, 0, 60_000)
  }, 90_000)

  it("answers the health check (exchange.exec on every broker) and serves its page", async () => {
    expect(await get(port, "/health-check")).toEqual({ status: 200, body: "OK" })
    const page = await get(port, "/")
    expect(page.status).toBe(200)
    expect(page.body).toBe(Fs.readFileSync(Path.join(sampleDir, "public/index.html"), "utf8"))
    expect(master.output()).toMatch(/>> WorkerCluster PID: \d+/)
    expect(master.output().match(/>> Worker PID: \d+/g)).toHaveLength(2)
    expect(master.output().match(/>> Broker PID: \d+/g)).toHaveLength(2)
  })

  it("real v14 clients receive each other's publications", async () => {
    const clients: Array<ClientSocket> = [await connect(port), await connect(port)]
    const inboxes: Array<Array<unknown>> = [[], []]
    for (const [i, client] of clients.entries()) await subscribed(client, "sample", (m) => inboxes[i]?.push(m))
    for (const [i, client] of clients.entries()) {
      await new Promise<void>((resolve, reject) =>
        client.publish("sample", { from: i }, (error) => (error ? reject(error) : resolve()))
      )
    }
    for (const inbox of inboxes) {
      await expect.poll(() => inbox.length).toBe(2)
      expect(inbox).toEqual([{ from: 0 }, { from: 1 }])
    }
  })
})

describe("the sample app in dev: sc-hot-reboot restarts the workers when a file changes (FW-66)", () => {
  it("respawns the worker after worker.js changes", async () => {
    const port = await freePort()
    const dir = makeAppDir(readTree(sampleDir), plugins)
    const master = startMaster(dir, "server.js", { SOCKETCLUSTER_PORT: String(port), ENV: "dev" })
    const workerLines = () => master.lines.filter((l) => /^ {3}>> Worker PID: \d+$/.test(String(l.text))).length
    await waitForHttp(port, "/health-check", 200)
    await master.waitFor(() => workerLines() === 1, 0, 60_000)
    Fs.appendFileSync(Path.join(dir, "worker.js"), "\n// changed\n")
    await master.waitFor(() => workerLines() === 2, 0, 60_000)
    await waitForHttp(port, "/health-check", 200)
  }, 120_000)
})
