/**
 * Structured logs through Effect's `Logger`: JSON lines or pretty output, filtered by the
 * minimum level. Server events are logged with `socketId` / `channel` annotations; auth
 * token contents are never logged.
 */
import type { Events, SCServer } from "@effect-socketcluster/server"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as Queue from "effect/Queue"
import * as References from "effect/References"
import * as Stream from "effect/Stream"

/** The logger for a format and a minimum level. */
export const layer = (format: "json" | "pretty", level: LogLevel.LogLevel): Layer.Layer<never> =>
  Layer.mergeAll(
    Logger.layer([format === "json" ? Logger.consoleJson : Logger.consolePretty()]),
    Layer.succeed(References.MinimumLogLevel, level)
  )

const errorText = (error: unknown): string =>
  error instanceof Error ? `${error.name}: ${error.message}` : typeof error === "string" ? error : JSON.stringify(error)

const logEvent = (event: Events.ServerEvent): Effect.Effect<void> => {
  switch (event._tag) {
    case "Connection":
      return Effect.logDebug("connection", {
        remoteAddress: event.socket.remoteAddress,
        authenticated: event.status.isAuthenticated
      }).pipe(Effect.annotateLogs({ socketId: event.socket.id }))
    case "Closure":
      return Effect.logDebug("closure", { code: event.code }).pipe(Effect.annotateLogs({ socketId: event.socket.id }))
    case "Subscription":
    case "Unsubscription":
      return Effect.logDebug(event._tag === "Subscription" ? "subscribe" : "unsubscribe").pipe(
        Effect.annotateLogs({ socketId: event.socket.id, channel: event.channel })
      )
    case "AuthenticationStateChange":
      // The state only: token payloads may hold personal data.
      return Effect.logDebug("auth state", { newState: event.change.newState }).pipe(
        Effect.annotateLogs({ socketId: event.socket.id })
      )
    case "BadSocketAuthToken":
      return Effect.logInfo("bad auth token", { error: errorText(event.info.authError) }).pipe(
        Effect.annotateLogs({ socketId: event.socket.id })
      )
    case "SlowConsumer":
      // The one line an operator needs for a subscriber that fell behind: who, and what it lost.
      return Effect.logWarning("slow consumer", { phase: event.phase, dropped: event.dropped }).pipe(
        Effect.annotateLogs({ socketId: event.socket.id })
      )
    case "Warning":
      return Effect.logWarning(errorText(event.error))
    case "Error":
      return Effect.logError(errorText(event.error))
    case "Notice":
      return Effect.logInfo("broker", event.notice)
    default:
      return Effect.void
  }
}

// The level each logged event kind is logged at (the others are not logged).
const levels: ReadonlyArray<readonly [Events.ServerEvent["_tag"], LogLevel.LogLevel]> = [
  ["Connection", "Debug"],
  ["Closure", "Debug"],
  ["Subscription", "Debug"],
  ["Unsubscription", "Debug"],
  ["AuthenticationStateChange", "Debug"],
  ["BadSocketAuthToken", "Info"],
  ["Notice", "Info"],
  ["SlowConsumer", "Warn"],
  ["Warning", "Warn"],
  ["Error", "Error"]
]

/** Events a slow logger may fall behind by before the oldest are skipped. */
const bufferSize = 4096

/**
 * Logs the server's events until the scope closes. Only the kinds at or above the minimum
 * log level are listened to, so at the default `info` the server never builds the
 * per-socket debug events (connection, subscribe, ...) for the logger. The rest go
 * through a sliding buffer, so under extreme load some lines may be skipped; metrics do
 * not depend on it.
 */
export const logServerEvents = (server: SCServer.SCServerCore) =>
  Effect.gen(function* () {
    const minimum = yield* References.MinimumLogLevel
    const kinds = levels.filter(([, level]) => !LogLevel.isGreaterThan(minimum, level)).map(([kind]) => kind)
    if (kinds.length === 0) return
    // Listening starts here, not when the forked consumer first runs: no event of a
    // socket that connects right after start-up is missed.
    const queue = yield* Queue.sliding<Events.ServerEvent>(bufferSize)
    const unlisten = server.hub.listen((event) => {
      Queue.offerUnsafe(queue, event)
    }, kinds)
    yield* Effect.addFinalizer(() => Effect.sync(unlisten))
    yield* Effect.forkScoped(Stream.runForEach(Stream.fromQueue(queue), logEvent))
  })
