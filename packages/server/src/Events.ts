/**
 * Server and socket events as tagged unions (v14's event names and arguments).
 */
import type { BrokerNotice } from "./Broker.js"
import type { EventHub } from "./EventHub.js"
import type { SCSocket } from "./SCSocket.js"
import type { AuthStateChange, BadAuthToken, HandshakeStatus, SocketEvent } from "./SocketEvents.js"

export type {
  AuthState,
  AuthStateChange,
  BadAuthToken,
  HandshakeStatus,
  Respond,
  SocketEvent
} from "./SocketEvents.js"

/** Every SCServer event of v14, plus `ready`, `warning`, `error` and `notice`. */
export type ServerEvent =
  | { readonly _tag: "Ready" }
  | { readonly _tag: "Error"; readonly error: unknown }
  | { readonly _tag: "Warning"; readonly error: unknown }
  | { readonly _tag: "Notice"; readonly notice: BrokerNotice }
  | { readonly _tag: "Handshake"; readonly socket: SCSocket }
  | { readonly _tag: "Connection"; readonly socket: SCSocket; readonly status: HandshakeStatus }
  | { readonly _tag: "ConnectionAbort"; readonly socket: SCSocket; readonly code: number; readonly data: unknown }
  | { readonly _tag: "Disconnection"; readonly socket: SCSocket; readonly code: number; readonly data: unknown }
  | { readonly _tag: "Closure"; readonly socket: SCSocket; readonly code: number; readonly data: unknown }
  | {
      readonly _tag: "Subscription"
      readonly socket: SCSocket
      readonly channel: string
      readonly options: Readonly<Record<string, unknown>>
    }
  | { readonly _tag: "Unsubscription"; readonly socket: SCSocket; readonly channel: string }
  | { readonly _tag: "Authentication"; readonly socket: SCSocket; readonly authToken: unknown }
  | { readonly _tag: "Deauthentication"; readonly socket: SCSocket; readonly oldAuthToken: unknown }
  | { readonly _tag: "AuthenticationStateChange"; readonly socket: SCSocket; readonly change: AuthStateChange }
  | { readonly _tag: "BadSocketAuthToken"; readonly socket: SCSocket; readonly info: BadAuthToken }
  /**
   * A subscriber fell behind for `slowConsumerTimeout` (`Stalled`: from now on the
   * slow-consumer policy applies to it), then drained its buffer (`CaughtUp`) or closed
   * (`Closed`); `dropped` counts the publications it did not get meanwhile.
   */
  | {
      readonly _tag: "SlowConsumer"
      readonly socket: SCSocket
      readonly phase: "Stalled" | "CaughtUp" | "Closed"
      readonly dropped: number
    }

/**
 * Emits a socket's event on the socket's hub and, where v14 has one, the server's event
 * for it on the server's hub, in v14's order: the server hears of a disconnect or an
 * aborted connection first (`disconnection`/`connectionAbort`, then `closure`), of
 * everything else after the socket. The one place socket events are emitted; a server
 * event is built only when somebody listens to its kind.
 */
export const relay = (server: EventHub<ServerEvent>, socket: SCSocket, event: SocketEvent): void => {
  switch (event._tag) {
    case "Disconnect":
    case "ConnectAbort": {
      const { code, data } = event
      if (event._tag === "Disconnect") {
        if (server.listens("Disconnection")) server.emit({ _tag: "Disconnection", socket, code, data })
      } else if (server.listens("ConnectionAbort")) server.emit({ _tag: "ConnectionAbort", socket, code, data })
      if (server.listens("Closure")) server.emit({ _tag: "Closure", socket, code, data })
      socket.hub.emit(event)
      return
    }
  }
  socket.hub.emit(event)
  const kind = serverKindOf[event._tag]
  if (kind === undefined || !server.listens(kind)) return
  const serverEvent = serverEventOf(socket, event)
  if (serverEvent !== undefined) server.emit(serverEvent)
}

// The kind of the server event `serverEventOf` builds for each socket event (the two
// server events of a disconnect or an aborted connection are checked in `relay`).
const serverKindOf: { readonly [K in SocketEvent["_tag"]]: ServerEvent["_tag"] | undefined } = {
  Error: "Warning",
  Connect: "Connection",
  Subscribe: "Subscription",
  Unsubscribe: "Unsubscription",
  Authenticate: "Authentication",
  Deauthenticate: "Deauthentication",
  AuthStateChange: "AuthenticationStateChange",
  BadAuthToken: "BadSocketAuthToken",
  SlowConsumer: "SlowConsumer",
  Disconnect: undefined,
  ConnectAbort: undefined,
  Close: undefined,
  Message: undefined,
  Raw: undefined,
  ProtocolVersion: undefined,
  AuthTokenSigned: undefined,
  Event: undefined
}

const serverEventOf = (socket: SCSocket, event: SocketEvent): ServerEvent | undefined => {
  switch (event._tag) {
    case "Error":
      return { _tag: "Warning", error: event.error }
    case "Connect":
      // The same status object as the socket's `connect` (v14).
      return { _tag: "Connection", socket, status: event.status }
    case "Subscribe":
      return { _tag: "Subscription", socket, channel: event.channel, options: event.options }
    case "Unsubscribe":
      return { _tag: "Unsubscription", socket, channel: event.channel }
    case "Authenticate":
      return { _tag: "Authentication", socket, authToken: event.authToken }
    case "Deauthenticate":
      return { _tag: "Deauthentication", socket, oldAuthToken: event.oldAuthToken }
    case "AuthStateChange":
      return { _tag: "AuthenticationStateChange", socket, change: event.change }
    case "BadAuthToken":
      return { _tag: "BadSocketAuthToken", socket, info: event.info }
    case "SlowConsumer":
      return { _tag: "SlowConsumer", socket, phase: event.phase, dropped: event.dropped }
    default:
      return undefined
  }
}
