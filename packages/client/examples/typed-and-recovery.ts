/**
 * The README's second example: one procedure declaration typing server and client, and
 * a recovering subscription that gets back what was published while it was away.
 * Run it with `./dev tsx packages/client/examples/typed-and-recovery.ts`.
 */

import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as NodeSocket from "@effect/platform-node/NodeSocket"
import { type Recovery, SCClient } from "@effect-socketcluster/client"
import { Procedure } from "@effect-socketcluster/protocol"
import { BrokerMemory, Procedures, SCServer } from "@effect-socketcluster/server"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"

// Shared by both ends (in an app: a module both import).
class Forbidden extends Schema.TaggedError<Forbidden>()("Forbidden", { role: Schema.String }) {}
export const Add = Procedure.make("add", {
  payload: Schema.Struct({ a: Schema.Number, b: Schema.Number }),
  success: Schema.Number,
  error: Forbidden
})

/** The server: `add` from the declaration, and history on every channel (the in-memory broker's default). */
export const Server = Procedures.layer(Add, ({ a, b }) =>
  a < 0 || b < 0 ? Effect.fail(new Forbidden({ role: "guest" })) : Effect.succeed(a + b)
).pipe(Layer.provideMerge(SCServer.layer({ port: 0, host: "127.0.0.1" })), Layer.provide(BrokerMemory.layer))

export const main = Effect.gen(function* () {
  const server = yield* SCServer.SCServer
  const client = yield* SCClient.connect(`ws://127.0.0.1:${server.sourcePort}/socketcluster/`, {
    reconnect: Schedule.spaced("100 millis")
  })

  const sum = yield* client.call(Add, { a: 1, b: 2 }) // number
  const refused = yield* client.call(Add, { a: -1, b: 2 }).pipe(
    Effect.catchTag("Forbidden", (e) => Effect.succeed(`Forbidden: ${e.role}`)) // the app's own class
  )

  const chat = yield* client.subscriptionRecovering("chat")
  yield* server.exchange.publish("chat", "hello")
  const [hello] = yield* Stream.runCollect(Stream.take(chat, 1))
  // The server drops the connection; what it publishes meanwhile is sent on resubscribing.
  for (const socket of server.clients.values()) yield* socket.disconnect(4100)
  yield* server.exchange.publish("chat", "while you were away")
  const [away] = yield* Stream.runCollect(Stream.take(chat, 1))

  const text = (event: Recovery.Event | undefined) =>
    event?._tag === "Publication" ? event.data : `gap: ${event?.reason}`
  const result = { sum, refused, chat: [text(hello), text(away)] }
  yield* Console.log(JSON.stringify(result))
  return result
}).pipe(Effect.scoped, Effect.provide(Layer.merge(Server, NodeSocket.layerWebSocketConstructor)))

if (import.meta.url === `file://${process.argv[1]}`) NodeRuntime.runMain(main)
