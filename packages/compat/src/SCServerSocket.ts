/**
 * v14's `SCServerSocket`: one per core `SCSocket`, with the callback API and the
 * component-emitter events of socketcluster-server 14 (spec server-api.md §7). Every
 * state read and action goes to the core socket; its events are re-emitted here
 * synchronously, so v14's ordering holds.
 */
import type { SCSocket as CoreSocket, Events } from "@effect-socketcluster/server"
import type { WebSocket } from "ws"
import { Emitter } from "./Emitter.js"
import type { SCExchange } from "./Exchange.js"

/** What a socket needs from its server. */
export interface SocketServer {
  readonly exchange: SCExchange
}

/** Answers a client event: `respond(err)` fails it, `respond(null, data)` succeeds; a no-op without a cid. */
export type Respond = (error?: unknown, data?: unknown) => void

/**
 * A socket listener: `(data, respond)` for client events, the v14 arguments for the
 * socket's own events (bivariant, so annotated parameters are accepted).
 */
export type SocketListener = { listener(data: unknown, respond: Respond): void }["listener"]

/** v14 `setAuthToken` options (jsonwebtoken's sign options). */
export type SignOptions = Record<string, unknown>

/**
 * A server-side socket with v14's API. `emit` sends to the client (local listeners are
 * fired by the server); `on(event, (data, respond) => …)` receives client events.
 */
export class SCServerSocket extends Emitter {
  static readonly CONNECTING = "connecting"
  static readonly OPEN = "open"
  static readonly CLOSED = "closed"
  static readonly AUTHENTICATED = "authenticated"
  static readonly UNAUTHENTICATED = "unauthenticated"
  static readonly ignoreStatuses: Readonly<Record<number, string>> = {
    1000: "Socket closed normally",
    1001: "Socket hung up"
  }

  readonly CONNECTING = "connecting"
  readonly OPEN = "open"
  readonly CLOSED = "closed"
  readonly AUTHENTICATED = "authenticated"
  readonly UNAUTHENTICATED = "unauthenticated"

  readonly id: string
  readonly exchange: SCExchange
  /** `false` after `destroy()`. */
  active = true

  constructor(
    /** The core socket this facade drives (the Effect-native API). */
    readonly core: CoreSocket.SCSocket,
    /** The v14 server facade. */
    readonly server: SocketServer
  ) {
    super()
    this.id = core.id
    this.exchange = server.exchange
    // v14 with the ws engine exposes the upgrade request as `socket.socket.upgradeReq`.
    Reflect.set(core.ws, "upgradeReq", core.request)
    core.hub.listen(this.onCoreEvent)
  }

  /** Listens to a client event (`(data, respond)`) or a socket event (`connect`, `disconnect`, …). */
  override on(event: string, fn: SocketListener): this {
    return super.on(event, fn)
  }
  override once(event: string, fn: SocketListener): this {
    return super.once(event, fn)
  }

  /** The underlying `ws` WebSocket. */
  get socket(): WebSocket {
    return this.core.ws
  }
  /** The HTTP upgrade request (url with query, headers, connection). */
  get request(): CoreSocket.SCSocket["request"] {
    return this.core.request
  }
  get remoteAddress(): string | undefined {
    return this.core.remoteAddress
  }
  get remotePort(): number | undefined {
    return this.core.remotePort
  }
  get remoteFamily(): string | undefined {
    return this.core.remoteFamily
  }
  /** Copied from `request.forwardedForAddress` when a proxy-aware HTTP handler set it. */
  get forwardedForAddress(): string | undefined {
    const value: unknown = Reflect.get(this.core.request, "forwardedForAddress")
    return typeof value === "string" ? value : undefined
  }
  get state(): CoreSocket.SocketState {
    return this.core.state
  }
  /** The connection's SocketCluster protocol: 1 (client 14), 2 (clients 15–20), or null until detected. */
  get protocolVersion(): 1 | 2 | null {
    return this.core.protocolVersion
  }
  get authState(): Events.AuthState {
    return this.core.authState
  }
  get authToken(): unknown {
    return this.core.authToken
  }
  get signedAuthToken(): string | null {
    return this.core.signedAuthToken
  }
  /** `{[channel]: true}` for every channel the socket holds (a fresh object per read). */
  get channelSubscriptions(): Record<string, true> {
    const out: Record<string, true> = {}
    for (const channel of this.core.channels) out[channel] = true
    return out
  }
  get channelSubscriptionsCount(): number {
    return this.core.channels.size
  }

  getState(): CoreSocket.SocketState {
    return this.core.state
  }
  getAuthToken(): unknown {
    return this.core.authToken
  }
  /** Inbound bytes (v14 with `ws` returned undefined). */
  getBytesReceived(): number {
    return this.core.bytesReceived
  }
  subscriptions(): Array<string> {
    return Array.from(this.core.channels)
  }
  isSubscribed(channel: string): boolean {
    return this.core.channels.has(channel)
  }

  /**
   * Sends `event` to the client; with `callback` it gets `(err, data)` from the client's
   * answer or a `TimeoutError` after `ackTimeout`. `emit('error', err)` reports `err` on
   * this socket (its `error` listeners and the server's `warning`) instead.
   */
  override emit(event: string, data?: unknown, callback?: (error: unknown, data: unknown) => void): void {
    if (event === "error") {
      this.core.emitError(data)
      return
    }
    this.core.emitUnsafe(event, data, callback)
  }

  /** Writes `data` as is (no codec). */
  send(data: string | Uint8Array): void {
    this.core.sendUnsafe(data)
  }

  /** Sends `#disconnect` and closes with `code` (default 1000). */
  disconnect(code?: number, data?: unknown): void {
    this.core.disconnectUnsafe(code, data)
  }

  /** `active = false`, then `disconnect(code, data)`. */
  destroy(code?: number, data?: unknown): void {
    this.active = false
    this.core.disconnectUnsafe(code, data)
  }

  /** Drops the connection at once (close code 1006). */
  terminate(): void {
    this.core.terminateUnsafe()
  }

  /**
   * Signs `data` into a token for the client. The socket is authenticated at once and
   * `#setAuthToken` goes out before anything written to this socket after this call;
   * `callback(err)` runs when the client acknowledged it.
   */
  setAuthToken(data: unknown, options?: SignOptions, callback?: (error: unknown) => void): void {
    // v14's `{async: true}` picks asynchronous signing (sc-auth drops it before signing);
    // signing is always asynchronous here.
    if (options !== undefined && "async" in options) {
      const { async: _, ...rest } = options
      options = rest
    }
    this.core.setAuthTokenUnsafe(data, options, callback)
  }

  /** Clears the token and sends `#removeAuthToken` (`callback` gets the client's answer). */
  deauthenticate(callback?: (error: unknown) => void): void {
    this.core.deauthenticateUnsafe(callback)
  }

  /** Clears the token without telling the client. */
  deauthenticateSelf(): void {
    this.core.deauthenticateSelf()
  }

  /** Removes the socket from `channel` (or every channel) and sends `#kickOut`. */
  kickOut(channel?: string, message?: unknown, callback?: (error?: unknown) => void): void {
    this.core.kickOutUnsafe(channel, message)
    if (callback !== undefined) process.nextTick(callback)
  }

  private readonly onCoreEvent = (event: Events.SocketEvent): void => {
    switch (event._tag) {
      case "Connect":
        this.emitLocal("connect", event.status)
        this.emitLocal("_connect", event.status)
        return
      case "ConnectAbort":
        this.emitLocal("_connectAbort", event.code, event.data)
        this.emitLocal("connectAbort", event.code, event.data)
        return
      case "Disconnect":
        this.emitLocal("_disconnect", event.code, event.data)
        this.emitLocal("disconnect", event.code, event.data)
        return
      case "Close":
        this.emitLocal("_close", event.code, event.data)
        this.emitLocal("close", event.code, event.data)
        return
      case "Error":
        this.emitLocal("error", event.error)
        return
      case "Message":
        this.emitLocal("message", event.message)
        return
      case "Raw":
        this.emitLocal("raw", event.message)
        return
      case "Subscribe":
        this.emitLocal("subscribe", event.channel, event.options)
        return
      case "Unsubscribe":
        this.emitLocal("unsubscribe", event.channel)
        return
      case "Authenticate":
        this.emitLocal("authenticate", event.authToken)
        return
      case "Deauthenticate":
        this.emitLocal("deauthenticate", event.oldAuthToken)
        return
      case "AuthStateChange":
        this.emitLocal("authStateChange", event.change)
        return
      case "AuthTokenSigned":
        this.emitLocal("authTokenSigned", event.signedAuthToken)
        return
      case "BadAuthToken":
        this.emitLocal("badAuthToken", event.info)
        return
      case "Event":
        this.emitLocal(event.event, event.data, event.respond)
        return
    }
  }
}
