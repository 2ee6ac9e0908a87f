/**
 * The worker↔broker wire (a Unix domain socket per broker): one JSON value per line.
 * Internal to the framework (spec §1.3 lets a replacement choose it); values crossing it
 * keep JSON semantics.
 */
import type * as Net from "node:net"
import type { DataCommand as DataCommands } from "@effect-socketcluster/server"

type DataCommand = DataCommands.DataCommand

/** A worker's request; every one is answered with a {@link Response} of the same `id` (unless `noAck`). */
export type Request =
  | { readonly id: number; readonly action: "init"; readonly secretKey: string }
  | { readonly id: number; readonly action: "subscribe"; readonly channel: string }
  | { readonly id: number; readonly action: "unsubscribe"; readonly channel: string }
  | { readonly id: number; readonly action: "publish"; readonly channel: string; readonly data: unknown }
  | { readonly id: number; readonly action: "data"; readonly command: DataCommand }
  | { readonly id: number; readonly action: "exec"; readonly source: string; readonly noAck?: boolean }
  | { readonly id: number; readonly action: "send"; readonly data: unknown }

export type Response =
  | {
      readonly type: "response"
      readonly id: number
      readonly value?: unknown /** A dehydrated error (protocol `dehydrate`). */
      readonly error?: unknown
    }
  | { readonly type: "publish"; readonly channel: string; readonly data: unknown }

/** Writes one value as a line. */
export const write = (socket: Net.Socket, value: Request | Response): void => {
  socket.write(`${JSON.stringify(value)}\n`)
}

/** Calls `onValue` for each complete line received on `socket`; a malformed line goes to `onBad`. */
export const readLines = (
  socket: Net.Socket,
  onValue: (value: unknown) => void,
  onBad: (line: string) => void
): void => {
  let pending = ""
  socket.setEncoding("utf8")
  socket.on("data", (chunk: string) => {
    pending += chunk
    let nl = pending.indexOf("\n")
    while (nl >= 0) {
      const line = pending.slice(0, nl)
      pending = pending.slice(nl + 1)
      if (line.length > 0) {
        let value: unknown
        let ok = true
        try {
          value = JSON.parse(line)
        } catch {
          ok = false
        }
        if (ok) onValue(value)
        else onBad(line)
      }
      nl = pending.indexOf("\n")
    }
  })
}
