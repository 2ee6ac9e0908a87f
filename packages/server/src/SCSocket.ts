/**
 * The server side of one SocketCluster connection, as apps see it: its state (read-only),
 * its events, and its actions.
 *
 * Effect code uses the Effect methods (`emit`, `invoke`, `send`, `disconnect`,
 * `setAuthToken`, …); the `…Unsafe` variants are the synchronous core the compat facade
 * builds on. The implementation is split by job (`SocketInbound`, `SocketLifecycle`,
 * `SocketAuth`, `SocketPubSub`, `SocketRpc`, `SocketWriter`, assembled in `ServerSocket`).
 *
 * @example
 * ```ts
 * yield* server.handle("whoami", (_data, socket) =>
 *   socket.authState === "authenticated" ? Effect.succeed(socket.authToken) : Effect.fail(new Error("Log in first")))
 * ```
 */

import type { IncomingHttpHeaders, IncomingMessage } from "node:http"
import type { Socket } from "node:net"
import type * as Effect from "effect/Effect"
import type * as Stream from "effect/Stream"
import type { WebSocket } from "ws"
import type { SignOptions } from "./AuthEngine.js"
import type { EventHub } from "./EventHub.js"
import { shared, shareHeaderValues } from "./SharedHeaderValues.js"
import type { InvokeError, SetAuthTokenError } from "./SocketErrors.js"
import type { AuthState, SocketEvent } from "./SocketEvents.js"
import type { ProtocolVersion } from "./WireDialect.js"

export type SocketState = "connecting" | "open" | "closed"

/**
 * What a socket keeps of its HTTP upgrade request: the parts apps read (url with query,
 * headers, the connection). Not the `IncomingMessage` itself, whose stream state an idle
 * socket would otherwise hold for its whole life.
 */
export interface UpgradeRequest {
  readonly url: string
  readonly method: string
  readonly httpVersion: string
  readonly headers: IncomingHttpHeaders
  readonly socket: Socket
  /** Alias of `socket` (v14 apps read `request.connection.remoteAddress`). */
  readonly connection: Socket
}

// Four fields per socket; `method` (ws accepts GET upgrades only) and the `connection`
// alias live on the prototype.
class KeptUpgradeRequest implements UpgradeRequest {
  constructor(
    readonly url: string,
    readonly httpVersion: string,
    readonly headers: IncomingHttpHeaders,
    readonly socket: Socket
  ) {}
  get method(): string {
    return "GET"
  }
  get connection(): Socket {
    return this.socket
  }
}

/** The `UpgradeRequest` view of a Node upgrade request (values most sockets share are held once). */
export const upgradeRequest = (req: IncomingMessage): UpgradeRequest =>
  new KeptUpgradeRequest(shared(req.url ?? "/"), req.httpVersion, shareHeaderValues(req.headers), req.socket)

/** An Effect-native handler for an inbound event; its success is the ack data, its failure the ack error. */
export type EventHandler = (data: unknown, socket: SCSocket) => Effect.Effect<unknown, unknown>

/** Close code for a socket disconnected by the `disconnect` slow-consumer policy. */
export const SLOW_CONSUMER_CLOSE_CODE = 4010

// Names a client may not use for events (v14's local event list): they are ignored.
const localEvents: ReadonlySet<string> = new Set([
  "connect",
  "disconnect",
  "connectAbort",
  "close",
  "message",
  "error",
  "raw",
  "subscribe",
  "unsubscribe",
  "authenticate",
  "deauthenticate",
  "authStateChange",
  "authTokenSigned",
  "badAuthToken",
  "_connect",
  "_disconnect",
  "_connectAbort",
  "_close"
])

/** True for names the server refuses to emit and ignores from clients. */
export const isLocalEventName = (event: string): boolean => localEvents.has(event)

/**
 * A server-side SocketCluster socket. Its state is read-only: only the socket changes it,
 * through the protocol and its own actions.
 */
export interface SCSocket {
  readonly id: string
  /** The underlying `ws` WebSocket. */
  readonly ws: WebSocket
  /** The HTTP upgrade request (headers, url with query, connection). */
  readonly request: UpgradeRequest
  /** The socket's own events (synchronous listeners; `events` is the Stream view). */
  readonly hub: EventHub<SocketEvent>
  /** Current connection state. */
  readonly state: SocketState
  readonly authState: AuthState
  /** The decoded auth token payload, or null. */
  readonly authToken: unknown
  /** The JWT the client holds, or null. */
  readonly signedAuthToken: string | null
  /** Inbound bytes (text frames counted as UTF-8 length). */
  readonly bytesReceived: number
  /** The connection's SocketCluster protocol (1: client 14, 2: clients 15–20), or null until detected; never changes once set. */
  readonly protocolVersion: ProtocolVersion | null
  readonly remoteAddress: string | undefined
  readonly remotePort: number | undefined
  readonly remoteFamily: string | undefined
  /** Channels this socket is subscribed to, in subscription order (the server's channel registry holds them). */
  readonly channels: ReadonlySet<string>
  /** Every socket event, as a stream (see `EventHub` for the buffering policy); it completes after `Close`. */
  readonly events: Stream.Stream<SocketEvent>

  getState(): SocketState
  /** Reads the state afresh (TypeScript narrows `state` across awaits). */
  isClosed(): boolean
  getAuthToken(): unknown
  subscriptions(): ReadonlyArray<string>
  isSubscribed(channel: string): boolean

  /** Emits an event without waiting for an answer. */
  emit(event: string, data?: unknown): Effect.Effect<void>
  /**
   * Emits an event and waits for the client's answer: `ClientError` when the client
   * answers with an error, `TimeoutError` after `ackTimeout`, `BadConnectionError` at once
   * when the socket closes first. Interrupting it frees its ack slot and timer.
   */
  invoke(event: string, data?: unknown): Effect.Effect<unknown, InvokeError>
  /** Writes a raw frame (no codec). */
  send(data: string | Uint8Array): Effect.Effect<void>
  /** Sends `#disconnect` and closes with `code` (default 1000). */
  disconnect(code?: number, data?: unknown): Effect.Effect<void>
  /**
   * Signs `data` into a token for this client; completes once `#setAuthToken` is written.
   * Interrupting it does not undo it: the socket is authenticated at once and the token
   * still goes out once signed.
   */
  setAuthToken(data: unknown, options?: SignOptions): Effect.Effect<void, SetAuthTokenError>
  /** Clears the token and tells the client to drop it. */
  readonly deauthenticate: Effect.Effect<void>
  /** Removes the socket from `channel` (or all) and tells the client with `#kickOut`. */
  kickOut(channel?: string, message?: unknown): Effect.Effect<void>
  /** Registers an Effect handler for `event` on this socket only (it takes precedence over the server's). */
  handle(event: string, handler: EventHandler): Effect.Effect<void>

  /**
   * Emits `event` to the client. With a callback a cid is sent and the callback gets the
   * client's answer, or a `TimeoutError` after `ackTimeout`. Returns the cid.
   */
  emitUnsafe(
    event: string,
    data: unknown,
    callback?: (error: unknown, data: unknown) => void,
    invoke?: boolean
  ): number | undefined
  /** Writes `data` as is (no codec): v14 `send`. */
  sendUnsafe(data: string | Uint8Array): void
  /** Sends `#disconnect` and closes with `code` (default 1000). */
  disconnectUnsafe(code?: unknown, data?: unknown): void
  /** Drops the TCP connection at once; the close sequence runs with 1006. */
  terminateUnsafe(): void
  /**
   * Closes the socket: the close sequence of v14 (protocol §11.3) runs once.
   * @param closeWs whether to close the WebSocket with `code` (false when it is already closed)
   */
  closeUnsafe(code: number, data: unknown, closeWs: boolean): void
  /**
   * Signs `data` into a token for this client (protocol §7.2). The socket is
   * authenticated at once; the `#setAuthToken` frame goes out before anything written
   * to this socket after this call, even though signing is asynchronous.
   */
  setAuthTokenUnsafe(
    data: unknown,
    options?: SignOptions & { readonly algorithm?: unknown },
    callback?: (error: unknown) => void,
    onWritten?: (error: unknown) => void
  ): void
  /** Clears the token and tells the client to drop it (`#removeAuthToken`). */
  deauthenticateUnsafe(callback?: (error: unknown) => void): void
  /** Clears the token without telling the client (v14 `deauthenticateSelf`). */
  deauthenticateSelf(): void
  /** Removes the socket from `channel` (or every channel) and sends `#kickOut`; no unsubscribe events (v14). */
  kickOutUnsafe(channel?: string, message?: unknown): void
  /** Reports an error on the socket (socket `error` + server `warning`). */
  emitError(error: unknown): void
}
