/**
 * One copy of the upgrade-request values that most connections share. Every socket keeps
 * its upgrade request (`socket.request`, as in v14), so with thousands of sockets the
 * same `host`, `upgrade`, `user-agent`, request URL, ... would otherwise be held once per
 * socket: about 150 bytes of each idle socket's heap with the lean benchmark client,
 * more with a browser's headers. Only headers that are commonly the same for every
 * client are looked up; values unique to a connection (the WebSocket key, cookies,
 * authorization) are left alone, and the table stops growing at `maxEntries`, so clients
 * that send a new value each time cannot grow it.
 */
import type { IncomingHttpHeaders } from "node:http"

/** Headers whose values most connections of one server share. */
const sharedNames = [
  "host",
  "upgrade",
  "connection",
  "sec-websocket-version",
  "sec-websocket-extensions",
  "sec-websocket-protocol",
  "origin",
  "user-agent",
  "accept-encoding",
  "accept-language",
  "cache-control",
  "pragma"
] as const

/** At most this many values are kept (a few hundred KiB at most). */
export const maxEntries = 1024
const maxLength = 256

const table = new Map<string, string>()

/** The shared copy of `value` (added while the table has room). */
export const shared = (value: string): string => {
  const known = table.get(value)
  if (known !== undefined) return known
  if (table.size < maxEntries && value.length <= maxLength) table.set(value, value)
  return value
}

/** Replaces, in place, the values of the commonly shared headers by their shared copies. */
export const shareHeaderValues = (headers: IncomingHttpHeaders): IncomingHttpHeaders => {
  for (const name of sharedNames) {
    const value = headers[name]
    if (typeof value === "string") headers[name] = shared(value)
  }
  return headers
}

/** @internal The number of values held (tests). */
export const sharedCount = (): number => table.size
