/**
 * Which HTTP upgrades become WebSockets, and when: the path (for a server's own `upgrade`
 * listener), `maxConnections`, the origin check, the handshakeWS middleware, and a
 * budget of `maxUpgradesPerTurn` upgrades per event-loop turn — the rest wait in arrival
 * order for later turns (`setImmediate`), so the established sockets' I/O is served
 * between the batches of a reconnect storm.
 */
import * as Http from "node:http"
import type { Duplex } from "node:stream"
import { ServerProtocolError } from "@effect-socketcluster/protocol"
import type * as Effect from "effect/Effect"
import type * as Fiber from "effect/Fiber"
import type { MiddlewarePipeline } from "./MiddlewarePipeline.js"
import type { ServerOptions } from "./Options.js"
import * as Origins from "./Origins.js"
import type { OwnedWebSocket, OwnedWebSocketServer } from "./OwnedWebSocket.js"
import type { ServerCounters } from "./SocketCore.js"

/** What admission needs from its server. */
export interface AdmissionHost {
  readonly options: ServerOptions
  readonly counters: ServerCounters
  readonly pipeline: MiddlewarePipeline
  readonly wss: OwnedWebSocketServer
  /** Sockets open or in the handshake. */
  connectionCount(): number
  warn(error: unknown): void
  runFork<A, E>(effect: Effect.Effect<A, E>): Fiber.Fiber<A, E>
  /** A WebSocket was accepted. */
  connected(ws: OwnedWebSocket, req: Http.IncomingMessage): void
}

interface PendingUpgrade {
  readonly req: Http.IncomingMessage
  readonly socket: Duplex
  readonly head: Buffer
}

export class UpgradeAdmission {
  private accepting = true
  private readonly checkOrigin: Origins.OriginCheck
  private queue: Array<PendingUpgrade> = []
  private upgradesThisTurn = 0
  private turnScheduled = false

  constructor(private readonly host: AdmissionHost) {
    this.checkOrigin = Origins.compile(host.options.origins)
  }

  /** Refuses every later upgrade (and those still queued). */
  stop(): void {
    this.accepting = false
  }

  /** Handles an HTTP upgrade request (`'upgrade'` event of a Node HTTP server). */
  readonly onUpgrade = (req: Http.IncomingMessage, socket: Duplex, head: Buffer): void => {
    // Without an error listener an ECONNRESET during async checks would crash the process.
    socket.on("error", destroyOnError)
    const pathname = (req.url ?? "/").split("?")[0]
    if (pathname !== this.host.options.path) return rejectUpgrade(socket, 400, "Bad Request")
    this.admit(req, socket, head)
  }

  /**
   * Takes an upgrade that is already routed to this server (by the `upgrade` listener's
   * path check, or by an `HttpRouter` route): capacity, origin, handshakeWS.
   */
  admit(req: Http.IncomingMessage, socket: Duplex, head: Buffer): void {
    const host = this.host
    if (!this.accepting) return rejectUpgrade(socket, 400, "Bad Request")
    if (host.connectionCount() + this.queue.length >= host.options.maxConnections) {
      host.counters.rejectedUpgrades++
      return rejectUpgrade(socket, 503, "Service Unavailable")
    }
    const origin = req.headers.origin ?? req.headers["sec-websocket-origin"]
    const originHeader = Array.isArray(origin) ? origin[0] : origin
    if (!this.checkOrigin(originHeader)) {
      const message = Origins.invalidOriginMessage(originHeader)
      host.warn(new ServerProtocolError({ message }))
      return rejectUpgrade(socket, 403, message)
    }
    if (this.queue.length === 0 && this.upgradesThisTurn < host.options.maxUpgradesPerTurn) {
      this.upgradesThisTurn++
      this.scheduleTurn()
      return this.upgrade(req, socket, head)
    }
    this.queue.push({ req, socket, head })
    this.scheduleTurn()
  }

  private scheduleTurn(): void {
    if (this.turnScheduled) return
    this.turnScheduled = true
    setImmediate(this.turn)
  }

  private readonly turn = (): void => {
    this.turnScheduled = false
    const limit = this.host.options.maxUpgradesPerTurn
    const queue = this.queue
    let admitted = 0
    let taken = 0
    while (admitted < limit && taken < queue.length) {
      const next = queue[taken++]!
      // A client that gave up while queued costs nothing more.
      if (next.socket.destroyed || !this.accepting) {
        next.socket.destroy()
        continue
      }
      admitted++
      this.upgrade(next.req, next.socket, next.head)
    }
    queue.splice(0, taken)
    // Upgrades arriving in the next poll phase share this turn's budget.
    this.upgradesThisTurn = admitted
    if (queue.length > 0 || admitted > 0) this.scheduleTurn()
  }

  private upgrade(req: Http.IncomingMessage, socket: Duplex, head: Buffer): void {
    const host = this.host
    const upgrade = () =>
      host.wss.handleUpgrade(req, socket, head, (ws) => {
        // From here on ws's own error listener handles the socket.
        socket.removeListener("error", destroyOnError)
        host.connected(ws, req)
      })
    if (!host.pipeline.has("handshakeWS")) return upgrade()
    const refuse = (blocked: { readonly error: unknown }) => {
      const error = blocked.error
      rejectUpgrade(
        socket,
        401,
        typeof error === "string" ? error : error instanceof Error ? error.message : String(error)
      )
    }
    host.runFork(host.pipeline.gate("handshakeWS", { request: req }, upgrade, refuse)).addObserver((exit) => {
      // Interrupted (the server is closing): the client still gets an answer.
      if (exit._tag === "Failure") rejectUpgrade(socket, 500, "Internal Server Error")
    })
  }
}

// One listener for every socket (no closure each): an emitter calls it with itself as `this`.
function destroyOnError(this: Duplex): void {
  this.destroy()
}

/** Answers an upgrade request with an HTTP error and closes the connection. */
export const rejectUpgrade = (socket: Duplex, status: number, body: string): void => {
  if (!socket.writable) return void socket.destroy()
  const text = Http.STATUS_CODES[status] ?? "Error"
  socket.end(
    `HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Type: text/html\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`
  )
}
