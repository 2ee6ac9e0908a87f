/**
 * The Broker and DataStore conformance suites over two real broker processes (the
 * framework's default broker controller), as a worker reaches them: one Unix socket
 * each, channels and keys sharded by their first element.
 */
import { type ChildProcess, fork } from "node:child_process"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"
import { runBrokerConformance, runDataStoreConformance } from "@effect-socketcluster/server/testing"
import { Layer } from "effect"
import { afterAll, beforeAll } from "vitest"
import * as BrokerClient from "../src/BrokerClient.js"

const controller = fileURLToPath(new URL("../src/controllers/broker.ts", import.meta.url))
const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "sc-brokers-"))
const paths = [Path.join(dir, "b0"), Path.join(dir, "b1")]
const secretKey = "conformance-secret"
const children: Array<ChildProcess> = []
let client: BrokerClient.BrokerClient | undefined

beforeAll(async () => {
  await Promise.all(
    paths.map(
      (socketPath, id) =>
        new Promise<void>((resolve, reject) => {
          const options = JSON.stringify({ id, socketPath, secretKey, expiryAccuracy: 100 })
          const child = fork(controller, [options], {
            execArgv: ["--conditions=@effect-socketcluster/source", "--import", "tsx"],
            stdio: "inherit"
          })
          children.push(child)
          child.once("exit", (code) => reject(new Error(`broker ${id} exited with ${code}`)))
          child.on("message", (message: unknown) => {
            if (message !== null && typeof message === "object" && Reflect.get(message, "type") === "brokerReady")
              resolve()
          })
        })
    )
  )
  client = new BrokerClient.BrokerClient(paths, secretKey)
  await new Promise<void>((resolve) => client?.whenReady(resolve))
}, 60_000)

afterAll(async () => {
  client?.close()
  await Promise.all(
    children.map(
      (child) =>
        new Promise<void>((resolve) => {
          child.removeAllListeners("exit")
          if (child.exitCode !== null) return resolve()
          child.once("exit", () => resolve())
          child.kill("SIGTERM")
        })
    )
  )
  Fs.rmSync(dir, { recursive: true, force: true })
})

// The processes outlive each test; each test gets the shared client's contracts.
const current = Layer.suspend(() => {
  if (client === undefined) throw new Error("the broker processes are not started")
  return BrokerClient.layer(client)
})
runBrokerConformance("broker processes", current, { history: false })
runDataStoreConformance("broker processes", current)
