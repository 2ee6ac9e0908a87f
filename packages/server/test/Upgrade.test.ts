import * as Http from "node:http"
import { NodeHttpServer } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Cause, Context, Effect, Exit, Fiber, Layer, Scope } from "effect"
import { HttpRouter, HttpServer, HttpServerResponse } from "effect/http"
import WebSocket from "ws"
import * as BrokerMemory from "../src/BrokerMemory.js"
import * as SCServer from "../src/SCServer.js"
import * as SCServerHttp from "../src/SCServerHttp.js"
import { connectClient, invoke, nextClientEvent } from "./helpers.js"

const authKey = "k".repeat(40)
const quiet = { disableListenLog: true, disableLogger: true } as const
const nodeServer = (http: Http.Server = Http.createServer()) =>
  NodeHttpServer.layer(() => http, { port: 0, host: "127.0.0.1" })

const portOf = (context: Context.Context<HttpServer.HttpServer>) => {
  const address = Context.get(context, HttpServer.HttpServer).address
  return address._tag === "UnixPathAddress" ? 0 : address.port
}

// An app with one route, served by whichever NodeHttpServer layer the test provides.
const healthApp = HttpRouter.serve(HttpRouter.add("GET", "/health", HttpServerResponse.text("ok")), quiet).pipe(
  Layer.provide(HttpRouter.layer)
)

// Building `layer` fails: two 'upgrade' listeners on one Node server would break every WebSocket.
const assertUpgradeConflict = <A, E>(layer: Layer.Layer<A, E>) =>
  Effect.gen(function* () {
    const exit = yield* Effect.exit(Layer.build(layer))
    assert.isTrue(Exit.isFailure(exit))
    if (Exit.isFailure(exit)) assert.include(Cause.pretty(exit.cause), "another 'upgrade' listener")
  })

// One raw WebSocket that opens, then closes from the client side; resolves once closed.
const cycle = (url: string) =>
  Effect.callback<void, Error>((resume) => {
    const ws = new WebSocket(url)
    ws.once("open", () => ws.close(1000))
    ws.once("close", () => resume(Effect.void))
    ws.once("error", (error) => resume(Effect.fail(error)))
  })

const heapAfterGc = () => {
  const gc = (globalThis as { gc?: () => void }).gc
  gc?.()
  gc?.()
  return process.memoryUsage().heapUsed
}

describe("SCServerHttp.upgrade in an Effect HTTP app", () => {
  it.live(
    "mounts on any path; each request completes when its socket closes (2,000 cycles)",
    () =>
      Effect.gen(function* () {
        let live = 0
        let peak = 0
        const counted = Effect.suspend(() => {
          live++
          peak = Math.max(peak, live)
          return SCServerHttp.upgrade
        }).pipe(Effect.ensuring(Effect.sync(() => live--)))
        const Route = HttpRouter.add("GET", "/custom/ws", counted)
        const App = SCServerHttp.serve(Route, quiet).pipe(
          Layer.provideMerge(SCServer.layerExternal({ authKey })),
          Layer.provide(BrokerMemory.layer),
          Layer.provideMerge(nodeServer())
        )
        const context = yield* Layer.build(App)
        const server = Context.get(context, SCServer.SCServer)
        assert.strictEqual(server.sourcePort, portOf(context))
        yield* server.handle("echo", (d) => Effect.succeed(d))
        const client = yield* connectClient(server, { path: "/custom/ws" })
        assert.strictEqual(yield* invoke(client, "echo", "routed"), "routed")
        assert.strictEqual(live, 1)

        const url = `ws://127.0.0.1:${server.sourcePort}/custom/ws`
        yield* Effect.forEach(Array.from({ length: 200 }), () => cycle(url), { concurrency: 20, discard: true })
        const before = heapAfterGc()
        yield* Effect.forEach(Array.from({ length: 2000 }), () => cycle(url), { concurrency: 20, discard: true })
        // The server side may see the close a moment after the client.
        while (server.clientsCount + server.pendingClientsCount > 1 || live > 1) yield* Effect.sleep(5)
        const growth = heapAfterGc() - before
        assert.isAbove(peak, 1)
        assert.strictEqual(live, 1, "only the connected client's request is still running")
        assert.isBelow(growth, 4 * 1024 * 1024, `heap grew by ${growth} bytes`)
      }),
    30_000
  )

  it.live("closing the app closes connected sockets with 1001 at once", () =>
    Effect.gen(function* () {
      const App = SCServerHttp.serve(
        SCServerHttp.layerRouter({ authKey }).pipe(Layer.provide(BrokerMemory.layer)),
        quiet
      ).pipe(Layer.provideMerge(nodeServer()))
      const scope = yield* Scope.make()
      const context = yield* Layer.buildWithScope(App, scope)
      const server = Context.get(context, SCServer.SCServer)
      const clients = yield* Effect.forEach([1, 2, 3], () => connectClient(server))
      const disconnects = yield* Effect.forEach(clients, (client) =>
        Effect.forkChild(nextClientEvent(client, "disconnect"))
      )
      const started = Date.now()
      yield* Scope.close(scope, Exit.void)
      const elapsed = Date.now() - started
      const codes = yield* Effect.forEach(disconnects, (fiber) => Fiber.join(fiber))
      assert.deepStrictEqual(
        codes.map((args) => args[0]),
        [1001, 1001, 1001]
      )
      assert.isBelow(elapsed, 2000, `shutdown took ${elapsed} ms`)
    })
  )

  it.live("layerAttach refuses a Node server that NodeHttpServer already serves", () =>
    Effect.gen(function* () {
      const http = Http.createServer()
      const Served = healthApp.pipe(Layer.provideMerge(nodeServer(http)))
      yield* assertUpgradeConflict(
        SCServer.layerAttach(http, { authKey }).pipe(Layer.provideMerge(Served), Layer.provide(BrokerMemory.layer))
      )
    })
  )

  it.live("NodeHttpServer cannot serve a Node server that layerAttach already uses", () =>
    Effect.gen(function* () {
      const http = Http.createServer()
      const Served = healthApp.pipe(Layer.provide(nodeServer(http)))
      yield* assertUpgradeConflict(
        Served.pipe(Layer.provideMerge(SCServer.layerAttach(http, { authKey })), Layer.provide(BrokerMemory.layer))
      )
    })
  )
})
