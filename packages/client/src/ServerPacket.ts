/**
 * What a decoded frame from the server means to the client: the server-to-client half of
 * the protocol (spec protocol.md §3–§11, protocol-v2.md §2), classified with the
 * protocol package's Schemas.
 *
 * @since 0.1.0
 */
import { type Cid, KickOutPacket, PublishData, SetAuthTokenPacket } from "@effect-socketcluster/protocol"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import type { Position } from "./Recovery.js"

/**
 * - `Response`: the answer to a call (`rid` = its `cid`), with `error` and/or `data`.
 * - `Publish`: a publication on a channel this client subscribed to, with its `position`
 *   in the channel's history on a recovering subscription.
 * - `SetAuthToken` / `RemoveAuthToken`: the server signed in or out (`cid` when it wants an ack).
 * - `KickOut`: the server removed the client from `channel`.
 * - `Disconnect`: v1's `#disconnect` packet, sent just before the close frame.
 * - `Event`: every other event (an emit; a `cid` when the server expects an answer).
 * - `Raw`: not a packet.
 *
 * @since 0.1.0
 */
export type ServerPacket =
  | { readonly _tag: "Response"; readonly rid: Cid; readonly error: unknown; readonly data: unknown }
  | {
      readonly _tag: "Publish"
      readonly channel: string
      readonly data: unknown
      readonly position: Position | undefined
    }
  | { readonly _tag: "SetAuthToken"; readonly token: string; readonly cid: Cid | undefined }
  | { readonly _tag: "RemoveAuthToken"; readonly cid: Cid | undefined }
  | { readonly _tag: "KickOut"; readonly channel: string; readonly message: unknown }
  | { readonly _tag: "Disconnect"; readonly code: number | undefined; readonly data: unknown }
  | { readonly _tag: "Event"; readonly event: string; readonly data: unknown; readonly cid: Cid | undefined }
  | { readonly _tag: "Raw"; readonly value: unknown }

const decodePublish = Schema.decodeUnknownOption(PublishData)
const decodeSetAuthToken = Schema.decodeUnknownOption(SetAuthTokenPacket.fields.data)
const decodeKickOut = Schema.decodeUnknownOption(KickOutPacket.fields.data)

const isRecord = (u: unknown): u is Readonly<Record<string, unknown>> =>
  typeof u === "object" && u !== null && !Array.isArray(u)

const cidOf = (u: unknown): Cid | undefined => (typeof u === "number" || typeof u === "string" ? u : undefined)

// Read by hand: the hot path of every publication, and an object only when there is one.
const positionOf = (data: unknown): Position | undefined => {
  if (!isRecord(data)) return undefined
  const { offset, epoch } = data
  return typeof offset === "number" && Number.isSafeInteger(offset) && offset >= 0 && typeof epoch === "string"
    ? { offset, epoch }
    : undefined
}

const raw = (value: unknown): ServerPacket => ({ _tag: "Raw", value })

const classifyEvent = (packet: Readonly<Record<string, unknown>>, event: string): ServerPacket => {
  const data = packet.data
  const cid = cidOf(packet.cid)
  switch (event) {
    case "#publish": {
      const decoded = decodePublish(data)
      return Option.isSome(decoded)
        ? { _tag: "Publish", channel: decoded.value.channel, data: decoded.value.data, position: positionOf(data) }
        : raw(packet)
    }
    case "#setAuthToken": {
      const decoded = decodeSetAuthToken(data)
      return Option.isSome(decoded) ? { _tag: "SetAuthToken", token: decoded.value.token, cid } : raw(packet)
    }
    case "#removeAuthToken":
      // v1 sends `"data":null`, v2 no data: both mean the same.
      return { _tag: "RemoveAuthToken", cid }
    case "#kickOut": {
      const decoded = decodeKickOut(data)
      return Option.isSome(decoded)
        ? { _tag: "KickOut", channel: decoded.value.channel, message: decoded.value.message }
        : raw(packet)
    }
    case "#disconnect":
      return isRecord(data)
        ? { _tag: "Disconnect", code: typeof data.code === "number" ? data.code : undefined, data: data.data }
        : { _tag: "Disconnect", code: undefined, data: undefined }
    default:
      return { _tag: "Event", event, data, cid }
  }
}

/**
 * Classifies one decoded packet (an element of a batch, or a whole frame that is not an
 * array). Never throws.
 *
 * @example
 * ```ts
 * classifyServerPacket(json.decode('{"event":"#publish","data":{"channel":"a","data":1}}'))
 * // { _tag: "Publish", channel: "a", data: 1, position: undefined }
 * ```
 * @since 0.1.0
 */
export const classifyServerPacket = (value: unknown): ServerPacket => {
  if (!isRecord(value)) return raw(value)
  const event = value.event
  if (typeof event === "string") return classifyEvent(value, event)
  const rid = cidOf(value.rid)
  if (rid !== undefined) return { _tag: "Response", rid, error: value.error, data: value.data }
  return raw(value)
}
