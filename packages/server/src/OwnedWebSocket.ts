/**
 * The WebSocket class the server's `WebSocketServer` makes (its `WebSocket` option): a
 * `ws` WebSocket that knows the socket it serves, so its `message`, `close` and `error`
 * listeners are three functions shared by every connection, where three closures (and
 * the context they share) per connection cost each idle socket about 200 bytes of heap.
 */
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
