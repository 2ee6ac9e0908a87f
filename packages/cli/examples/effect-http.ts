/**
 * Joining an Effect HTTP app and the SocketCluster server on one port.
 *
 * The Effect app (an `HttpRouter` with its routes) becomes a plain Node `request`
 * listener through `NodeHttpServer.makeHandler`; the SocketCluster server attaches to
 * the same `http.Server` for its `upgrade` events (`SCServer.make` with `Attach`). Each
 * side owns one kind of event, so neither sees the other's traffic. (`NodeHttpServer.layer`
 * would also register an `upgrade` listener of its own; that is why it is not used here.)
 *
 *   PORT=8080 ./dev tsx packages/cli/examples/effect-http.ts
 *   curl localhost:8080/hello/you       # Effect route
 *   curl localhost:8080/metrics         # PrometheusMetrics.layerHttp
 *   ws://localhost:8080/socketcluster/  # SocketCluster v14 (echo)
 */
import * as Http from "node:http"
import type { AddressInfo } from "node:net"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { BrokerMemory, SCServer } from "@effect-socketcluster/server"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as HttpRouter from "effect/http/HttpRouter"
import * as HttpServerResponse from "effect/http/HttpServerResponse"
import * as Layer from "effect/Layer"
import * as Metric from "effect/Metric"
import * as PrometheusMetrics from "effect/observability/PrometheusMetrics"
import type * as Scope from "effect/Scope"

const helloCount = Metric.counter("hello_requests_total", { incremental: true })

/** The Effect side: ordinary routes, plus Prometheus metrics from effect/observability. */
export const Routes = Layer.mergeAll(
  HttpRouter.add(
    "GET",
    "/hello/:name",
    Effect.gen(function* () {
      const { name } = yield* HttpRouter.params
      yield* Metric.update(helloCount, 1)
      return HttpServerResponse.text(`hello ${name ?? "you"}\n`)
    })
  ),
  PrometheusMetrics.layerHttp({ path: "/metrics", prefix: "example" })
)

/** Both on one port (scoped); returns the SocketCluster server and the bound port. */
export const make = (
  port: number,
  host?: string
): Effect.Effect<{ readonly port: number; readonly server: SCServer.SCServerCore }, unknown, Scope.Scope> =>
  Effect.gen(function* () {
    const http = yield* Effect.acquireRelease(
      Effect.sync(() => Http.createServer()),
      (http) =>
        Effect.callback<void>((resume) => {
          http.close(() => resume(Effect.void))
          http.closeAllConnections()
        })
    )
    const app = yield* HttpRouter.toHttpEffect(Routes)
    http.on("request", yield* NodeHttpServer.makeHandler(app, { scope: yield* Effect.scope }))

    const server = yield* SCServer.make({}, { _tag: "Attach", server: http }).pipe(Effect.provide(BrokerMemory.layer))
    yield* server.handle("echo", (data) => Effect.succeed(data))

    const bound = yield* Effect.callback<number, Error>((resume) => {
      http.once("error", (error) => resume(Effect.fail(error)))
      http.listen(port, host, () => resume(Effect.succeed((http.address() as AddressInfo).port)))
    })
    return { port: bound, server }
  })

if (import.meta.url === `file://${process.argv[1]}`) {
  const program = make(Number(process.env.PORT ?? 8080)).pipe(
    Effect.tap(({ port }) => Effect.log(`Effect routes and SocketCluster on http://localhost:${port}/`)),
    Effect.andThen(Effect.never),
    Effect.scoped
  )
  NodeRuntime.runMain(program, {
    teardown: (exit, onExit) => onExit(Exit.isSuccess(exit) || Exit.hasInterrupts(exit) ? 0 : 1)
  })
}
