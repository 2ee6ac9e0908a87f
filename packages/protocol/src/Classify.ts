/**
 * {@link classify}: what an inbound message means, the function the server runs on every
 * decoded inbound message. Deliberately more lenient than the wire schemas of Packets.ts:
 * it accepts whatever v14 accepts and reports reserved events whose `data` v14 would refuse
 * as `InvalidPacket`.
 *
 * @since 0.1.0
 */
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"

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

/**
 * The object form every client sends (`{channel: string, …}`), recognised without running
 * a Schema decoder per packet: what the decoders accept for it, they accept (any other
 * data still goes through them). A subscribe or publish costs ~10 µs of server CPU, and
 * the decoders were ~7 % of it.
 */
const withChannel = (data: unknown): data is Readonly<Record<string, unknown>> & { readonly channel: string } =>
  typeof data === "object" &&
  data !== null &&
  !Array.isArray(data) &&
  typeof (data as { channel?: unknown }).channel === "string"

const subscribeWith = (
  cid: Cid | undefined,
  channel: string,
  options: Readonly<Record<string, unknown>>
): InboundPacket => ({
  _tag: "Subscribe",
  cid,
  channel,
  waitForAuth: Boolean(options.waitForAuth),
  data: options.data,
  batch: Boolean(options.batch),
  options
})

const classifyEvent = (packet: Readonly<Record<string, unknown>>, event: string): InboundPacket => {
  const data = packet.data
  switch (event) {
    case "#publish": {
      const cid = cidOf(packet.cid)
      if (withChannel(data)) return { _tag: "Publish", cid, channel: data.channel, data: data.data }
      const checked = isPublishDataIn(data)
      if (Option.isNone(checked) || !isRecord(data)) {
        return invalid(event, cid, data, "#publish data must be an object with a string channel")
      }
      return { _tag: "Publish", cid, channel: checked.value.channel, data: data.data }
    }
    case "#subscribe": {
      const cid = cidOf(packet.cid)
      if (withChannel(data)) return subscribeWith(cid, data.channel, data)
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
      return subscribeWith(cid, checked.value.channel, data)
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
