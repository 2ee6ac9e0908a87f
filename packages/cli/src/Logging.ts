/**
 * Structured logs through Effect's `Logger`: JSON lines or pretty output, filtered by the
 * minimum level. Server events are logged with `socketId` / `channel` annotations; auth
 * token contents are never logged.
 */
import type { Events, SCServer } from "@effect-socketcluster/server"
import { Effect, Layer, Logger, LogLevel, Queue, References, Stream } from "effect"

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

// The level each event is logged at; undefined: not logged.
const levelOf = (event: Events.ServerEvent): LogLevel.LogLevel | undefined => {
  switch (event._tag) {
    case "Connection":
    case "Closure":
    case "Subscription":
    case "Unsubscription":
    case "AuthenticationStateChange":
      return "Debug"
    case "BadSocketAuthToken":
    case "Notice":
      return "Info"
    case "SlowConsumer":
    case "Warning":
      return "Warn"
    case "Error":
      return "Error"
    default:
      return undefined
  }
}

/** Events a slow logger may fall behind by before the oldest are skipped. */
const bufferSize = 4096

/**
 * Logs the server's events until the scope closes. Events below the minimum log level are
 * dropped in the server's synchronous listener, so at the default `info` the per-socket
 * debug events (connection, subscribe, ...) cost one comparison and never reach a queue
 * or a fiber. The rest go through a sliding buffer, so under extreme load some lines may
 * be skipped; metrics do not depend on it.
 */
export const logServerEvents = (server: SCServer.SCServerCore) =>
  Effect.gen(function* () {
    const minimum = yield* References.MinimumLogLevel
    // Whether an event kind is logged, decided once per kind: the listener runs for every
    // subscribe and connection, and a map lookup is cheaper than comparing levels.
    const logged = new Map<Events.ServerEvent["_tag"], boolean>()
    const isLogged = (event: Events.ServerEvent): boolean => {
      let yes = logged.get(event._tag)
      if (yes === undefined) {
        const level = levelOf(event)
        yes = level !== undefined && !LogLevel.isGreaterThan(minimum, level)
        logged.set(event._tag, yes)
      }
      return yes
    }
    const events = Stream.callback<Events.ServerEvent>(
      (queue) => {
        const unlisten = server.hub.listen((event) => {
          if (isLogged(event)) Queue.offerUnsafe(queue, event)
        })
        return Effect.addFinalizer(() => Effect.sync(unlisten))
      },
      { bufferSize, strategy: "sliding" }
    )
    yield* Effect.forkScoped(Stream.runForEach(events, logEvent))
  })
