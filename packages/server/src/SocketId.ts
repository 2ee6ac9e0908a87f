/**
 * Socket ids in v14's format (base64id): 20 characters of `[A-Za-z0-9_-]`, random
 * bytes followed by a per-process counter, so ids are unique within a process even if
 * the random part repeats.
 */
import { randomBytes } from "node:crypto"

let counter = 0

/** A new socket id, e.g. `lsM2VVtp8vaH_4xgAAAA`. */
export const generateId = (): string => {
  const n = counter
  counter = (counter + 1) % 0x1000000
  const tail = Buffer.from([(n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff]).toString("base64url")
  return randomBytes(12).toString("base64url") + tail
}
