/**
 * The wire dialect of one connection: how the server writes the few things protocol v1
 * (socketcluster-client 14) and protocol v2 (clients 15–20) write differently (spec
 * protocol-v2.md §3.3). A socket holds one dialect, chosen at upgrade and replaced at
 * most once or twice (when its first pong reveals the protocol), so the hot path reads a
 * field instead of branching on versions.
 *
 * No client says which protocol it speaks, but each answers only its own ping: `#1` → `#2`
 * (v1), an empty frame → an empty frame (v2). In `"auto"` mode an unknown socket gets both
 * pings at each heartbeat tick, and the dual-safe forms every client understands, until its
 * first pong. With the JSON codec there is no separate probe: detection rides on the first
 * tick, so a v1 connection costs one empty frame more than with `protocolVersion: 1`.
 */

/** A connection's SocketCluster protocol: 1 (client 14) or 2 (clients 15–20). */
export type ProtocolVersion = 1 | 2

/** The server's `protocolVersion` option. */
export type ProtocolVersionOption = ProtocolVersion | "auto"

/** What differs on the wire between the protocols, as plain fields. */
export interface WireDialect {
  /** The connection's protocol, or null while unknown. */
  readonly version: ProtocolVersion | null
  /** A ping tick writes the encoded `#1`. */
  readonly pingV1: boolean
  /** A ping tick writes an empty text frame (never encoded). */
  readonly pingV2: boolean
  /**
   * After a ping tick the socket moves to this dialect; and a socket still in it at the
   * next tick moves on to `atTick` first. Only the binary-codec probe uses them (§3.5).
   */
  readonly afterPing: WireDialect | undefined
  readonly atTick: WireDialect | undefined
  /** The ping(s) also go out right after the handshake answer, not only at ticks. */
  readonly probeAfterHandshake: boolean
  /**
   * A pong in this state answers the post-handshake probe, a ping a v14 server never sent:
   * it is not emitted as `message` (every other pong is, as in v14).
   */
  readonly hidesPong: boolean
  /** `disconnect` writes a `#disconnect` packet before the close frame (v1 clients read the reason there). */
  readonly disconnectPacket: boolean
  /** The close frame carries the reason (v2 clients read it only there; v14 left it empty). */
  readonly closeReason: boolean
  /** A rejected handshake's error carries `statusCode` (what v2 clients read). */
  readonly rejectionStatusCode: boolean
  /** A rejected handshake's answer carries `data: {code}` (what 14.x reads). */
  readonly rejectionDataCode: boolean
  /** `#removeAuthToken` carries `data: null` (v14) rather than no `data`. */
  readonly removeAuthTokenWithNull: boolean
  /** Auth errors on the wire carry `isBadToken`. */
  readonly isBadToken: boolean
  /** An empty inbound text frame is a v2 pong (v14 emitted it as `raw`). */
  readonly emptyFrameIsPong: boolean
}

const base = {
  afterPing: undefined,
  atTick: undefined,
  probeAfterHandshake: false,
  hidesPong: false,
  disconnectPacket: true,
  closeReason: true,
  rejectionStatusCode: true,
  rejectionDataCode: true,
  removeAuthTokenWithNull: true,
  isBadToken: true,
  emptyFrameIsPong: true
} as const

/** `protocolVersion: 1`: exactly what socketcluster-server 14 writes. */
export const v14: WireDialect = {
  ...base,
  version: 1,
  pingV1: true,
  pingV2: false,
  closeReason: false,
  rejectionStatusCode: false,
  isBadToken: false,
  emptyFrameIsPong: false
}

/** A connection detected (or declared) as protocol 1 in `"auto"` mode: v1 forms that v2 clients also read. */
export const v1: WireDialect = { ...base, version: 1, pingV1: true, pingV2: false }

/** Protocol 2: only the forms of socketcluster-server 15–20. */
export const v2: WireDialect = {
  ...base,
  version: 2,
  pingV1: false,
  pingV2: true,
  disconnectPacket: false,
  rejectionDataCode: false,
  removeAuthTokenWithNull: false
}

/**
 * Not known yet (JSON codec): both pings per tick, the dual-safe forms. The first tick
 * comes within one ping interval, shorter than `pingTimeout` (the client's own ping timer
 * after the handshake answer), so a v2 client is pinged in time without a probe.
 */
export const unknown: WireDialect = { ...base, version: null, pingV1: true, pingV2: true }

// With another codec an empty frame may crash a v1 client (sc-codec-min-bin throws on
// it), so an unknown socket gets only `#1`; still unknown one tick later, it is v2. That
// takes two pings, so the first is a probe right after the handshake: a v2 client then
// gets its first ping at the first tick, as with the JSON codec.
const unknownBinaryProbed: WireDialect = { ...unknown, pingV2: false, atTick: v2, hidesPong: true }

/** Not known yet, non-JSON codec: probed with `#1` only, right after the handshake (spec §3.5). */
export const unknownBinary: WireDialect = {
  ...unknown,
  pingV2: false,
  afterPing: unknownBinaryProbed,
  probeAfterHandshake: true
}

const QUERY_KEY = "scProtocolVersion="

/**
 * The dialect a new connection starts with: the fixed option, else (`"auto"`) the
 * client's `scProtocolVersion=1|2` query parameter, else unknown.
 *
 * @example
 * ```ts
 * initialDialect("auto", "/socketcluster/?scProtocolVersion=2", true).version // 2
 * initialDialect("auto", "/socketcluster/", true).version // null
 * ```
 */
export const initialDialect = (option: ProtocolVersionOption, url: string, jsonCodec: boolean): WireDialect => {
  if (option === 1) return v14
  if (option === 2) return v2
  // One substring search per upgrade; the URL is parsed only when the key is there.
  if (url.includes(QUERY_KEY)) {
    const query = url.indexOf("?")
    const value = query < 0 ? null : new URLSearchParams(url.slice(query + 1)).get("scProtocolVersion")
    if (value === "1") return v1
    if (value === "2") return v2
  }
  return jsonCodec ? unknown : unknownBinary
}

/** The dialect once a pong of `version` arrived: the first pong fixes an unknown socket for good. */
export const afterPong = (dialect: WireDialect, version: ProtocolVersion): WireDialect =>
  dialect.version !== null ? dialect : version === 1 ? v1 : v2

/**
 * Recognises a pong from the raw frame, before any decoding (v2 clients send the empty
 * frame as is, whatever the codec): 1 for `#2`, 2 for an empty frame, 0 otherwise.
 */
export const rawPong = (dialect: WireDialect, raw: Buffer): 0 | ProtocolVersion => {
  if (raw.length === 0) return dialect.emptyFrameIsPong ? 2 : 0
  return raw.length === 2 && raw[0] === 0x23 && raw[1] === 0x32 ? 1 : 0
}
