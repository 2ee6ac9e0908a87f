/**
 * The handlers `/work/shared/tools/wire-smoke` expects (its README): echo, fail, push,
 * login, whoami and serverPublish. Installed by `--smoke` / `pnpm smoke-server`.
 */
import { ApplicationError } from "@effect-socketcluster/protocol"
import type { SCServer } from "@effect-socketcluster/server"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import type { Handle } from "./Handle.js"

const FailRequest = Schema.Struct({ message: Schema.String })
const PushRequest = Schema.Struct({ event: Schema.String, data: Schema.optionalKey(Schema.Unknown) })
const PublishRequest = Schema.Struct({ channel: Schema.String, data: Schema.optionalKey(Schema.Unknown) })

const invalid = (message: string) => new ApplicationError({ name: "InvalidArgumentsError", message })

/** Registers the wire-smoke handlers on `server` through `handle`. */
export const registerSmokeHandlers = (server: SCServer.SCServerCore, handle: Handle) =>
  Effect.gen(function* () {
    // The name of the last bad-token error per socket, for `whoami`.
    const badTokens = new Map<string, string>()
    const unlisten = server.hub.listen(
      (event) => {
        if (event._tag === "BadSocketAuthToken") {
          const error = event.info.authError
          badTokens.set(event.socket.id, error instanceof Error ? error.name : String(error))
        } else if (event._tag === "Closure") {
          badTokens.delete(event.socket.id)
        }
      },
      ["BadSocketAuthToken", "Closure"]
    )
    yield* Effect.addFinalizer(() => Effect.sync(unlisten))
    yield* handle("echo", (data) => Effect.succeed(data))
    yield* handle("fail", (data) =>
      Schema.decodeUnknownEffect(FailRequest)(data).pipe(
        Effect.mapError(() => invalid("fail expects {message}")),
        Effect.flatMap(({ message }) => Effect.fail(new ApplicationError({ name: "SmokeError", message })))
      )
    )
    yield* handle("push", (data, socket) =>
      Schema.decodeUnknownEffect(PushRequest)(data).pipe(
        Effect.mapError(() => invalid("push expects {event, data}")),
        Effect.flatMap((req) => socket.emit(req.event, req.data)),
        Effect.as(undefined)
      )
    )
    yield* handle("login", (data, socket) => socket.setAuthToken(data).pipe(Effect.as(undefined)))
    yield* handle("whoami", (_data, socket) =>
      Effect.sync(() => ({
        id: socket.id,
        authState: socket.authState,
        authToken: socket.authToken,
        badAuthToken: badTokens.get(socket.id) ?? null
      }))
    )
    yield* handle("serverPublish", (data) =>
      Schema.decodeUnknownEffect(PublishRequest)(data).pipe(
        Effect.mapError(() => invalid("serverPublish expects {channel, data}")),
        Effect.flatMap((req) => server.exchange.publish(req.channel, req.data)),
        Effect.as(undefined)
      )
    )
  })
