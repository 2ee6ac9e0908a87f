/**
 * The server that `../shared/tools/wire-smoke` checks: the handlers of its README,
 * written with the Effect-native API. `pnpm smoke-server` (PORT, default 8000).
 */

import { NodeRuntime } from "@effect/platform-node"
import { ApplicationError } from "@effect-socketcluster/protocol"
import { Effect, Exit, Layer, Schema } from "effect"
import { SCServer } from "../src/index.js"

const port = Number(process.env.PORT ?? 8000)

const FailRequest = Schema.Struct({ message: Schema.String })
const PushRequest = Schema.Struct({ event: Schema.String, data: Schema.optionalKey(Schema.Unknown) })
const PublishRequest = Schema.Struct({ channel: Schema.String, data: Schema.optionalKey(Schema.Unknown) })

/** Registers the wire-smoke handlers on a server. */
export const registerSmokeHandlers = (server: SCServer.SCServerCore) =>
  Effect.gen(function* () {
    // The name of the last bad-token error per socket, for `whoami`.
    const badTokens = new Map<string, string>()
    server.hub.listen((event) => {
      if (event._tag === "BadSocketAuthToken") {
        const error = event.info.authError
        badTokens.set(event.socket.id, error instanceof Error ? error.name : String(error))
      } else if (event._tag === "Closure") {
        badTokens.delete(event.socket.id)
      }
    })
    const invalid = (message: string) => new ApplicationError({ name: "InvalidArgumentsError", message })
    yield* server.handle("echo", (data) => Effect.succeed(data))
    yield* server.handle("fail", (data) =>
      Schema.decodeUnknownEffect(FailRequest)(data).pipe(
        Effect.mapError(() => invalid("fail expects {message}")),
        Effect.flatMap(({ message }) => Effect.fail(new ApplicationError({ name: "SmokeError", message })))
      )
    )
    yield* server.handle("push", (data, socket) =>
      Schema.decodeUnknownEffect(PushRequest)(data).pipe(
        Effect.mapError(() => invalid("push expects {event, data}")),
        Effect.flatMap((req) => socket.emit(req.event, req.data)),
        Effect.as(undefined)
      )
    )
    yield* server.handle("login", (data, socket) => socket.setAuthToken(data).pipe(Effect.as(undefined)))
    yield* server.handle("whoami", (_data, socket) =>
      Effect.sync(() => ({
        id: socket.id,
        authState: socket.authState,
        authToken: socket.authToken,
        badAuthToken: badTokens.get(socket.id) ?? null
      }))
    )
    yield* server.handle("serverPublish", (data) =>
      Schema.decodeUnknownEffect(PublishRequest)(data).pipe(
        Effect.mapError(() => invalid("serverPublish expects {channel, data}")),
        Effect.flatMap((req) => server.exchange.publish(req.channel, req.data)),
        Effect.as(undefined)
      )
    )
  })

const App = Layer.effectDiscard(
  Effect.gen(function* () {
    const server = yield* SCServer.SCServer
    yield* registerSmokeHandlers(server)
    console.log(`smoke server listening on ws://127.0.0.1:${server.sourcePort}${server.getPath()}`)
  })
).pipe(Layer.provideMerge(SCServer.layer({ port })))

if (import.meta.url === `file://${process.argv[1]}`) {
  NodeRuntime.runMain(Layer.launch(App), {
    teardown: (exit, onExit) => onExit(Exit.isSuccess(exit) || Exit.hasInterrupts(exit) ? 0 : 1)
  })
}
