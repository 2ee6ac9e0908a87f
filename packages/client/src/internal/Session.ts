/**
 * The connection loop: open a WebSocket, handshake, read frames until it closes, then
 * reconnect on the schedule — forever, until the client is closed or gives up.
 */
import { HandshakeStatus } from "@effect-socketcluster/protocol"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import * as Socket from "effect/socket/Socket"
import { fromWire, type ServerError } from "../ClientError.js"
import type { Disconnect } from "../ClientOptions.js"
import type { ClientCore } from "./ClientCore.js"
import { Link } from "./Link.js"

/** How a session ended, and whether it had completed its handshake. */
interface SessionEnd extends Disconnect {
  readonly wasOpen: boolean
  readonly error?: ServerError | undefined
  /** The WebSocket could not even be constructed (bad URL, no WebSocket): retrying cannot help. */
  readonly fatal?: boolean
}

const decodeStatus = Schema.decodeUnknownOption(HandshakeStatus)

const fromSocketError = (error: Socket.SocketError): Disconnect => {
  const reason = error.reason
  switch (reason._tag) {
    case "SocketCloseError":
      return { code: reason.code, reason: reason.closeReason ?? "" }
    case "SocketOpenError":
      return reason.kind === "Timeout"
        ? { code: 4007, reason: "Client connection establishment timed out" }
        : { code: 1006, reason: "Socket hung up" }
    default:
      return { code: 1006, reason: "Socket hung up" }
  }
}

/** Codes after which the official client does not reconnect: 1000 and 4500–4999. */
const mayReconnect = (code: number): boolean => code !== 1000 && (code < 4500 || code > 4999)

const session = (core: ClientCore, attempt: number) =>
  Effect.scoped(
    Effect.gen(function* () {
      core.state.set({ _tag: "Connecting", attempt })
      const makeWs = yield* Socket.WebSocketConstructor
      const { options } = core
      let ws: Socket.WebSocketLike | undefined
      let constructError: unknown
      const socket = yield* Socket.fromWebSocket(
        Effect.acquireRelease(
          Effect.try({
            try: () => {
              ws = makeWs(core.url, options.headers === undefined ? undefined : { headers: options.headers })
              return ws
            },
            catch: (cause) => {
              constructError = cause
              return new Socket.SocketError({ reason: new Socket.SocketOpenError({ kind: "Unknown", cause }) })
            }
          }),
          (socket) => Effect.sync(() => socket.close(1000))
        ),
        { openTimeout: options.connectTimeout }
      )
      const readerExit = yield* Effect.exit(socket.reader)
      if (constructError !== undefined) {
        const end: SessionEnd = { code: 1006, reason: String(constructError), wasOpen: false, fatal: true }
        return end
      }
      if (Exit.isFailure(readerExit) || ws === undefined) {
        const failure = Exit.isFailure(readerExit) ? Option.getOrUndefined(Exit.findErrorOption(readerExit)) : undefined
        const end: SessionEnd = {
          ...(failure === undefined ? { code: 1006, reason: "Socket hung up" } : fromSocketError(failure)),
          wasOpen: false
        }
        return end
      }
      const reader = readerExit.value
      const link = new Link(ws, options.codec, options.protocolVersion, Duration.toMillis(options.connectTimeout))

      const readLoop: Effect.Effect<never, Disconnect> = Effect.forever(
        Effect.suspend(() =>
          reader.pull.pipe(
            Effect.mapError((error) => {
              const closed = fromSocketError(error)
              return core.disconnectOf(link, closed.code, closed.reason)
            }),
            Effect.timeoutOrElse({
              duration: link.pingTimeoutMillis,
              orElse: () =>
                Effect.sync(() => link.close(4000)).pipe(
                  Effect.andThen(Effect.fail({ code: 4000, reason: "Server ping timed out" }))
                )
            }),
            Effect.map((frames) => core.onFrames(link, frames))
          )
        )
      )
      const reading = yield* Effect.forkScoped(readLoop)
      const ended = Effect.flip(Fiber.join(reading))

      const token = yield* core.store.load
      const cid = core.calls.next()
      const answer = Effect.callback<{ readonly error: unknown; readonly data: unknown }>((resume) => {
        core.calls.register(cid, {
          onAnswer: (error, data) => resume(Effect.succeed({ error, data })),
          onDrop: () => {}
        })
        link.send({ event: "#handshake", data: { authToken: token }, cid })
        return Effect.sync(() => core.calls.forget(cid))
      })
      const first = yield* Effect.raceFirst(
        Effect.map(answer, (a) => ({ _tag: "Answer" as const, ...a })),
        Effect.map(ended, (d) => ({ _tag: "Ended" as const, ...d }))
      )
      if (first._tag === "Ended") return { code: first.code, reason: first.reason, wasOpen: false }
      if (first.error !== undefined && first.error !== null) {
        // v1 puts the close code in `data.code`, v2 in `error.statusCode` (protocol-v2 §2).
        const error = fromWire(first.error)
        const dataCode =
          typeof first.data === "object" && first.data !== null ? Reflect.get(first.data, "code") : undefined
        const statusCode =
          typeof first.error === "object" && first.error !== null ? Reflect.get(first.error, "statusCode") : undefined
        const code = typeof dataCode === "number" ? dataCode : typeof statusCode === "number" ? statusCode : 4008
        link.close(code)
        return { code, reason: `${error.name}: ${error.message}`, wasOpen: false, error }
      }
      const status = decodeStatus(first.data)
      if (Option.isNone(status)) {
        link.close(4003)
        return { code: 4003, reason: "Failed to complete handshake", wasOpen: false }
      }
      const { id, pingTimeout, isAuthenticated, authError } = status.value
      if (pingTimeout > 0) link.pingTimeoutMillis = pingTimeout
      if (isAuthenticated && token !== null) core.setAuthenticated(token)
      else core.setUnauthenticated()
      core.opened(link, {
        _tag: "Open",
        id,
        pingTimeout,
        isAuthenticated,
        authError: authError === undefined ? undefined : fromWire(authError)
      })
      const end = yield* ended
      return { ...end, wasOpen: true }
    })
  )

/**
 * Runs sessions until the client is closed, a close code forbids reconnecting, or the
 * reconnect schedule is done. The schedule starts over after every successful handshake.
 */
export const run = (core: ClientCore): Effect.Effect<void, never, Socket.WebSocketConstructor> =>
  Effect.gen(function* () {
    const schedule = core.options.reconnect
    let step = schedule === false ? undefined : yield* Schedule.toStepWithSleep(schedule)
    let attempt = 1
    while (true) {
      const end = yield* session(core, attempt)
      if (core.closing || step === undefined || end.fatal === true || !mayReconnect(end.code)) {
        core.closed(end, false)
        return core.terminate(end)
      }
      core.closed(end, true)
      if (end.wasOpen && schedule !== false) {
        step = yield* Schedule.toStepWithSleep(schedule)
        attempt = 1
      }
      const next = yield* Effect.exit(step({ code: end.code, reason: end.reason }))
      if (Exit.isFailure(next)) {
        core.closed(end, false)
        return core.terminate(end)
      }
      attempt++
    }
  })
