/**
 * The server's implementation of `SCSocket`: one object holding the socket's state
 * (`SocketCore`), whose methods hand each job to its module — `SocketInbound` (decoding
 * and ordering), `SocketLifecycle` (handshake, heartbeat, close), `SocketAuth`,
 * `SocketPubSub`, `SocketRpc` and `SocketWriter` (the outbound writer).
 *
 * Created by the server for each accepted WebSocket; apps see it as the read-only `SCSocket`.
 */

import { type InboundPacket, json } from "@effect-socketcluster/protocol"
import * as Effect from "effect/Effect"
import type * as Stream from "effect/Stream"
import type { SignOptions } from "./AuthEngine.js"
import { EventHub } from "./EventHub.js"
import type { Frame } from "./Frame.js"
import { type OwnedWebSocket, own, type WebSocketOwner } from "./OwnedWebSocket.js"
import type { EventHandler, SCSocket, SocketState, UpgradeRequest } from "./SCSocket.js"
import * as Auth from "./SocketAuth.js"
import type { CongestionEpisode, PendingAck, PublishOutItem, SocketCore, SocketHost } from "./SocketCore.js"
import { type InvokeError, invokeFailure, type SetAuthTokenError, setAuthTokenFailure } from "./SocketErrors.js"
import type { AuthState, SocketEvent } from "./SocketEvents.js"
import * as Inbound from "./SocketInbound.js"
import * as Lifecycle from "./SocketLifecycle.js"
import * as PubSub from "./SocketPubSub.js"
import * as Rpc from "./SocketRpc.js"
import * as Writer from "./SocketWriter.js"
import * as Dialect from "./WireDialect.js"

/**
 * The state most sockets never need (server emits with acks, queued packets, congestion,
 * held frames, batches, ...), allocated on the first write of a value other than its
 * default. An idle socket's heap is a headline figure: these 18 fields would cost each
 * socket 144 bytes in the socket object itself.
 */
class ColdState {
  signedAuthToken: string | null = null
  handlers: Map<string, EventHandler> | undefined = undefined
  cid = 1
  pendingAcks: Map<number, PendingAck> | undefined = undefined
  pendingInboundRpcs = 0
  publishesInFlight = 0
  publishBytesInFlight = 0
  inbox: Array<InboundPacket> | undefined = undefined
  inboxSizes: Array<number> | undefined = undefined
  inboxBytes = 0
  congestion: CongestionEpisode | undefined = undefined
  heldByCongestion = false
  replaying = false
  holds = 0
  held: Array<Frame> | undefined = undefined
  batch: Array<object> | undefined = undefined
  publishOutChain: Array<PublishOutItem> | undefined = undefined
  publishOutBusy = false
}

/**
 * A server-side SocketCluster socket (see `SCSocket` for the API).
 */
export class ServerSocket implements SocketCore, SCSocket, WebSocketOwner {
  state: SocketState = "connecting"
  authState: AuthState = "unauthenticated"
  authToken: unknown = null
  bytesReceived = 0

  readonly hub: EventHub<SocketEvent>
  corked = false

  readonly openedAt = Date.now()
  lastSeen = this.openedAt
  nextPing: number
  handshakeReceived = false
  busy = false
  packetBytes = 0
  dialect: Dialect.WireDialect
  private cold: ColdState | undefined = undefined
  private coldState(): ColdState {
    if (this.cold === undefined) this.cold = new ColdState()
    return this.cold
  }

  constructor(
    readonly id: string,
    readonly ws: OwnedWebSocket,
    readonly request: UpgradeRequest,
    readonly host: SocketHost
  ) {
    this.hub = new EventHub(host.listenerThrew)
    // The first ping comes after a random 50–100 % of pingInterval: sockets that connected
    // together (a reconnect storm) would otherwise be pinged, and pong, in one burst
    // every interval forever.
    this.nextPing = this.openedAt + Math.round(host.options.pingInterval * (0.5 + 0.5 * Math.random()))
    this.dialect = Dialect.initialDialect(host.options.protocolVersion, request.url, host.codec() === json)
  }

  // The cold state's fields: read as their defaults until first written.
  get signedAuthToken(): string | null {
    return this.cold === undefined ? null : this.cold.signedAuthToken
  }
  set signedAuthToken(value: string | null) {
    if (this.cold !== undefined || value !== null) this.coldState().signedAuthToken = value
  }
  get handlers(): Map<string, EventHandler> | undefined {
    return this.cold === undefined ? undefined : this.cold.handlers
  }
  set handlers(value: Map<string, EventHandler> | undefined) {
    if (this.cold !== undefined || value !== undefined) this.coldState().handlers = value
  }
  get cid(): number {
    return this.cold === undefined ? 1 : this.cold.cid
  }
  set cid(value: number) {
    if (this.cold !== undefined || value !== 1) this.coldState().cid = value
  }
  get pendingAcks(): Map<number, PendingAck> | undefined {
    return this.cold === undefined ? undefined : this.cold.pendingAcks
  }
  set pendingAcks(value: Map<number, PendingAck> | undefined) {
    if (this.cold !== undefined || value !== undefined) this.coldState().pendingAcks = value
  }
  get pendingInboundRpcs(): number {
    return this.cold === undefined ? 0 : this.cold.pendingInboundRpcs
  }
  set pendingInboundRpcs(value: number) {
    if (this.cold !== undefined || value !== 0) this.coldState().pendingInboundRpcs = value
  }
  get publishesInFlight(): number {
    return this.cold === undefined ? 0 : this.cold.publishesInFlight
  }
  set publishesInFlight(value: number) {
    if (this.cold !== undefined || value !== 0) this.coldState().publishesInFlight = value
  }
  get publishBytesInFlight(): number {
    return this.cold === undefined ? 0 : this.cold.publishBytesInFlight
  }
  set publishBytesInFlight(value: number) {
    if (this.cold !== undefined || value !== 0) this.coldState().publishBytesInFlight = value
  }
  get inbox(): Array<InboundPacket> | undefined {
    return this.cold === undefined ? undefined : this.cold.inbox
  }
  set inbox(value: Array<InboundPacket> | undefined) {
    if (this.cold !== undefined || value !== undefined) this.coldState().inbox = value
  }
  get inboxSizes(): Array<number> | undefined {
    return this.cold === undefined ? undefined : this.cold.inboxSizes
  }
  set inboxSizes(value: Array<number> | undefined) {
    if (this.cold !== undefined || value !== undefined) this.coldState().inboxSizes = value
  }
  get inboxBytes(): number {
    return this.cold === undefined ? 0 : this.cold.inboxBytes
  }
  set inboxBytes(value: number) {
    if (this.cold !== undefined || value !== 0) this.coldState().inboxBytes = value
  }
  get congestion(): CongestionEpisode | undefined {
    return this.cold === undefined ? undefined : this.cold.congestion
  }
  set congestion(value: CongestionEpisode | undefined) {
    if (this.cold !== undefined || value !== undefined) this.coldState().congestion = value
  }
  get heldByCongestion(): boolean {
    return this.cold === undefined ? false : this.cold.heldByCongestion
  }
  set heldByCongestion(value: boolean) {
    if (this.cold !== undefined || value !== false) this.coldState().heldByCongestion = value
  }
  get replaying(): boolean {
    return this.cold === undefined ? false : this.cold.replaying
  }
  set replaying(value: boolean) {
    if (this.cold !== undefined || value !== false) this.coldState().replaying = value
  }
  get holds(): number {
    return this.cold === undefined ? 0 : this.cold.holds
  }
  set holds(value: number) {
    if (this.cold !== undefined || value !== 0) this.coldState().holds = value
  }
  get held(): Array<Frame> | undefined {
    return this.cold === undefined ? undefined : this.cold.held
  }
  set held(value: Array<Frame> | undefined) {
    if (this.cold !== undefined || value !== undefined) this.coldState().held = value
  }
  get batch(): Array<object> | undefined {
    return this.cold === undefined ? undefined : this.cold.batch
  }
  set batch(value: Array<object> | undefined) {
    if (this.cold !== undefined || value !== undefined) this.coldState().batch = value
  }
  get publishOutChain(): Array<PublishOutItem> | undefined {
    return this.cold === undefined ? undefined : this.cold.publishOutChain
  }
  set publishOutChain(value: Array<PublishOutItem> | undefined) {
    if (this.cold !== undefined || value !== undefined) this.coldState().publishOutChain = value
  }
  get publishOutBusy(): boolean {
    return this.cold === undefined ? false : this.cold.publishOutBusy
  }
  set publishOutBusy(value: boolean) {
    if (this.cold !== undefined || value !== false) this.coldState().publishOutBusy = value
  }

  get protocolVersion(): Dialect.ProtocolVersion | null {
    return this.dialect.version
  }
  get remoteAddress(): string | undefined {
    return this.request.socket.remoteAddress
  }
  get remotePort(): number | undefined {
    return this.request.socket.remotePort
  }
  get remoteFamily(): string | undefined {
    return this.request.socket.remoteFamily
  }
  get channels(): ReadonlySet<string> {
    return this.host.channelsOf(this)
  }
  getState(): SocketState {
    return this.state
  }
  isClosed(): boolean {
    return this.state === "closed"
  }
  getAuthToken(): unknown {
    return this.authToken
  }
  subscriptions(): ReadonlyArray<string> {
    return Array.from(this.channels)
  }
  isSubscribed(channel: string): boolean {
    return this.channels.has(channel)
  }
  get events(): Stream.Stream<SocketEvent> {
    return this.hub.stream()
  }

  // The server's side ----------------------------------------------------------------

  /** Called by the transport once the WebSocket is open: wires its events to the inbound path and the close sequence. */
  start(): void {
    own(this.ws, this)
  }

  /** @internal The WebSocket's `message` event. */
  onWsMessage(data: Buffer, isBinary: boolean): void {
    Inbound.onMessage(this, data, isBinary)
  }

  /** @internal The WebSocket's `close` event. */
  onWsClose(code: number, reason: Buffer): void {
    // A client that hangs up after its pong deadline timed out: v14's per-socket timer
    // would already have fired, the sweep only notices at its next tick.
    if (Lifecycle.pongOverdue(this, Date.now())) return this.closeUnsafe(4001, undefined, false)
    this.closeUnsafe(
      code === 1005 && this.state !== "closed" ? 1005 : code,
      reason.length > 0 ? reason.toString() : undefined,
      false
    )
  }

  /** @internal The WebSocket's `error` event. */
  onWsError(error: Error): void {
    this.emitError(error)
  }

  /** Called by the server's heartbeat sweep. */
  heartbeat(now: number): void {
    Lifecycle.heartbeat(this, now)
  }

  /** Flushes corked writes (the server's end-of-turn uncork). */
  flush(): void {
    Writer.flush(this)
  }

  /** Delivers a publication (called by the channel registry's fan-out). */
  deliver(channel: string, data: unknown, frame: () => Frame | undefined): void {
    PubSub.deliver(this, channel, data, frame)
  }

  // Synchronous actions ----------------------------------------------------------------

  closeUnsafe(code: number, data: unknown, closeWs: boolean): void {
    Lifecycle.closeUnsafe(this, code, data, closeWs)
  }
  disconnectUnsafe(code: unknown = 1000, data?: unknown): void {
    Lifecycle.disconnectUnsafe(this, code, data)
  }
  terminateUnsafe(): void {
    this.ws.terminate()
  }
  emitUnsafe(
    event: string,
    data: unknown,
    callback?: (error: unknown, data: unknown) => void,
    invoke = false
  ): number | undefined {
    return Rpc.emitUnsafe(this, event, data, callback, invoke)
  }
  sendUnsafe(data: string | Uint8Array): void {
    Writer.writeFrame(this, data)
  }
  setAuthTokenUnsafe(
    data: unknown,
    options?: SignOptions & { readonly algorithm?: unknown },
    callback?: (error: unknown) => void,
    onWritten?: (error: unknown) => void
  ): void {
    Auth.setAuthTokenUnsafe(this, data, options, callback, onWritten)
  }
  deauthenticateUnsafe(callback?: (error: unknown) => void): void {
    Auth.deauthenticateUnsafe(this, callback)
  }
  deauthenticateSelf(): void {
    Auth.deauthenticateSelf(this)
  }
  kickOutUnsafe(channel?: string, message?: unknown): void {
    PubSub.kickOutUnsafe(this, channel, message)
  }
  emitError(error: unknown): void {
    this.host.relay(this, { _tag: "Error", error })
  }

  // Effect API -------------------------------------------------------------------------

  emit(event: string, data?: unknown): Effect.Effect<void> {
    return Effect.sync(() => this.emitUnsafe(event, data))
  }

  invoke(event: string, data?: unknown): Effect.Effect<unknown, InvokeError> {
    return Effect.callback<unknown, InvokeError>((resume) => {
      const cid = this.emitUnsafe(
        event,
        data,
        (error, response) => {
          resume(error === null || error === undefined ? Effect.succeed(response) : invokeFailure(error))
        },
        true
      )
      if (cid !== undefined) return Effect.sync(() => Rpc.cancelAck(this, cid))
    })
  }

  send(data: string | Uint8Array): Effect.Effect<void> {
    return Effect.sync(() => this.sendUnsafe(data))
  }

  disconnect(code?: number, data?: unknown): Effect.Effect<void> {
    return Effect.sync(() => this.disconnectUnsafe(code, data))
  }

  setAuthToken(data: unknown, options?: SignOptions): Effect.Effect<void, SetAuthTokenError> {
    return Effect.callback<void, SetAuthTokenError>((resume) => {
      this.setAuthTokenUnsafe(data, options, undefined, (error) => {
        resume(error === undefined ? Effect.void : setAuthTokenFailure(error))
      })
    })
  }

  get deauthenticate(): Effect.Effect<void> {
    return Effect.sync(() => this.deauthenticateUnsafe())
  }

  kickOut(channel?: string, message?: unknown): Effect.Effect<void> {
    return Effect.sync(() => this.kickOutUnsafe(channel, message))
  }

  handle(event: string, handler: EventHandler): Effect.Effect<void> {
    return Effect.sync(() => {
      if (this.handlers === undefined) this.handlers = new Map()
      this.handlers.set(event, handler)
    })
  }
}
