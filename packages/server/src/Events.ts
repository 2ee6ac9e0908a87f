/**
 * Server and socket events as tagged unions (v14's event names and arguments).
 */
import type { BrokerNotice } from "./Broker.js"
import type { SCSocket } from "./SCSocket.js"
import type { ProtocolVersion } from "./WireDialect.js"

export type AuthState = "authenticated" | "unauthenticated"

/** The handshake status object (`connect` / `connection` events and the handshake answer). */
export interface HandshakeStatus {
  readonly id: string
  readonly pingTimeout: number
  readonly authError?: unknown
  readonly isAuthenticated: boolean
}

export interface AuthStateChange {
  readonly oldState: AuthState
  readonly newState: AuthState
  readonly authToken?: unknown
}

export interface BadAuthToken {
  readonly authError: unknown
  readonly signedAuthToken: unknown
}

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

/** Answers an inbound event that carried a cid (a no-op without one). */
export type Respond = (error: unknown, data?: unknown) => void

/** Every SCServerSocket event of v14. */
export type SocketEvent =
  | { readonly _tag: "Connect"; readonly status: HandshakeStatus }
  | { readonly _tag: "ConnectAbort"; readonly code: number; readonly data: unknown }
  | { readonly _tag: "Disconnect"; readonly code: number; readonly data: unknown }
  | { readonly _tag: "Close"; readonly code: number; readonly data: unknown }
  | { readonly _tag: "Error"; readonly error: unknown }
  | { readonly _tag: "Message"; readonly message: string | Buffer }
  | { readonly _tag: "Raw"; readonly message: string | Buffer }
  /** The connection's protocol became known (its first pong, or the binary-codec probe ran out). */
  | { readonly _tag: "ProtocolVersion"; readonly version: ProtocolVersion }
  | { readonly _tag: "Subscribe"; readonly channel: string; readonly options: Readonly<Record<string, unknown>> }
  | { readonly _tag: "Unsubscribe"; readonly channel: string }
  | { readonly _tag: "Authenticate"; readonly authToken: unknown }
  | { readonly _tag: "Deauthenticate"; readonly oldAuthToken: unknown }
  | { readonly _tag: "AuthStateChange"; readonly change: AuthStateChange }
  | { readonly _tag: "AuthTokenSigned"; readonly signedAuthToken: string }
  | { readonly _tag: "BadAuthToken"; readonly info: BadAuthToken }
  | { readonly _tag: "Event"; readonly event: string; readonly data: unknown; readonly respond: Respond }
