/**
 * Publication data as text, for brokers that carry or keep it outside the JS heap (Redis
 * messages and streams, the memory broker's history): a UTF-8 string whose first
 * character says how to read the rest.
 *
 * - `""` (empty): `undefined` (a v14 publish without data).
 * - `"J" + JSON`: data without binary parts: plain `JSON.parse` on the way back.
 * - `"B" + JSON`: data holding Node Buffers or ArrayBuffers. Each one is written as
 *   `{"\u0000b": base64}` (Buffer) or `{"\u0000a": base64}` (ArrayBuffer); object keys
 *   that already start with `\u0000` get one more, so the markers are unambiguous, and
 *   decoding restores Buffers and ArrayBuffers exactly.
 *
 * Why not the SocketCluster wire form (`{base64:true,data}`)? That form cannot be told
 * apart from a user object of the same shape, so the receiving process could not turn it
 * back into bytes: exchange watchers would see objects where the memory broker gives them
 * Buffers. With this scheme a publication through Redis arrives as the same value the
 * memory broker hands over live, and sockets get the same frames (the server's codec
 * writes those Buffers as `{base64:true,data}` when it fans out).
 *
 * As with `JSON.stringify`, `toJSON` runs (Dates become strings) and functions, symbols
 * and `undefined` inside objects are dropped; BigInts and cycles throw.
 */

const bufferKey = "\u0000b"
const arrayBufferKey = "\u0000a"
const escapeChar = "\u0000"

/** Deeper than this the scan stops and the (always correct) binary path is taken. */
const maxScanDepth = 32

const isBuffer = (value: unknown): value is Buffer => Buffer.isBuffer(value)

// Conservative: `true` for anything that might hold binary or an escapable key.
const mayNeedBinaryPath = (value: unknown, depth: number): boolean => {
  if (typeof value !== "object" || value === null) return false
  if (depth > maxScanDepth) return true
  if (isBuffer(value) || value instanceof ArrayBuffer) return true
  if (Array.isArray(value)) {
    for (const item of value) if (mayNeedBinaryPath(item, depth + 1)) return true
    return false
  }
  if ("toJSON" in value && typeof value.toJSON === "function") return true
  // What the server's codec rewrites as binary (see `isBufferJson` there): never "J", so a "J" text is the codec's JSON too.
  if ("type" in value && value.type === "Buffer" && "data" in value && Array.isArray(value.data)) return true
  for (const key in value) {
    if (key.startsWith(escapeChar)) return true
    if (mayNeedBinaryPath((value as Record<string, unknown>)[key], depth + 1)) return true
  }
  return false
}

const hasEscapableKey = (value: object): boolean => {
  for (const key in value) if (key.startsWith(escapeChar)) return true
  return false
}

function binaryReplacer(this: unknown, key: string, value: unknown): unknown {
  // `value` has been through toJSON already (a Buffer arrives as {type,data}); the holder still has the original.
  const original: unknown = typeof this === "object" && this !== null ? Reflect.get(this, key) : value
  if (isBuffer(original)) return { [bufferKey]: original.toString("base64") }
  if (original instanceof ArrayBuffer) return { [arrayBufferKey]: Buffer.from(original).toString("base64") }
  if (typeof value === "object" && value !== null && !Array.isArray(value) && hasEscapableKey(value)) {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [k.startsWith(escapeChar) ? escapeChar + k : k, v] as const)
    )
  }
  return value
}

const binaryReviver = (_key: string, value: unknown): unknown => {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return value
  const keys = Object.keys(value)
  if (keys.length === 1) {
    const only = keys[0]
    const content: unknown = Reflect.get(value, only ?? "")
    if (only === bufferKey && typeof content === "string") return Buffer.from(content, "base64")
    if (only === arrayBufferKey && typeof content === "string") {
      const bytes = Buffer.from(content, "base64")
      return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength)
    }
  }
  if (!keys.some((k) => k.startsWith(escapeChar))) return value
  return Object.fromEntries(
    Object.entries(value).map(([k, v]) => [k.startsWith(escapeChar) ? k.slice(1) : k, v] as const)
  )
}

/** Encodes publication data; throws on BigInts, cycles and bare functions or symbols. */
export const encode = (data: unknown): string => {
  if (data === undefined) return ""
  const binary = mayNeedBinaryPath(data, 0)
  const json = binary ? JSON.stringify(data, binaryReplacer) : JSON.stringify(data)
  // Like the server's codec: a bare function or symbol has no JSON form.
  if (json === undefined) throw new TypeError(`Cannot encode a ${typeof data} as publication data`)
  return (binary ? "B" : "J") + json
}

/**
 * `JSON.stringify(data)` when `data` takes the plain path: the text {@link encode} writes
 * after its "J", and exactly what the server's default codec writes for it. Undefined for
 * `undefined` and for data with binary parts (use {@link encode}); throws as it does.
 */
export const plainJson = (data: unknown): string | undefined => {
  if (data === undefined || mayNeedBinaryPath(data, 0)) return undefined
  const json = JSON.stringify(data)
  if (json === undefined) throw new TypeError(`Cannot encode a ${typeof data} as publication data`)
  return json
}

/**
 * Decodes a message published by {@link encode}. Anything else (say, text published with
 * `redis-cli`) is delivered as the raw string.
 */
export const decode = (message: string): unknown => {
  if (message === "") return undefined
  const tag = message.charCodeAt(0)
  try {
    if (tag === 74 /* J */) return JSON.parse(message.slice(1))
    if (tag === 66 /* B */) return JSON.parse(message.slice(1), binaryReviver)
  } catch {
    return message
  }
  return message
}
