import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer, Logger, References, Tracer } from "effect"
import { connectClient, invoke, publish, startServer, subscribe } from "./helpers.js"

// A tracer that keeps every span it makes (a real tracer: not effect's in-memory default).
const recordingTracer = () => {
  const spans: Array<Tracer.NativeSpan> = []
  const tracer = Tracer.make({
    span: (options) => {
      const span = new Tracer.NativeSpan(options)
      spans.push(span)
      return span
    }
  })
  return { spans, layer: Layer.succeed(Tracer.Tracer, tracer) }
}

describe("tracing", () => {
  it.live(
    "with a tracer installed: spans for handshake, middleware, procedures and publish, with socket, event and channel",
    () =>
      Effect.gen(function* () {
        const { spans, layer } = recordingTracer()
        const annotations: Array<Readonly<Record<string, unknown>>> = []
        const recordingLogger = Logger.make((options) => {
          annotations.push(options.fiber.getRef(References.CurrentLogAnnotations))
        })
        const server = yield* startServer({}, Layer.merge(layer, Logger.layer([recordingLogger])))
        assert.isTrue(server.tracing)
        yield* server.handle("echo", (d) => Effect.as(Effect.logInfo("in the handler"), d))
        yield* server.addMiddleware("publishIn", () => Effect.void)
        // With handshakeSC middleware the handshake is an Effect of its own (else it completes inline).
        yield* server.addMiddleware("handshakeSC", () => Effect.void)
        const client = yield* connectClient(server)
        assert.strictEqual(yield* invoke(client, "echo", 1), 1)
        yield* subscribe(client, "news")
        yield* publish(client, "news", "hi")
        const byName = (name: string) => spans.find((s) => s.name === name)
        const procedure = byName("sc.procedure")
        assert.isDefined(procedure)
        assert.strictEqual(procedure?.attributes.get("sc.event"), "echo")
        assert.strictEqual(procedure?.attributes.get("sc.socket.id"), client.id)
        assert.strictEqual(byName("sc.middleware.publishIn")?.attributes.get("sc.channel"), "news")
        assert.strictEqual(byName("sc.publish")?.attributes.get("sc.channel"), "news")
        assert.isDefined(byName("sc.handshake"))
        // The handler's log line carries the socket and the event.
        assert.deepInclude(annotations, { "sc.socket.id": client.id, "sc.event": "echo" })
      })
  )

  it.live("without a tracer no span is made", () =>
    Effect.gen(function* () {
      const server = yield* startServer()
      assert.isFalse(server.tracing)
    })
  )
})
