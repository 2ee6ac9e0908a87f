/**
 * The SocketCluster error catalogue (sc-errors 2.x) as tagged errors, and the wire
 * (de)hydration of errors (spec protocol.md §13, server-api.md §11).
 *
 * Every class's `_tag` and `.name` equal the v14 wire name, so `Effect.catchTag` and the
 * real client see the same thing.
 *
 * @since 0.1.0
 */
import * as Data from "effect/Data"

/** @since 0.1.0 */
export class AuthTokenExpiredError extends Data.TaggedError("AuthTokenExpiredError")<{
  readonly message: string
  /** A `Date` when verification failed (`jwt expired`), the `exp` number on later activity. */
  readonly expiry: Date | number | string
}> {}

/** @since 0.1.0 */
export class AuthTokenInvalidError extends Data.TaggedError("AuthTokenInvalidError")<{ readonly message: string }> {}

/** @since 0.1.0 */
export class AuthTokenNotBeforeError extends Data.TaggedError("AuthTokenNotBeforeError")<{
  readonly message: string
  /** The token's `nbf` as a `Date` (an ISO string once it went over the wire). */
  readonly date: Date | string
}> {}

/** @since 0.1.0 */
export class AuthTokenError extends Data.TaggedError("AuthTokenError")<{ readonly message: string }> {}

/** Exists in sc-errors 2.x; the v14 server never raises it. @since 0.1.0 */
export class AuthError extends Data.TaggedError("AuthError")<{ readonly message: string }> {}

/** @since 0.1.0 */
export class SilentMiddlewareBlockedError extends Data.TaggedError("SilentMiddlewareBlockedError")<{
  readonly message: string
  /** The middleware type, e.g. `"handshakeSC"`. */
  readonly type: string
}> {}

/** @since 0.1.0 */
export class InvalidActionError extends Data.TaggedError("InvalidActionError")<{ readonly message: string }> {}

/** @since 0.1.0 */
export class InvalidArgumentsError extends Data.TaggedError("InvalidArgumentsError")<{ readonly message: string }> {}

/** @since 0.1.0 */
export class InvalidOptionsError extends Data.TaggedError("InvalidOptionsError")<{ readonly message: string }> {}

/** @since 0.1.0 */
export class InvalidMessageError extends Data.TaggedError("InvalidMessageError")<{ readonly message: string }> {}

/** A socket closed with a code other than 1000/1001; see `CloseCodes.socketProtocolErrorMessage`. @since 0.1.0 */
export class SocketProtocolError extends Data.TaggedError("SocketProtocolError")<{
  readonly message: string
  readonly code: number
}> {}

/** @since 0.1.0 */
export class ServerProtocolError extends Data.TaggedError("ServerProtocolError")<{ readonly message: string }> {}

/** @since 0.1.0 */
export class HTTPServerError extends Data.TaggedError("HTTPServerError")<{ readonly message: string }> {}

/** @since 0.1.0 */
export class ResourceLimitError extends Data.TaggedError("ResourceLimitError")<{ readonly message: string }> {}

/** An emit callback was not answered within `ackTimeout`. @since 0.1.0 */
export class TimeoutError extends Data.TaggedError("TimeoutError")<{ readonly message: string }> {}

/** @since 0.1.0 */
export class BadConnectionError extends Data.TaggedError("BadConnectionError")<{
  readonly message: string
  /** `"disconnect"` or `"connectAbort"`. */
  readonly type: string
}> {}

/** @since 0.1.0 */
export class BrokerError extends Data.TaggedError("BrokerError")<{ readonly message: string }> {}

/** @since 0.1.0 */
export class ProcessExitError extends Data.TaggedError("ProcessExitError")<{
  readonly message: string
  readonly code: number
}> {}

/** @since 0.1.0 */
export class UnknownError extends Data.TaggedError("UnknownError")<{ readonly message: string }> {}

/**
 * Any error of the sc-errors catalogue.
 *
 * @since 0.1.0
 */
export type SCError =
  | AuthTokenExpiredError
  | AuthTokenInvalidError
  | AuthTokenNotBeforeError
  | AuthTokenError
  | AuthError
  | SilentMiddlewareBlockedError
  | InvalidActionError
  | InvalidArgumentsError
  | InvalidOptionsError
  | InvalidMessageError
  | SocketProtocolError
  | ServerProtocolError
  | HTTPServerError
  | ResourceLimitError
  | TimeoutError
  | BadConnectionError
  | BrokerError
  | ProcessExitError
  | UnknownError

/**
 * The wire names of the catalogue, in sc-errors order.
 *
 * @since 0.1.0
 */
export type SCErrorName = SCError["_tag"]

type Extras = Readonly<Record<string, unknown>>

interface CatalogueEntry {
  readonly constructor: abstract new (...args: never) => SCError
  /** Rebuilds the class from wire props, or `undefined` when the extras have the wrong types. */
  readonly fromWire: (message: string, extras: Extras) => SCError | undefined
}

const isExpiry = (u: unknown): u is Date | number | string =>
  u instanceof Date || typeof u === "number" || typeof u === "string"

const plain =
  <E extends SCError>(make: (args: { readonly message: string }) => E) =>
  (message: string, extras: Extras): E =>
    make({ ...extras, message })

/**
 * The catalogue, by wire name.
 *
 * @since 0.1.0
 */
const catalogue: { readonly [K in SCErrorName]: CatalogueEntry } = {
  AuthTokenExpiredError: {
    constructor: AuthTokenExpiredError,
    fromWire: (message, extras) =>
      isExpiry(extras.expiry) ? new AuthTokenExpiredError({ ...extras, message, expiry: extras.expiry }) : undefined
  },
  AuthTokenInvalidError: {
    constructor: AuthTokenInvalidError,
    fromWire: plain((a) => new AuthTokenInvalidError(a))
  },
  AuthTokenNotBeforeError: {
    constructor: AuthTokenNotBeforeError,
    fromWire: (message, extras) =>
      extras.date instanceof Date || typeof extras.date === "string"
        ? new AuthTokenNotBeforeError({ ...extras, message, date: extras.date })
        : undefined
  },
  AuthTokenError: { constructor: AuthTokenError, fromWire: plain((a) => new AuthTokenError(a)) },
  AuthError: { constructor: AuthError, fromWire: plain((a) => new AuthError(a)) },
  SilentMiddlewareBlockedError: {
    constructor: SilentMiddlewareBlockedError,
    fromWire: (message, extras) =>
      typeof extras.type === "string"
        ? new SilentMiddlewareBlockedError({ ...extras, message, type: extras.type })
        : undefined
  },
  InvalidActionError: { constructor: InvalidActionError, fromWire: plain((a) => new InvalidActionError(a)) },
  InvalidArgumentsError: { constructor: InvalidArgumentsError, fromWire: plain((a) => new InvalidArgumentsError(a)) },
  InvalidOptionsError: { constructor: InvalidOptionsError, fromWire: plain((a) => new InvalidOptionsError(a)) },
  InvalidMessageError: { constructor: InvalidMessageError, fromWire: plain((a) => new InvalidMessageError(a)) },
  SocketProtocolError: {
    constructor: SocketProtocolError,
    fromWire: (message, extras) =>
      typeof extras.code === "number" ? new SocketProtocolError({ ...extras, message, code: extras.code }) : undefined
  },
  ServerProtocolError: { constructor: ServerProtocolError, fromWire: plain((a) => new ServerProtocolError(a)) },
  HTTPServerError: { constructor: HTTPServerError, fromWire: plain((a) => new HTTPServerError(a)) },
  ResourceLimitError: { constructor: ResourceLimitError, fromWire: plain((a) => new ResourceLimitError(a)) },
  TimeoutError: { constructor: TimeoutError, fromWire: plain((a) => new TimeoutError(a)) },
  BadConnectionError: {
    constructor: BadConnectionError,
    fromWire: (message, extras) =>
      typeof extras.type === "string" ? new BadConnectionError({ ...extras, message, type: extras.type }) : undefined
  },
  BrokerError: { constructor: BrokerError, fromWire: plain((a) => new BrokerError(a)) },
  ProcessExitError: {
    constructor: ProcessExitError,
    fromWire: (message, extras) =>
      typeof extras.code === "number" ? new ProcessExitError({ ...extras, message, code: extras.code }) : undefined
  },
  UnknownError: { constructor: UnknownError, fromWire: plain((a) => new UnknownError(a)) }
}

/**
 * Every catalogue wire name.
 *
 * @since 0.1.0
 */
export const scErrorNames: ReadonlyArray<SCErrorName> = [
  "AuthTokenExpiredError",
  "AuthTokenInvalidError",
  "AuthTokenNotBeforeError",
  "AuthTokenError",
  "AuthError",
  "SilentMiddlewareBlockedError",
  "InvalidActionError",
  "InvalidArgumentsError",
  "InvalidOptionsError",
  "InvalidMessageError",
  "SocketProtocolError",
  "ServerProtocolError",
  "HTTPServerError",
  "ResourceLimitError",
  "TimeoutError",
  "BadConnectionError",
  "BrokerError",
  "ProcessExitError",
  "UnknownError"
]

/**
 * Whether `name` is a catalogue wire name.
 *
 * @since 0.1.0
 */
export const isSCErrorName = (name: unknown): name is SCErrorName =>
  typeof name === "string" && Object.hasOwn(catalogue, name)

/**
 * Whether `u` is an instance of a catalogue class.
 *
 * @since 0.1.0
 */
export const isSCError = (u: unknown): u is SCError => {
  if (!(u instanceof Error) || !("_tag" in u)) return false
  const tag = u._tag
  return isSCErrorName(tag) && u instanceof catalogue[tag].constructor
}

/**
 * An error with an arbitrary wire `name` (e.g. for handlers and middleware that answer
 * `{"name":"LoginError",...}`). `fields` are sent next to `message` and `name`.
 *
 * @example
 * ```ts
 * dehydrate(new ApplicationError({ name: "SmokeError", message: "boom", fields: { retry: 3 } }))
 * // { message: "boom", name: "SmokeError", retry: 3 }
 * ```
 * @since 0.1.0
 */
export class ApplicationError extends Data.TaggedError("ApplicationError")<{
  readonly name: string
  readonly message: string
  readonly fields?: Readonly<Record<string, unknown>>
}> {}

/** Keys of our own error classes that never go on the wire. */
const ownKeysNotSent = new Set(["_tag", "name", "message", "stack", "cause"])

/** sc-errors' `decycle`: a deep copy where repeated object references become `{$ref: path}`. */
const decycle = (root: unknown): unknown => {
  const seen = new Map<object, string>()
  const derez = (value: unknown, path: string): unknown => {
    if (
      typeof value !== "object" ||
      value === null ||
      value instanceof Date ||
      value instanceof RegExp ||
      value instanceof Boolean ||
      value instanceof Number ||
      value instanceof String ||
      // Kept as is so the codec writes them as base64 (sc-errors would copy them index by index).
      value instanceof ArrayBuffer ||
      ArrayBuffer.isView(value)
    ) {
      return value
    }
    const first = seen.get(value)
    if (first !== undefined) return { $ref: first }
    seen.set(value, path)
    if (Array.isArray(value)) {
      const copy: Array<unknown> = []
      for (let i = 0; i < value.length; i++) copy[i] = derez(value[i], `${path}[${i}]`)
      return copy
    }
    const copy: Record<string, unknown> = {}
    for (const key of Object.keys(value)) {
      copy[key] = derez(Reflect.get(value, key), `${path}[${JSON.stringify(key)}]`)
    }
    return copy
  }
  return derez(root, "$")
}

/**
 * sc-errors 2.x `dehydrateError`, as the v14 server puts errors on the wire (spec §13.1).
 *
 * - catalogue errors → `{message, name, ...extras}`; `ApplicationError` → `{message, name, ...fields}`
 * - any other object (e.g. `new Error("x")`) → `{message}` plus its own enumerable properties
 *   (so no `name` unless it was set as an own property)
 * - functions → `"[function <name>]"`; `null`/`undefined` → `null`; other primitives as is
 *
 * Never includes stack traces. Repeated references become `{"$ref":"$…"}`. Dates are kept
 * (the JSON codec writes them as ISO strings).
 *
 * @since 0.1.0
 */
export const dehydrate = (error: unknown): unknown => {
  if (error === null || error === undefined) return null
  if (typeof error === "function") return `[function ${typeof error.name === "string" ? error.name : "anonymous"}]`
  if (typeof error !== "object") return error
  if (error instanceof ApplicationError) {
    const out: Record<string, unknown> = { message: error.message, name: error.name }
    if (error.fields !== undefined) {
      for (const key of Object.keys(error.fields)) {
        if (key !== "message" && key !== "name") out[key] = error.fields[key]
      }
    }
    return decycle(out)
  }
  const out: Record<string, unknown> = { message: Reflect.get(error, "message") }
  if (isSCError(error)) {
    out.name = error.name
    for (const key of Object.keys(error)) {
      if (!ownKeysNotSent.has(key)) out[key] = Reflect.get(error, key)
    }
    return decycle(out)
  }
  for (const key of Object.keys(error)) out[key] = Reflect.get(error, key)
  return decycle(out)
}

/**
 * sc-errors 2.x `hydrateError` (spec §13.2): an object becomes an `Error` with its
 * properties copied and `name` set — an instance of the catalogue class when `name` is
 * a catalogue name (and its extras have the expected types); a primitive stays as is;
 * `null`/`undefined` → `null`.
 *
 * @since 0.1.0
 */
export const hydrate = (wire: unknown): unknown => {
  if (wire === null || wire === undefined) return null
  if (typeof wire !== "object") return wire
  const message = Reflect.get(wire, "message")
  const name = Reflect.get(wire, "name")
  if (typeof message === "string" && isSCErrorName(name) && !Array.isArray(wire)) {
    const extras: Record<string, unknown> = {}
    let clean = true
    for (const key of Object.keys(wire)) {
      if (key === "message" || key === "name") continue
      if (ownKeysNotSent.has(key) || key === "__proto__") {
        clean = false
        break
      }
      extras[key] = Reflect.get(wire, key)
    }
    const rebuilt = clean ? catalogue[name].fromWire(message, extras) : undefined
    if (rebuilt !== undefined) return rebuilt
  }
  const hydrated = new Error(typeof message === "string" ? message : "Invalid error message format")
  if (typeof name === "string") hydrated.name = name
  for (const key of Object.keys(wire)) {
    // sc-errors copies only what the fresh Error does not already have (keeps message/stack).
    if (Reflect.get(hydrated, key) === undefined) {
      Object.defineProperty(hydrated, key, {
        value: Reflect.get(wire, key),
        writable: true,
        enumerable: true,
        configurable: true
      })
    }
  }
  return hydrated
}
