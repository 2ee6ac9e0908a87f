import * as Http from "node:http"
import type { AddressInfo } from "node:net"
import { BrokerMemory } from "@effect-socketcluster/server"
import { Effect, Exit, Layer, Scope } from "effect"
import { describe, expect, it } from "vitest"
import * as App from "../src/App.js"
import * as Logging from "../src/Logging.js"
import * as Telemetry from "../src/Telemetry.js"
import { connectClient, invoke, testSettings } from "./harness.js"

// A stand-in OTLP/HTTP collector: records the body of every POST /v1/traces.
const collector = async () => {
  const bodies: Array<string> = []
  let notify = () => {}
  const server = Http.createServer((req, res) => {
    let body = ""
    req.on("data", (chunk: Buffer) => {
      body += chunk.toString()
    })
    req.on("end", () => {
      if (req.method === "POST" && req.url === "/v1/traces") bodies.push(body)
      res.writeHead(200, { "Content-Type": "application/json" })
      res.end("{}")
      notify()
    })
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  const received = (text: string) =>
    new Promise<void>((resolve) => {
      const check = () => {
        if (bodies.some((b) => b.includes(text))) resolve()
      }
      notify = check
      check()
    })
  return { url, bodies, received, close: () => new Promise<void>((resolve) => server.close(() => resolve())) }
}

describe("trace export", () => {
  it("--otlp-endpoint: the server's spans reach the collector over OTLP/HTTP", async () => {
    const otlp = await collector()
    const settings = await testSettings(["--otlp-endpoint", otlp.url])
    expect(settings.otlpEndpoint).toBe(otlp.url)
    const scope = Effect.runSync(Scope.make())
    // The exporter lives in the app's scope (as under `serve`), not just while `make` runs.
    const app = await Effect.runPromise(
      Effect.gen(function* () {
        const services = yield* Layer.build(
          Layer.mergeAll(
            BrokerMemory.layer,
            Logging.layer("json", settings.logLevel),
            Telemetry.layer(settings.otlpEndpoint)
          )
        )
        return yield* App.make(settings).pipe(Effect.provideContext(services))
      }).pipe(Scope.provide(scope))
    )
    expect(app.server.tracing).toBe(true)
    const client = await connectClient(app.port)
    expect(await invoke(client, "echo", "traced")).toBe("traced")
    client.destroy()
    // Closing flushes the exporter.
    await Effect.runPromise(Scope.close(scope, Exit.void))
    await otlp.received("sc.procedure")
    expect(otlp.bodies.join("")).toContain('"sc.event"')
    await otlp.close()
  })

  it("without an endpoint nothing is traced", async () => {
    const settings = await testSettings()
    expect(settings.otlpEndpoint).toBeUndefined()
  })
})
