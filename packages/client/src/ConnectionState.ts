/**
 * The states a client connection goes through, as seen on `SCClient.state`.
 *
 * @since 0.1.0
 */
import type { ServerError } from "./ClientError.js"

/**
 * - `Connecting`: a WebSocket is being opened and the handshake sent (`attempt` counts
 *   from 1 after every drop).
 * - `Open`: the handshake succeeded; `id` is the server's socket id.
 * - `Closed`: the connection ended with `code`/`reason`; `reconnecting` says whether the
 *   client will try again (`false` is final).
 *
 * @since 0.1.0
 */
export type ConnectionState =
  | { readonly _tag: "Connecting"; readonly attempt: number }
  | {
      readonly _tag: "Open"
      readonly id: string
      readonly pingTimeout: number
      readonly isAuthenticated: boolean
      /** Why the token offered in the handshake was refused, if it was. */
      readonly authError: ServerError | undefined
    }
  | { readonly _tag: "Closed"; readonly code: number; readonly reason: string; readonly reconnecting: boolean }

/**
 * The client's authentication as last told by the server.
 *
 * @since 0.1.0
 */
export type AuthState =
  | { readonly _tag: "Unauthenticated" }
  | {
      readonly _tag: "Authenticated"
      /** The signed JWT, as stored in the token store. */
      readonly signedToken: string
      /** The token's payload (decoded, not verified: the server verifies). */
      readonly token: unknown
    }
