/**
 * How the CLI's modules register RPC handlers: `server.handle` with the handler timed
 * into the `rpc_duration_ms` histogram.
 */
import type { SCSocket } from "@effect-socketcluster/server"
import type * as Effect from "effect/Effect"

/** Registers a server-wide handler for `event`. */
export type Handle = (
  event: string,
  handler: (data: unknown, socket: SCSocket.SCSocket) => Effect.Effect<unknown, unknown>
) => Effect.Effect<void>
