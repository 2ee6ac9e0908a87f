/**
 * Structured logs through Effect's `Logger`: JSON lines or pretty output, filtered by the
 * minimum level. Server events are logged with `socketId` / `channel` annotations; auth
 * token contents are never logged.
 */
import type { Events, SCServer } from "@effect-socketcluster/server"
import { Effect, Layer, Logger, type LogLevel, References, Stream } from "effect"

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

/**
 * Logs the server's events until the scope closes. Reads the event stream (a sliding
 * buffer), so under extreme load some debug lines may be skipped; metrics do not depend on it.
 */
export const logServerEvents = (server: SCServer.SCServerCore) =>
  Effect.forkScoped(Stream.runForEach(server.events, logEvent))
