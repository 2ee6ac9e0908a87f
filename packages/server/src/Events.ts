/**
 * Server and socket events as tagged unions (v14's event names and arguments).
 */
import type { BrokerNotice } from "./Broker.js"
import type { SCSocket } from "./SCSocket.js"
import type { AuthStateChange, BadAuthToken, HandshakeStatus } from "./SocketEvents.js"

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
