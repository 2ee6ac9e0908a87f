/**
 * Protocol v1 packets (spec protocol.md §3–§11) as effect/Schema, and {@link classify}, the
 * function the server runs on every decoded inbound message.
 *
 * The wire schemas describe what a well-behaved peer sends, with JSON-safe types
 * (`Schema.Json`, `Schema.Int`, `Schema.optionalKey`) so `Arbitrary.schema(...)` values
 * survive a JSON round trip. `classify` is deliberately more lenient: it accepts whatever
 * v14 accepts and reports reserved events whose `data` v14 would refuse as `InvalidPacket`.
 *
 * @since 0.1.0
 */
import { Option, Schema } from "effect"

// ---------------------------------------------------------------------------
// Wire schemas
// ---------------------------------------------------------------------------

/**
 * A call id. The real client counts integers from 1; v14 echoes any cid as given.
 *
 * @since 0.1.0
 */
export const CidWire = Schema.Union([Schema.Int, Schema.String])

/**
 * `#1`, the server's ping (a bare string, never JSON-quoted).
 *
 * @since 0.1.0
 */
export const Ping = Schema.Literal("#1")

/**
 * `#2`, the client's pong (a bare string, never JSON-quoted).
 *
 * @since 0.1.0
 */
export const Pong = Schema.Literal("#2")

/** Event names with a protocol meaning (spec §4). @since 0.1.0 */
export const reservedEventNames: ReadonlyArray<string> = [
  "#handshake",
  "#authenticate",
  "#removeAuthToken",
  "#subscribe",
  "#unsubscribe",
  "#publish",
  "#disconnect",
  "#setAuthToken",
  "#kickOut"
]

const reservedEventNameSet: ReadonlySet<string> = new Set(reservedEventNames)

/**
 * The name of a user event, i.e. every string except the reserved `#…` names of spec §4.
 *
 * @since 0.1.0
 */
export const UserEventName = Schema.String.check(
  Schema.makeFilter((name: string) => !reservedEventNameSet.has(name) || `"${name}" is a reserved event name`)
)

/**
 * `C→S {"event":"#handshake","data":{"authToken":<string|null>},"cid":1}` (spec §6.1).
 *
 * @since 0.1.0
 */
export const HandshakeRequest = Schema.Struct({
  event: Schema.Literal("#handshake"),
  data: Schema.Struct({ authToken: Schema.NullOr(Schema.String) }),
  cid: Schema.optionalKey(CidWire)
})

/**
 * The handshake "status" (spec §6.2). `authError` is a dehydrated error, present only
 * when a supplied token failed.
 *
 * @since 0.1.0
 */
export const HandshakeStatus = Schema.Struct({
  id: Schema.String,
  pingTimeout: Schema.Int,
  authError: Schema.optionalKey(Schema.Json),
  isAuthenticated: Schema.Boolean
})

/**
 * `S→C {"rid":1,"data":{"id":…,"pingTimeout":20000,"isAuthenticated":false}}` (spec §6.2).
 *
 * @since 0.1.0
 */
export const HandshakeSuccessResponse = Schema.Struct({ rid: CidWire, data: HandshakeStatus })

/**
 * `S→C {"rid":1,"error":<dehydrated>,"data":{"code":4008}}` (spec §6.3).
 *
 * @since 0.1.0
 */
export const HandshakeRejectionResponse = Schema.Struct({
  rid: CidWire,
  error: Schema.Json,
  data: Schema.Struct({ code: Schema.Int })
})

/**
 * A user event in either direction: `{"event":"echo","data":{…},"cid":2}` (spec §3.1, §8).
 *
 * @since 0.1.0
 */
export const EventPacket = Schema.Struct({
  event: UserEventName,
  data: Schema.optionalKey(Schema.Json),
  cid: Schema.optionalKey(CidWire)
})

/**
 * A response in either direction: `{"rid":2,"data":…}` / `{"rid":4,"error":…,"data":…}` (spec §3.2).
 *
 * @since 0.1.0
 */
export const ResponsePacket = Schema.Struct({
  rid: CidWire,
  data: Schema.optionalKey(Schema.Json),
  error: Schema.optionalKey(Schema.Json)
})

/**
 * `{"channel":"ch1","data":…}`: the data of `#publish` in both directions (`data` absent
 * when the publication was `undefined`).
 *
 * @since 0.1.0
 */
export const PublishData = Schema.Struct({ channel: Schema.String, data: Schema.optionalKey(Schema.Json) })

/**
 * `C→S {"event":"#publish","data":{"channel":"ch1","data":"x"},"cid":5}` (cid only with a callback; spec §9.1).
 *
 * @since 0.1.0
 */
export const PublishRequest = Schema.Struct({
  event: Schema.Literal("#publish"),
  data: PublishData,
  cid: Schema.optionalKey(CidWire)
})

/**
 * `S→C {"event":"#publish","data":{"channel":"a","data":"hello"}}`: delivery, never with a cid (spec §9.4).
 *
 * @since 0.1.0
 */
export const PublishDelivery = Schema.Struct({ event: Schema.Literal("#publish"), data: PublishData })

/**
 * The object form of `#subscribe` data; unknown keys are kept (spec §9.2).
 *
 * @since 0.1.0
 */
export const SubscribeOptions = Schema.StructWithRest(
  Schema.Struct({
    channel: Schema.String,
    waitForAuth: Schema.optionalKey(Schema.Boolean),
    data: Schema.optionalKey(Schema.Json),
    batch: Schema.optionalKey(Schema.Boolean)
  }),
  [Schema.Record(Schema.String, Schema.Json)]
)

/**
 * `C→S {"event":"#subscribe","data":{"channel":"ch1"},"cid":3}`, or a bare channel string as data.
 *
 * @since 0.1.0
 */
export const SubscribeRequest = Schema.Struct({
  event: Schema.Literal("#subscribe"),
  data: Schema.Union([Schema.String, SubscribeOptions]),
  cid: Schema.optionalKey(CidWire)
})

/**
 * `C→S {"event":"#unsubscribe","data":"ch2"}` (the real client never sends a cid).
 *
 * @since 0.1.0
 */
export const UnsubscribeRequest = Schema.Struct({
  event: Schema.Literal("#unsubscribe"),
  data: Schema.String,
  cid: Schema.optionalKey(CidWire)
})

/**
 * `C→S {"event":"#authenticate","data":"<JWT>","cid":2}` (spec §7.4).
 *
 * @since 0.1.0
 */
export const AuthenticateRequest = Schema.Struct({
  event: Schema.Literal("#authenticate"),
  data: Schema.String,
  cid: Schema.optionalKey(CidWire)
})

/**
 * The data of an `#authenticate` answer: `{"isAuthenticated":true,"authError":null}`.
 *
 * @since 0.1.0
 */
export const AuthenticateStatus = Schema.Struct({
  isAuthenticated: Schema.Boolean,
  authError: Schema.NullOr(Schema.Json)
})

/**
 * `C→S {"event":"#removeAuthToken"}`: the client logged out (no cid, never answered).
 *
 * @since 0.1.0
 */
export const RemoveAuthTokenRequest = Schema.Struct({ event: Schema.Literal("#removeAuthToken") })

/**
 * `S→C {"event":"#setAuthToken","data":{"token":"<JWT>"}}` (cid when the server wants an ack).
 *
 * @since 0.1.0
 */
export const SetAuthTokenPacket = Schema.Struct({
  event: Schema.Literal("#setAuthToken"),
  data: Schema.Struct({ token: Schema.String }),
  cid: Schema.optionalKey(CidWire)
})

/**
 * `S→C {"event":"#removeAuthToken","data":null}` (cid when the server wants an ack).
 *
 * @since 0.1.0
 */
export const RemoveAuthTokenPacket = Schema.Struct({
  event: Schema.Literal("#removeAuthToken"),
  data: Schema.Null,
  cid: Schema.optionalKey(CidWire)
})

/**
 * `S→C {"event":"#kickOut","data":{"message":"go away","channel":"a"}}` (spec §9.5).
 *
 * @since 0.1.0
 */
export const KickOutPacket = Schema.Struct({
  event: Schema.Literal("#kickOut"),
  data: Schema.Struct({ message: Schema.optionalKey(Schema.Json), channel: Schema.String })
})

/**
 * `{"event":"#disconnect","data":{"code":4321,"data":"custom reason"}}`, both directions (spec §11).
 *
 * @since 0.1.0
 */
export const DisconnectPacket = Schema.Struct({
  event: Schema.Literal("#disconnect"),
  data: Schema.Struct({ code: Schema.Int, data: Schema.optionalKey(Schema.Json) })
})

/**
 * One packet a well-behaved client sends.
 *
 * @since 0.1.0
 */
export const InboundPacketWire = Schema.Union([
  Pong,
  HandshakeRequest,
  AuthenticateRequest,
  RemoveAuthTokenRequest,
  SubscribeRequest,
  UnsubscribeRequest,
  PublishRequest,
  DisconnectPacket,
  EventPacket,
  ResponsePacket
])

/**
 * A packet that may sit in a batch (everything but the bare pong string).
 *
 * @since 0.1.0
 */
export const InboundBatchablePacketWire = Schema.Union([
  HandshakeRequest,
  AuthenticateRequest,
  RemoveAuthTokenRequest,
  SubscribeRequest,
  UnsubscribeRequest,
  PublishRequest,
  DisconnectPacket,
  EventPacket,
  ResponsePacket
])

/**
 * One inbound frame: a packet or a batch (array) of packets (spec §3.3).
 *
 * @since 0.1.0
 */
export const InboundFrameWire = Schema.Union([InboundPacketWire, Schema.Array(InboundBatchablePacketWire)])

/**
 * One packet the server sends.
 *
 * @since 0.1.0
 */
export const OutboundPacket = Schema.Union([
  Ping,
  HandshakeSuccessResponse,
  HandshakeRejectionResponse,
  ResponsePacket,
  PublishDelivery,
  SetAuthTokenPacket,
  RemoveAuthTokenPacket,
  KickOutPacket,
  DisconnectPacket,
  EventPacket
])

/**
 * One outbound frame: a packet or a batch (the server batches `#subscribe` answers).
 *
 * @since 0.1.0
 */
export const OutboundFrame = Schema.Union([OutboundPacket, Schema.Array(OutboundPacket)])

// ---------------------------------------------------------------------------
// Classification
// ---------------------------------------------------------------------------

/**
 * A call id as v14 echoes it.
 *
 * @since 0.1.0
 */
export type Cid = number | string

/**
 * What an inbound message means to the server (spec §3, §4, §14).
 *
 * - `Handshake.authToken`: `data.authToken`, or `null` when `data` is missing/not an object
 *   or the token is falsy (v14: `data.authToken || null`).
 * - `Authenticate.token`: the raw `data`; the server checks it is a string.
 * - `Subscribe`: the string form is normalised to `{channel}`; `waitForAuth`/`batch` are the
 *   truthiness of the keys (as v14 tests them); `options` holds every key of the object form.
 * - `Disconnect.code`/`data`: `data.code`/`data.data`, `undefined` when `data` is not an object.
 * - `Event`: every other event name, reserved-looking or local; the server filters them.
 * - `InvalidPacket`: `#subscribe`/`#unsubscribe`/`#publish` whose data v14 refuses with a
 *   `BrokerError`; `data` is the raw data.
 * - `Raw`: not a packet.
 *
 * A `cid` that is neither a number nor a string is reported as `undefined` (no answer).
 *
 * @since 0.1.0
 */
export type InboundPacket =
  | { readonly _tag: "Pong" }
  | { readonly _tag: "Handshake"; readonly cid: Cid | undefined; readonly authToken: unknown }
  | { readonly _tag: "Authenticate"; readonly cid: Cid | undefined; readonly token: unknown }
  | { readonly _tag: "RemoveAuthToken" }
  | {
      readonly _tag: "Subscribe"
      readonly cid: Cid | undefined
      readonly channel: string
      readonly waitForAuth: boolean
      readonly data: unknown
      readonly batch: boolean
      readonly options: Readonly<Record<string, unknown>>
    }
  | { readonly _tag: "Unsubscribe"; readonly cid: Cid | undefined; readonly channel: string }
  | { readonly _tag: "Publish"; readonly cid: Cid | undefined; readonly channel: string; readonly data: unknown }
  | { readonly _tag: "Disconnect"; readonly code: unknown; readonly data: unknown }
  | { readonly _tag: "Event"; readonly event: string; readonly cid: Cid | undefined; readonly data: unknown }
  | { readonly _tag: "Response"; readonly rid: Cid; readonly data: unknown; readonly error: unknown }
  | {
      readonly _tag: "InvalidPacket"
      readonly event: string
      readonly cid: Cid | undefined
      readonly data: unknown
      readonly reason: string
    }
  | { readonly _tag: "Raw" }

/** @since 0.1.0 */
export type InboundPacketTag = InboundPacket["_tag"]

const pong: InboundPacket = { _tag: "Pong" }
const raw: InboundPacket = { _tag: "Raw" }
const removeAuthToken: InboundPacket = { _tag: "RemoveAuthToken" }

/**
 * Whether v14 would send no answer for this cid (`0`, `""`, missing).
 *
 * @since 0.1.0
 */
export const isFalsyCid = (cid: Cid | undefined): boolean => cid === undefined || cid === 0 || cid === ""

const isRecord = (u: unknown): u is Readonly<Record<string, unknown>> => typeof u === "object" && u !== null

const cidOf = (u: unknown): Cid | undefined => (typeof u === "number" || typeof u === "string" ? u : undefined)

/** v14 looks responses up by object key, so a non-string rid can only match its string form. */
const ridOf = (u: unknown): Cid =>
  typeof u === "number" || typeof u === "string"
    ? u
    : typeof u === "object"
      ? Object.prototype.toString.call(u)
      : String(u)

/** What v14 requires of reserved events' data; checked with prebuilt decoders. */
const SubscribeDataIn = Schema.Union([Schema.String, Schema.Struct({ channel: Schema.String })])
const UnsubscribeDataIn = Schema.String
const PublishDataIn = Schema.Struct({ channel: Schema.String })

const isSubscribeDataIn = Schema.decodeUnknownOption(SubscribeDataIn)
const isUnsubscribeDataIn = Schema.decodeUnknownOption(UnsubscribeDataIn)
const isPublishDataIn = Schema.decodeUnknownOption(PublishDataIn)

const invalid = (event: string, cid: Cid | undefined, data: unknown, reason: string): InboundPacket => ({
  _tag: "InvalidPacket",
  event,
  cid,
  data,
  reason
})

const classifyEvent = (packet: Readonly<Record<string, unknown>>, event: string): InboundPacket => {
  const data = packet.data
  switch (event) {
    case "#publish": {
      const cid = cidOf(packet.cid)
      const checked = isPublishDataIn(data)
      if (Option.isNone(checked) || !isRecord(data)) {
        return invalid(event, cid, data, "#publish data must be an object with a string channel")
      }
      return { _tag: "Publish", cid, channel: checked.value.channel, data: data.data }
    }
    case "#subscribe": {
      const cid = cidOf(packet.cid)
      const checked = isSubscribeDataIn(data)
      if (Option.isNone(checked)) {
        return invalid(event, cid, data, "#subscribe data must be a channel name or an object with a string channel")
      }
      if (typeof checked.value === "string" || !isRecord(data)) {
        const channel = typeof checked.value === "string" ? checked.value : checked.value.channel
        return {
          _tag: "Subscribe",
          cid,
          channel,
          waitForAuth: false,
          data: undefined,
          batch: false,
          options: { channel }
        }
      }
      const options = data
      return {
        _tag: "Subscribe",
        cid,
        channel: checked.value.channel,
        waitForAuth: Boolean(options.waitForAuth),
        data: options.data,
        batch: Boolean(options.batch),
        options
      }
    }
    case "#unsubscribe": {
      const cid = cidOf(packet.cid)
      if (Option.isNone(isUnsubscribeDataIn(data)) || typeof data !== "string") {
        return invalid(event, cid, data, "#unsubscribe data must be a channel name")
      }
      return { _tag: "Unsubscribe", cid, channel: data }
    }
    case "#handshake":
      return {
        _tag: "Handshake",
        cid: cidOf(packet.cid),
        authToken: (isRecord(data) && !Array.isArray(data) && data.authToken) || null
      }
    case "#authenticate":
      return { _tag: "Authenticate", cid: cidOf(packet.cid), token: data }
    case "#removeAuthToken":
      return removeAuthToken
    case "#disconnect":
      return isRecord(data)
        ? { _tag: "Disconnect", code: data.code, data: data.data }
        : { _tag: "Disconnect", code: undefined, data: undefined }
    default:
      return { _tag: "Event", event, cid: cidOf(packet.cid), data }
  }
}

/** A batch element: v14 only recognises a pong at the top level, so `"#2"` here is Raw. */
const classifyElement = (decoded: unknown): InboundPacket => {
  if (!isRecord(decoded) || Array.isArray(decoded)) return raw
  const event = decoded.event
  if (event !== undefined && event !== null) {
    if (typeof event === "string") return classifyEvent(decoded, event)
    // v14 uses the name as a property key, i.e. its string form.
    if (typeof event === "number" || typeof event === "boolean") return classifyEvent(decoded, String(event))
    return raw
  }
  const rid = decoded.rid
  if (rid !== undefined && rid !== null) {
    return { _tag: "Response", rid: ridOf(rid), data: decoded.data, error: decoded.error }
  }
  return raw
}

/**
 * Classifies a decoded inbound message (the output of the codec's `decode`). Never throws.
 * An array (batch) gives one packet per element, in order (`[]` for an empty batch);
 * elements that are arrays, or the string `"#2"`, are `Raw` (v14 sees pongs only at the top level).
 *
 * @example
 * ```ts
 * classify(json.decode('{"event":"#subscribe","data":{"channel":"a"},"cid":3}'))
 * // { _tag: "Subscribe", cid: 3, channel: "a", waitForAuth: false, data: undefined, batch: false, options: { channel: "a" } }
 * ```
 * @since 0.1.0
 */
export const classify = (decoded: unknown): InboundPacket | ReadonlyArray<InboundPacket> => {
  if (!Array.isArray(decoded)) return decoded === "#2" ? pong : classifyElement(decoded)
  const out: Array<InboundPacket> = new Array(decoded.length)
  for (let i = 0; i < decoded.length; i++) out[i] = classifyElement(decoded[i])
  return out
}

/**
 * Whether `classify` returned a batch.
 *
 * @since 0.1.0
 */
export const isBatch = (
  classified: InboundPacket | ReadonlyArray<InboundPacket>
): classified is ReadonlyArray<InboundPacket> => Array.isArray(classified)
