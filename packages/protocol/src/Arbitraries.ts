/**
 * Generators for property tests (Effect 4's own `Arbitrary` engine; use them with
 * `@effect/vitest`'s `it.prop` / `it.effect.prop` or `Arbitrary.checkEffect`).
 *
 * Wire arbitraries are derived from the Schemas in `Packets.ts`, so every value is a
 * packet a well-behaved peer could send and survives a JSON round trip (up to `-0`).
 *
 * @since 0.1.0
 */
import * as Arbitrary from "effect/Arbitrary"
import * as Schema from "effect/Schema"
import {
  ApplicationError,
  AuthError,
  AuthTokenError,
  AuthTokenExpiredError,
  AuthTokenInvalidError,
  AuthTokenNotBeforeError,
  BadConnectionError,
  BrokerError,
  HTTPServerError,
  InvalidActionError,
  InvalidArgumentsError,
  InvalidMessageError,
  InvalidOptionsError,
  ProcessExitError,
  ResourceLimitError,
  type SCError,
  type SCErrorName,
  ServerProtocolError,
  SilentMiddlewareBlockedError,
  SocketProtocolError,
  scErrorNames,
  TimeoutError,
  UnknownError
} from "./Errors.js"
import {
  AuthenticateRequest,
  DisconnectPacket,
  EventPacket,
  HandshakeRejectionResponse,
  HandshakeRequest,
  HandshakeSuccessResponse,
  InboundBatchablePacketWire,
  InboundFrameWire,
  InboundPacketWire,
  KickOutPacket,
  OutboundPacket,
  PublishDelivery,
  PublishRequest,
  RemoveAuthTokenPacket,
  RemoveAuthTokenRequest,
  ResponsePacket,
  SetAuthTokenPacket,
  SubscribeRequest,
  UnsubscribeRequest
} from "./Packets.js"

/** @since 0.1.0 */
export const handshakeRequest = Arbitrary.schema(HandshakeRequest)
/** @since 0.1.0 */
export const handshakeSuccessResponse = Arbitrary.schema(HandshakeSuccessResponse)
/** @since 0.1.0 */
export const handshakeRejectionResponse = Arbitrary.schema(HandshakeRejectionResponse)
/** @since 0.1.0 */
export const eventPacket = Arbitrary.schema(EventPacket)
/** @since 0.1.0 */
export const responsePacket = Arbitrary.schema(ResponsePacket)
/** @since 0.1.0 */
export const publishRequest = Arbitrary.schema(PublishRequest)
/** @since 0.1.0 */
export const publishDelivery = Arbitrary.schema(PublishDelivery)
// The four annotations below keep the inferred object type (an index signature beside
// optional keys) out of the .d.ts: it is only valid under exactOptionalPropertyTypes.
/** @since 0.1.0 */
export const subscribeRequest: Arbitrary.Arbitrary<(typeof SubscribeRequest)["Type"]> =
  Arbitrary.schema(SubscribeRequest)
/** @since 0.1.0 */
export const unsubscribeRequest = Arbitrary.schema(UnsubscribeRequest)
/** @since 0.1.0 */
export const authenticateRequest = Arbitrary.schema(AuthenticateRequest)
/** @since 0.1.0 */
export const removeAuthTokenRequest = Arbitrary.schema(RemoveAuthTokenRequest)
/** @since 0.1.0 */
export const setAuthTokenPacket = Arbitrary.schema(SetAuthTokenPacket)
/** @since 0.1.0 */
export const removeAuthTokenPacket = Arbitrary.schema(RemoveAuthTokenPacket)
/** @since 0.1.0 */
export const kickOutPacket = Arbitrary.schema(KickOutPacket)
/** @since 0.1.0 */
export const disconnectPacket = Arbitrary.schema(DisconnectPacket)
/** Any packet a well-behaved client sends. @since 0.1.0 */
export const inboundPacket: Arbitrary.Arbitrary<(typeof InboundPacketWire)["Type"]> =
  Arbitrary.schema(InboundPacketWire)
/** Any packet that may sit in a client batch. @since 0.1.0 */
export const inboundBatchablePacket: Arbitrary.Arbitrary<(typeof InboundBatchablePacketWire)["Type"]> =
  Arbitrary.schema(InboundBatchablePacketWire)
/** A client frame: one packet or a batch. @since 0.1.0 */
export const inboundFrame: Arbitrary.Arbitrary<(typeof InboundFrameWire)["Type"]> = Arbitrary.schema(InboundFrameWire)
/** Any packet the server sends. @since 0.1.0 */
export const outboundPacket = Arbitrary.schema(OutboundPacket)
/** Any JSON value. @since 0.1.0 */
export const json = Arbitrary.schema(Schema.Json)

/** Arbitrary text, as a (possibly hostile) peer may send in a text frame. @since 0.1.0 */
export const text = Arbitrary.schema(Schema.String)

/** Arbitrary bytes, as a peer may send in a binary frame. @since 0.1.0 */
export const bytes = Arbitrary.map(
  Arbitrary.schema(Schema.Array(Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 255 })))),
  (values) => Uint8Array.from(values)
)

const message = Arbitrary.schema(Schema.String)
const int = Arbitrary.schema(Schema.Int)
const isoDate = Arbitrary.map(
  Arbitrary.schema(Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 4_102_444_800_000 }))),
  (ms) => new Date(ms).toISOString()
)

const makeError = (
  name: SCErrorName,
  message: string,
  code: number,
  type: string,
  date: string,
  expiry: number | string
): SCError => {
  switch (name) {
    case "AuthTokenExpiredError":
      return new AuthTokenExpiredError({ message, expiry })
    case "AuthTokenInvalidError":
      return new AuthTokenInvalidError({ message })
    case "AuthTokenNotBeforeError":
      return new AuthTokenNotBeforeError({ message, date })
    case "AuthTokenError":
      return new AuthTokenError({ message })
    case "AuthError":
      return new AuthError({ message })
    case "SilentMiddlewareBlockedError":
      return new SilentMiddlewareBlockedError({ message, type })
    case "InvalidActionError":
      return new InvalidActionError({ message })
    case "InvalidArgumentsError":
      return new InvalidArgumentsError({ message })
    case "InvalidOptionsError":
      return new InvalidOptionsError({ message })
    case "InvalidMessageError":
      return new InvalidMessageError({ message })
    case "SocketProtocolError":
      return new SocketProtocolError({ message, code })
    case "ServerProtocolError":
      return new ServerProtocolError({ message })
    case "HTTPServerError":
      return new HTTPServerError({ message })
    case "ResourceLimitError":
      return new ResourceLimitError({ message })
    case "TimeoutError":
      return new TimeoutError({ message })
    case "BadConnectionError":
      return new BadConnectionError({ message, type })
    case "BrokerError":
      return new BrokerError({ message })
    case "ProcessExitError":
      return new ProcessExitError({ message, code })
    case "UnknownError":
      return new UnknownError({ message })
  }
}

/**
 * Any catalogue error with arbitrary message and extras (JSON-representable: `Date`
 * extras are generated as ISO strings, as they arrive from the wire).
 *
 * @since 0.1.0
 */
export const scError: Arbitrary.Arbitrary<SCError> = Arbitrary.map(
  Arbitrary.all([
    Arbitrary.schema(Schema.Literals(scErrorNames)),
    message,
    int,
    message,
    isoDate,
    Arbitrary.schema(Schema.Union([Schema.Int, Schema.String]))
  ]),
  ([name, msg, code, type, date, expiry]) => makeError(name, msg, code, type, date, expiry)
)

/**
 * An `ApplicationError` with an arbitrary wire name, message and JSON fields.
 *
 * @since 0.1.0
 */
export const applicationError: Arbitrary.Arbitrary<ApplicationError> = Arbitrary.map(
  Arbitrary.all([message, message, Arbitrary.schema(Schema.Record(Schema.String, Schema.Json))]),
  ([name, msg, fields]) => new ApplicationError({ name, message: msg, fields })
)
