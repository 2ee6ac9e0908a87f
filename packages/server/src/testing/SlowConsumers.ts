/**
 * Helpers for tests of back-pressure and slow consumers with real clients: the TCP socket
 * under a `socketcluster-client` (pause it and the client stops reading, as a stalled
 * subscriber does), and the `SlowConsumer` events a server emitted, with a wait until
 * the episodes that ended account for a number of dropped publications.
 *
 * @example
 * ```ts
 * import { clientTcpSocket, droppedReported } from "@effect-socketcluster/server/testing"
 * clientTcpSocket(client).pause()
 * // ... flood its channel, then:
 * clientTcpSocket(client).resume()
 * yield* droppedReported(server, events, server.counters.droppedPublications)
 * ```
 */
import type { Socket } from "node:net"
import * as Effect from "effect/Effect"
import type { ServerEvent } from "../Events.js"

/** The TCP socket under a connected client-side `ws` WebSocket (ws keeps it in `_socket`). */
export const wsTcpSocket = (ws: object): Socket => {
  const tcp: unknown = Reflect.get(ws, "_socket")
  if (typeof tcp !== "object" || tcp === null || !("pause" in tcp))
    throw new Error("no TCP socket under this WebSocket")
  return tcp as Socket
}

/** The TCP socket of a `socketcluster-client` (v14 to v20) connected over `ws` in Node. */
export const clientTcpSocket = (client: object): Socket => {
  const transport: unknown = Reflect.get(client, "transport")
  const ws: unknown = typeof transport === "object" && transport !== null ? Reflect.get(transport, "socket") : undefined
  if (typeof ws !== "object" || ws === null) throw new Error("no WebSocket under this client")
  return wsTcpSocket(ws)
}

/** One `SlowConsumer` event, reduced to what tests compare. */
export interface SlowConsumerReport {
  readonly id: string
  readonly phase: "Stalled" | "CaughtUp" | "Closed"
  readonly dropped: number
}

/** The `SlowConsumer` events among `events`, in order. */
export const slowConsumerEvents = (events: ReadonlyArray<ServerEvent>): Array<SlowConsumerReport> =>
  events.flatMap((e) => (e._tag === "SlowConsumer" ? [{ id: e.socket.id, phase: e.phase, dropped: e.dropped }] : []))

/** The publications dropped in the episodes that ended (`CaughtUp` or `Closed`). */
export const droppedInEndedEpisodes = (events: ReadonlyArray<ServerEvent>): number =>
  slowConsumerEvents(events).reduce((sum, e) => (e.phase === "Stalled" ? sum : sum + e.dropped), 0)

/**
 * Waits until the episodes that ended report at least `dropped` publications (an episode
 * ends once its socket drained, so this waits for that); `events` must be filled by a
 * listener on the same hub. Resolves with the total reported.
 */
export const droppedReported = (
  server: { readonly hub: { listen(listener: (event: ServerEvent) => void): () => void } },
  events: ReadonlyArray<ServerEvent>,
  dropped: number
): Effect.Effect<number> =>
  Effect.callback<number>((resume) => {
    if (droppedInEndedEpisodes(events) >= dropped) return resume(Effect.succeed(droppedInEndedEpisodes(events)))
    const stop = server.hub.listen(() => {
      if (droppedInEndedEpisodes(events) < dropped) return
      stop()
      resume(Effect.succeed(droppedInEndedEpisodes(events)))
    })
  })
