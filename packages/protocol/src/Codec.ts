/**
 * The codec turns protocol values into frames and back (spec protocol.md §2).
 *
 * `json` is wire-compatible with sc-formatter 3 (the v14 default codec). Custom codecs
 * (e.g. a msgpack one) implement the same {@link CodecEngine} contract and are provided
 * with `Codec.layerFrom(engine)`.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Layer from "effect/Layer"

/**
 * SocketCluster's codec engine contract (v14 `codecEngine`): both functions may throw.
 *
 * @since 0.1.0
 */
export interface CodecEngine {
  readonly encode: (value: unknown) => string | Uint8Array
  readonly decode: (message: string | Uint8Array) => unknown
}

const NodeBuffer: typeof Buffer | undefined = typeof globalThis.Buffer === "function" ? globalThis.Buffer : undefined

const isNodeBuffer = (value: unknown): value is Buffer => NodeBuffer?.isBuffer(value) === true

const base64Chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

/** Standard base64 with padding, for runtimes without `Buffer`. */
const bytesToBase64 = (bytes: Uint8Array): string => {
  if (NodeBuffer !== undefined)
    return NodeBuffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("base64")
  let out = ""
  const len = bytes.length
  for (let i = 0; i < len; i += 3) {
    const b0 = bytes[i] ?? 0
    const b1 = bytes[i + 1] ?? 0
    const b2 = bytes[i + 2] ?? 0
    out += base64Chars[b0 >> 2]
    out += base64Chars[((b0 & 3) << 4) | (b1 >> 4)]
    out += i + 1 < len ? base64Chars[((b1 & 15) << 2) | (b2 >> 6)] : "="
    out += i + 2 < len ? base64Chars[b2 & 63] : "="
  }
  return out
}

/** The object sc-formatter writes in place of binary data. */
export interface Base64Binary {
  readonly base64: true
  readonly data: string
}

/**
 * A `{type:"Buffer",data:[…]}` object: how `JSON.stringify` presents a Buffer to a replacer
 * (Buffer#toJSON runs first). sc-formatter converts any such object, so we do too.
 */
const isBufferJson = (value: object): value is { readonly type: "Buffer"; readonly data: ReadonlyArray<number> } =>
  "type" in value && value.type === "Buffer" && "data" in value && Array.isArray(value.data)

const binaryReplacer = (_key: string, value: unknown): unknown => {
  if (typeof value !== "object" || value === null) return value
  if (value instanceof ArrayBuffer) return { base64: true, data: bytesToBase64(new Uint8Array(value)) }
  if (isNodeBuffer(value)) return { base64: true, data: value.toString("base64") }
  if (isBufferJson(value)) {
    return { base64: true, data: bytesToBase64(Uint8Array.from(value.data, (n) => Number(n) & 255)) }
  }
  return value
}

/** Deeper than this the scan gives up and the (always correct) replacer path is taken. */
const maxScanDepth = 32

/**
 * Whether `value` may hold something the binary replacer would rewrite. Conservative: it
 * answers `true` for anything it cannot judge cheaply (custom `toJSON`, very deep or
 * circular values), so the replacer path stays the source of truth.
 */
const mayContainBinary = (value: unknown, depth: number): boolean => {
  if (typeof value !== "object" || value === null) return false
  if (depth > maxScanDepth) return true
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      if (mayContainBinary(value[i], depth + 1)) return true
    }
    return false
  }
  if (value instanceof ArrayBuffer || isNodeBuffer(value)) return true
  if (value instanceof Date) return false
  if ("toJSON" in value && typeof value.toJSON === "function") return true
  if (isBufferJson(value)) return true
  for (const key in value) {
    if (mayContainBinary((value as Record<string, unknown>)[key], depth + 1)) return true
  }
  return false
}

const textDecoder = new TextDecoder()

const messageToText = (message: string | Uint8Array): string => {
  if (typeof message === "string") return message
  if (isNodeBuffer(message)) return message.toString("utf8")
  if (message instanceof Uint8Array) return textDecoder.decode(message)
  return String(message)
}

const validJsonStart = /^[ \n\r\t]*[{[]/

/** `{`, `[`: the fast path; anything else but JSON whitespace cannot start a packet. */
const startsLikeJson = (text: string): boolean => {
  const c = text.charCodeAt(0)
  if (c === 123 || c === 91) return true
  if (c === 32 || c === 10 || c === 13 || c === 9) return validJsonStart.test(text)
  return false
}

/** sc-formatter's `encode` (see {@link json}). */
const encode = (value: unknown): string => {
  if (value === "#1" || value === "#2") return value
  // The replacer costs a function call per key; only pay it when binary may be present.
  const text: string | undefined = mayContainBinary(value, 0)
    ? JSON.stringify(value, binaryReplacer)
    : JSON.stringify(value)
  if (text === undefined) throw new TypeError(`Cannot encode a value of type ${typeof value}`)
  return text
}

/** sc-formatter's `decode` (see {@link json}). */
const decode = (message: string | Uint8Array | null | undefined): unknown => {
  if (message === null || message === undefined) return null
  if (message === "#1" || message === "#2") return message
  const text = messageToText(message)
  if (!startsLikeJson(text)) return text
  try {
    return JSON.parse(text)
  } catch {
    return text
  }
}

/**
 * The default codec, wire-compatible with sc-formatter 3 (spec §2).
 *
 * `encode`: `'#1'`/`'#2'` pass through, everything else is JSON with Buffers and
 * ArrayBuffers written as `{"base64":true,"data":"…"}` (other typed arrays are not
 * converted). Throws on circular structures and BigInts (like `JSON.stringify`) and on
 * top-level values JSON cannot represent (`undefined`, functions, symbols).
 *
 * `decode` never throws: `null` → `null`; `'#1'`/`'#2'` → themselves; bytes are read as
 * UTF-8; text not starting (after JSON whitespace) with `{` or `[`, or not parseable, is
 * returned as the raw string. `{"base64":true}` objects are not turned back into bytes.
 *
 * @example
 * ```ts
 * json.decode('{"event":"echo","data":1,"cid":2}') // { event: "echo", data: 1, cid: 2 }
 * json.encode({ rid: 1, data: { buf: Buffer.from("hi") } }) // '{"rid":1,"data":{"buf":{"base64":true,"data":"aGk="}}}'
 * ```
 * @since 0.1.0
 */
export const json: CodecEngine = { encode, decode }

/**
 * The codec every socket of a server uses (v14 `codecEngine`).
 *
 * @since 0.1.0
 */
export class Codec extends Context.Service<Codec, CodecEngine>()("@effect-socketcluster/protocol/Codec") {
  /** The sc-formatter compatible JSON codec. */
  static readonly layer: Layer.Layer<Codec> = Layer.succeed(Codec, json)
  /** A layer from any codec engine (the client must be given the same codec). */
  static readonly layerFrom = (engine: CodecEngine): Layer.Layer<Codec> => Layer.succeed(Codec, engine)
}
