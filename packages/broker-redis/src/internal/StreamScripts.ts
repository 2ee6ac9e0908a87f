/**
 * Channel history in Redis: one Redis Stream per channel plus a small hash holding the
 * channel's top offset and epoch, changed only by the Lua scripts here, so that an
 * append, its offset and its pub/sub announcement are one atomic step.
 *
 * Keys, all with the channel as their cluster hash tag (one slot per channel, so a
 * script touches one shard and SPUBLISH in it stays legal):
 * - `<prefix>s:{<channel>}`: the stream; entries hold `o` (offset) and `d` (payload).
 * - `<prefix>m:{<channel>}`: the meta hash; `o` is the top offset, `e` the epoch.
 * - `<prefix>{<channel>}`: the shard channel in cluster mode (plain mode keeps `<prefix><channel>`).
 *
 * The epoch is made by Redis (its clock, to the microsecond) when the meta hash is
 * created; a Redis that lost its data makes a new one with the next publication.
 * Offsets go up by one per publication, so the newest `top - n` entries of the stream
 * are exactly the publications after offset `n`: a read needs no offset-to-ID index.
 */
import { createHash } from "node:crypto"
import type { History } from "@effect-socketcluster/server"

/** The Redis keys of one channel's history. */
export const streamKey = (prefix: string, channel: string): string => `${prefix}s:{${channel}}`
export const metaKey = (prefix: string, channel: string): string => `${prefix}m:{${channel}}`

export interface Script {
  readonly source: string
  readonly sha: string
}

const script = (source: string): Script => ({ source, sha: createHash("sha1").update(source).digest("hex") })

/**
 * KEYS: stream, meta. ARGV: pub/sub channel, payload, max length, max age in ms (0: none),
 * meta TTL in ms, "PUBLISH" or "SPUBLISH". Returns the offset. The announcement is
 * `<offset>:<epoch>:<payload>`.
 */
export const append = script(`
local offset = redis.call('HINCRBY', KEYS[2], 'o', 1)
local epoch = redis.call('HGET', KEYS[2], 'e')
local age = tonumber(ARGV[4])
local t
if not epoch or age > 0 then t = redis.call('TIME') end
if not epoch then
  epoch = t[1] .. '.' .. t[2]
  redis.call('HSET', KEYS[2], 'e', epoch)
  redis.call('DEL', KEYS[1])
end
redis.call('XADD', KEYS[1], 'MAXLEN', ARGV[3], '*', 'o', offset, 'd', ARGV[2])
if age > 0 then
  redis.call('XTRIM', KEYS[1], 'MINID', tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) - age)
  redis.call('PEXPIRE', KEYS[1], age)
end
redis.call('PEXPIRE', KEYS[2], ARGV[5])
redis.call(ARGV[6], ARGV[1], offset .. ':' .. epoch .. ':' .. ARGV[2])
return offset
`)

/** The ARGV of {@link append} for one publication. */
export const appendArgs = (
  policy: History.ResolvedPolicy,
  announceOn: string,
  payload: string,
  metaTtlMs: string,
  command: "PUBLISH" | "SPUBLISH"
): ReadonlyArray<string> => [announceOn, payload, String(policy.length), String(policy.ageMs ?? 0), metaTtlMs, command]

/**
 * KEYS: stream, meta. ARGV: offset and epoch of the reader. Returns
 * `[top, epoch, entries]` with the entries after the reader's offset (the whole stream
 * when the epoch differs), newest first.
 */
export const read = script(`
local meta = redis.call('HMGET', KEYS[2], 'o', 'e')
local top = tonumber(meta[1]) or 0
local epoch = meta[2] or ''
local want = top - tonumber(ARGV[1])
if epoch ~= ARGV[2] then want = top end
if want <= 0 then return {top, epoch, {}} end
return {top, epoch, redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', want)}
`)

/** Splits an announcement into offset, epoch and payload; undefined for a plain (history-off) message. */
export const parseAnnouncement = (
  message: string
): { readonly offset: number; readonly epoch: string; readonly payload: string } | undefined => {
  const first = message.charCodeAt(0)
  // Payloads start with "J", "B" or nothing (see Payload); announcements with a digit.
  if (!(first >= 48 && first <= 57)) return undefined
  const a = message.indexOf(":")
  const b = a < 0 ? -1 : message.indexOf(":", a + 1)
  if (b < 0) return undefined
  return { offset: Number(message.slice(0, a)), epoch: message.slice(a + 1, b), payload: message.slice(b + 1) }
}

const isArray = (value: unknown): value is ReadonlyArray<unknown> => Array.isArray(value)

const text = (value: unknown): string =>
  typeof value === "string" ? value : Buffer.isBuffer(value) ? value.toString() : String(value)

/**
 * The reply of {@link read} as the stream's position and its entries, oldest first,
 * each made by `entry` from its offset and payload.
 */
export const parseRead = (
  reply: unknown,
  entry: (offset: number, payload: string) => History.HistoricPublication
): { readonly top: History.StreamPosition; readonly retained: ReadonlyArray<History.HistoricPublication> } => {
  if (!isArray(reply) || reply.length !== 3) throw new TypeError("unexpected history reply")
  const top = { offset: Number(reply[0]), epoch: text(reply[1]) }
  const entries = reply[2]
  const retained: Array<History.HistoricPublication> = []
  if (isArray(entries)) {
    for (let i = entries.length - 1; i >= 0; i--) {
      const item = entries[i]
      if (!isArray(item)) continue
      const fields = fieldsOf(item[1])
      retained.push(entry(Number(fields.get("o")), fields.get("d") ?? ""))
    }
  }
  return { top, retained }
}

// RESP2 gives a flat [field, value, ...] list, RESP3 may give a map.
const fieldsOf = (value: unknown): Map<string, string> => {
  const out = new Map<string, string>()
  if (isArray(value)) {
    for (let i = 0; i + 1 < value.length; i += 2) out.set(text(value[i]), text(value[i + 1]))
  } else if (value instanceof Map) {
    for (const [k, v] of value) out.set(text(k), text(v))
  } else if (typeof value === "object" && value !== null) {
    for (const [k, v] of Object.entries(value)) out.set(k, text(v))
  }
  return out
}

/** Whether a command failed because Redis does not have the script cached (EVALSHA). */
export const isNoScript = (error: unknown): boolean => error instanceof Error && error.message.startsWith("NOSCRIPT")
