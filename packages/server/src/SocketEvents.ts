/**
 * A socket's own events as a tagged union (v14's SCServerSocket event names and
 * arguments), and the values they carry. The server's events are in `Events`.
 */
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
  /** This socket fell behind as a subscriber (see the server's `SlowConsumer` event). */
  | { readonly _tag: "SlowConsumer"; readonly phase: "Stalled" | "CaughtUp" | "Closed"; readonly dropped: number }
  | { readonly _tag: "Event"; readonly event: string; readonly data: unknown; readonly respond: Respond }
