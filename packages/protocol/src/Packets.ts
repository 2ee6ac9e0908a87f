/**
 * Protocol v1 packets (spec protocol.md §3–§11) as effect/Schema: what a well-behaved peer
 * sends, with JSON-safe types (`Schema.Json`, `Schema.Int`, `Schema.optionalKey`) so
 * `Arbitrary.schema(...)` values survive a JSON round trip. The server does not decode
 * inbound traffic with these: `classify` (Classify.ts) is deliberately more lenient.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"

/**
 * A call id. The real client counts integers from 1; v14 echoes any cid as given.
 *
 * @since 0.1.0
 */
export const CidWire = Schema.Union([Schema.Int, Schema.String])

/** A packet of one reserved event whose sender may ask for an answer with a cid. */
const eventWithCid = <const Event extends string, Data extends Schema.Top>(event: Event, data: Data) =>
  Schema.Struct({ event: Schema.Literal(event), data, cid: Schema.optionalKey(CidWire) })

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
export const HandshakeRequest = eventWithCid("#handshake", Schema.Struct({ authToken: Schema.NullOr(Schema.String) }))

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
export const PublishRequest = eventWithCid("#publish", PublishData)

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
export const SubscribeRequest = eventWithCid("#subscribe", Schema.Union([Schema.String, SubscribeOptions]))

/**
 * `C→S {"event":"#unsubscribe","data":"ch2"}` (the real client never sends a cid).
 *
 * @since 0.1.0
 */
export const UnsubscribeRequest = eventWithCid("#unsubscribe", Schema.String)

/**
 * `C→S {"event":"#authenticate","data":"<JWT>","cid":2}` (spec §7.4).
 *
 * @since 0.1.0
 */
export const AuthenticateRequest = eventWithCid("#authenticate", Schema.String)

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
export const SetAuthTokenPacket = eventWithCid("#setAuthToken", Schema.Struct({ token: Schema.String }))

/**
 * `S→C {"event":"#removeAuthToken","data":null}` (cid when the server wants an ack).
 *
 * @since 0.1.0
 */
export const RemoveAuthTokenPacket = eventWithCid("#removeAuthToken", Schema.Null)

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
 * One packet a well-behaved client sends.
 *
 * @since 0.1.0
 */
export const InboundPacketWire = Schema.Union([Pong, ...InboundBatchablePacketWire.members])

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
