/**
 * Socket ids in v14's format (base64id): 20 characters of `[A-Za-z0-9_-]`, random
 * bytes followed by a per-process counter, so ids are unique within a process even if
 * the random part repeats.
 */
import { randomBytes } from "node:crypto"

let counter = 0
// Random bytes are drawn 256 ids at a time: one system call per 256 handshakes.
const POOL_IDS = 256
let pool = Buffer.alloc(0)
let offset = 0

/** A new socket id, e.g. `lsM2VVtp8vaH_4xgAAAA`. */
export const generateId = (): string => {
  if (offset >= pool.length) {
    pool = randomBytes(15 * POOL_IDS)
    offset = 0
  }
  const n = counter
  counter = (counter + 1) % 0x1000000
  pool[offset + 12] = (n >>> 16) & 0xff
  pool[offset + 13] = (n >>> 8) & 0xff
  pool[offset + 14] = n & 0xff
  const id = pool.toString("base64url", offset, offset + 15)
  offset += 15
  return id
}
