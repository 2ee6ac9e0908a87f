/**
 * The server side of the demo page: chat rooms (`room/<name>`), a private channel
 * (`private/<name>`, authenticated sockets only), a `login` procedure that issues an auth
 * token, an `echo` procedure for the round-trip display, and live counters published on
 * the `stats` channel once a second.
 *
 * Messages are `{ text, nick? }`; the publishIn middleware rejects empty and oversized
 * ones and rewrites accepted ones to `{ text, from, at }`, `from` being the login name for
 * authenticated sockets. Channels outside these prefixes are left alone (wire-smoke uses
 * its own names).
 */
import { ApplicationError } from "@effect-socketcluster/protocol"
import type { Middleware, SCServer, SCSocket } from "@effect-socketcluster/server"
import * as Effect from "effect/Effect"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import type { Handle } from "./Handle.js"
import type { ServerMetrics } from "./ServerMetrics.js"

/** Longest chat message, in characters. */
export const maxMessageLength = 500
/** Longest nickname / login name, in characters. */
export const maxNameLength = 24
/** The channel the live counters are published on. */
export const statsChannel = "stats"

const isRoom = (channel: string) => channel.startsWith("room/")
const isPrivate = (channel: string) => channel.startsWith("private/")

/** What the page shows on the dashboard. */
export interface Stats {
  readonly connections: number
  readonly messages: number
  readonly channels: number
  readonly uptimeSeconds: number
  /** The worker that answered (under `--workers`), else `null`. */
  readonly worker: string | null
}

const reject = (name: string, message: string) => new ApplicationError({ name, message })

const usernameOf = (socket: SCSocket.SCSocket): string | undefined => {
  const token = socket.authToken
  if (typeof token !== "object" || token === null || !("username" in token)) return undefined
  return typeof token.username === "string" ? token.username : undefined
}

const cleanName = (value: unknown): string | undefined => {
  if (typeof value !== "string") return undefined
  const name = value.trim().slice(0, maxNameLength)
  return name.length > 0 ? name : undefined
}

const LoginRequest = Schema.Struct({ username: Schema.String })

/** Installs the demo's middleware, procedures and stats publisher (scoped: the publisher stops with the scope). */
export const install = (
  server: SCServer.SCServerCore,
  handle: Handle,
  metrics: ServerMetrics,
  worker: string | undefined
) =>
  Effect.gen(function* () {
    const startedAt = Date.now()
    let messages = 0

    const guardSubscribe: Middleware.Middleware<"subscribe"> = (req) =>
      isPrivate(req.channel) && req.socket.authState !== "authenticated"
        ? Effect.fail(reject("PrivateChannelError", "Log in to open private channels"))
        : Effect.void

    // One middleware for the whole publishIn chain: a chain of one, and channels outside
    // the demo's prefixes pass after three string checks. It returns finished results
    // (Effect.void / Effect.fail are Exits) so a publish costs no fiber, and counts what it
    // accepts: the CLI installs no other publishIn middleware, so that is every accepted
    // client publish.
    const acceptPublish: Middleware.Middleware<"publishIn"> = (req) => {
      const channel = req.channel
      if (channel === statsChannel) {
        return Effect.fail(reject("ForbiddenChannelError", "Only the server publishes on stats"))
      }
      if (!isRoom(channel) && !isPrivate(channel)) {
        metrics.countPublish("client")
        return Effect.void
      }
      if (isPrivate(channel) && req.socket.authState !== "authenticated") {
        return Effect.fail(reject("PrivateChannelError", "Log in to write on private channels"))
      }
      const data: unknown = req.data
      const raw = typeof data === "object" && data !== null && "text" in data ? data.text : data
      if (typeof raw !== "string" || raw.trim().length === 0) {
        return Effect.fail(reject("EmptyMessageError", "Message is empty"))
      }
      if (raw.length > maxMessageLength) {
        return Effect.fail(
          reject("MessageTooLongError", `Message is longer than ${maxMessageLength} characters (${raw.length})`)
        )
      }
      const nick = typeof data === "object" && data !== null && "nick" in data ? cleanName(data.nick) : undefined
      req.data = {
        text: raw.trim(),
        from: usernameOf(req.socket) ?? nick ?? `guest-${req.socket.id.slice(0, 4)}`,
        verified: usernameOf(req.socket) !== undefined,
        at: Date.now()
      }
      messages++
      metrics.countPublish("client")
      return Effect.void
    }

    // addMiddleware only fails for an unknown type.
    yield* server.addMiddleware("subscribe", metrics.countRejections("subscribe", guardSubscribe)).pipe(Effect.orDie)
    yield* server.addMiddleware("publishIn", metrics.countRejections("publishIn", acceptPublish)).pipe(Effect.orDie)

    yield* handle("echo", (data) => Effect.succeed(data))
    yield* handle("login", (data, socket) =>
      Schema.decodeUnknownEffect(LoginRequest)(data).pipe(
        Effect.mapError(() => reject("InvalidArgumentsError", "login expects {username}")),
        Effect.flatMap(({ username }): Effect.Effect<{ readonly username: string }, unknown> => {
          const name = cleanName(username)
          return name === undefined
            ? Effect.fail(reject("InvalidArgumentsError", "Pick a user name"))
            : socket.setAuthToken({ username: name }).pipe(Effect.as({ username: name }))
        })
      )
    )

    const currentStats = (): Stats => ({
      connections: server.clientsCount,
      messages,
      channels: server.registry.channelCount,
      uptimeSeconds: Math.round((Date.now() - startedAt) / 1000),
      worker: worker ?? null
    })
    yield* handle("stats", () => Effect.sync(currentStats))

    // Published when a counter changed, and every 10 s for the uptime.
    let last = ""
    const publishStats = Effect.suspend(() => {
      const stats = currentStats()
      const { uptimeSeconds: _, ...changing } = stats
      const key = JSON.stringify(changing)
      if (key === last && stats.uptimeSeconds % 10 !== 0) return Effect.void
      last = key
      metrics.countPublish("server")
      return server.exchange.publish(statsChannel, stats)
    }).pipe(Effect.ignore)
    yield* Effect.forkScoped(publishStats.pipe(Effect.repeat(Schedule.spaced("1 second"))))
  })
