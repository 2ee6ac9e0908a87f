/**
 * The WebSocket class the server's `WebSocketServer` makes (its `WebSocket` option): a
 * `ws` WebSocket that knows the socket it serves, so its `message`, `close` and `error`
 * listeners are three functions shared by every connection, where three closures (and
 * the context they share) per connection cost each idle socket about 200 bytes of heap.
 * It is also the one place that reaches into `ws`'s internals (`tcpSocket`).
 */
import type { Socket } from "node:net"
import { type Server, WebSocket } from "ws"

/** What receives a WebSocket's events. */
export interface WebSocketOwner {
  onWsMessage(data: Buffer, isBinary: boolean): void
  onWsClose(code: number, reason: Buffer): void
  onWsError(error: Error): void
}

/** A `ws` WebSocket with the socket it serves. */
export class OwnedWebSocket extends WebSocket {
  owner: WebSocketOwner | undefined = undefined

  // ws keeps the upgraded TCP socket in `_socket` (set by `setSocket`, not in its type
  // declarations). Declared here, type only, so that nothing else casts to reach it.
  // CHECK ON EVERY ws UPGRADE that it is still there: Frame.test.ts asserts it, and without
  // it writes are no longer corked or pre-framed and congestion never starts.
  declare private readonly _socket: Socket | null | undefined

  /**
   * The TCP socket under this WebSocket (undefined before the upgrade set it): the writer
   * corks it and writes pre-framed publications to it, congestion waits for its `drain`.
   */
  get tcpSocket(): Socket | undefined {
    return this._socket ?? undefined
  }
}

/** The server's `ws` server: it makes `OwnedWebSocket`s. */
export type OwnedWebSocketServer = Server<typeof OwnedWebSocket>

// `ws` calls its listeners with the WebSocket as `this`.
const ownerOf = (ws: WebSocket): WebSocketOwner | undefined => (ws instanceof OwnedWebSocket ? ws.owner : undefined)
function onMessage(this: WebSocket, data: Buffer, isBinary: boolean): void {
  ownerOf(this)?.onWsMessage(data, isBinary)
}
function onClose(this: WebSocket, code: number, reason: Buffer): void {
  ownerOf(this)?.onWsClose(code, reason)
}
function onError(this: WebSocket, error: Error): void {
  ownerOf(this)?.onWsError(error)
}

/** Hands the events of `ws` to `owner`. */
export const own = (ws: OwnedWebSocket, owner: WebSocketOwner): void => {
  ws.owner = owner
  ws.on("message", onMessage)
  ws.on("close", onClose)
  ws.on("error", onError)
}
