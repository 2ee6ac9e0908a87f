/**
 * JSON Web Tokens as jsonwebtoken 8.5.1 makes and checks them (spec protocol.md §7): the
 * shape test, header and claim checks in jsonwebtoken's order and with its messages, the
 * claims a signature gets from its options, and the signing itself. `AuthEngine` builds
 * its keys and signature checks and runs these.
 */
import { createHmac, type KeyObject } from "node:crypto"
import {
  AuthTokenError,
  AuthTokenExpiredError,
  AuthTokenInvalidError,
  AuthTokenNotBeforeError,
  InvalidArgumentsError
} from "@effect-socketcluster/protocol"
import * as Effect from "effect/Effect"
import { CompactSign, type CryptoKey } from "jose"

/** Per-token signing options (jsonwebtoken's, minus `algorithm`, `encoding` and `mutatePayload`). */
export interface SignOptions {
  /** Seconds, or an `ms` timespan ("2h", "7d"; a bare "60" is 60 milliseconds). Default `authDefaultExpiry`. */
  readonly expiresIn?: number | string
  /** Seconds after `iat`, or an `ms` timespan. */
  readonly notBefore?: number | string
  readonly audience?: string | ReadonlyArray<string>
  readonly issuer?: string
  readonly subject?: string
  readonly jwtid?: string
  /** Omit `iat` (and drop one given in the payload). */
  readonly noTimestamp?: boolean
  /** Extra header parameters; `alg` may not differ from the configured algorithm. */
  readonly header?: Record<string, unknown>
  /** Becomes the header's `kid`. */
  readonly keyid?: string
}

/** A signed token and the payload as it was signed (with `iat`, `exp`, …). */
export interface SignedToken {
  readonly token: string
  readonly payload: unknown
}

/** Why a client-supplied token was refused, as the SocketCluster error v14 maps it to (§7.3). */
export type TokenVerificationError =
  | AuthTokenExpiredError
  | AuthTokenInvalidError
  | AuthTokenNotBeforeError
  | AuthTokenError

/** Checks a signature over `signingInput`; synchronous for HMAC so the handshake path stays off the microtask queue. */
export type SignatureCheck = (signingInput: string, signature: string) => boolean | Promise<boolean>

/** Produces the signature segment for `signingInput`, or the whole compact JWT for jose. */
export type Signer =
  | { readonly _tag: "Hmac"; readonly hash: string; readonly secret: KeyObject }
  | { readonly _tag: "Jose"; readonly key: CryptoKey }

/** Raw ECDSA signature length (r‖s) by algorithm, as ecdsa-sig-formatter checks it. */
const ecdsaSignatureBytes: Readonly<Record<string, number>> = { ES256: 64, ES384: 96, ES512: 132 }

export const errorMessage = (cause: unknown): string =>
  cause instanceof Error ? cause.message : typeof cause === "string" ? cause : "Unknown error"

// ---------------------------------------------------------------------------------------------
// Verification (jsonwebtoken 8.5.1 verify.js + decode.js + jws 3.x decode)

/** jws's shape test: non-empty header and payload, optional signature, base64url characters only. */
const jwsShape = /^[a-zA-Z0-9\-_]+?\.[a-zA-Z0-9\-_]+?\.([a-zA-Z0-9\-_]+)?$/

export class ParsedToken {
  constructor(
    readonly signingInput: string,
    readonly signature: string,
    readonly payload: unknown,
    readonly check: SignatureCheck
  ) {}
}

const tokenInvalid = (message: string) => new AuthTokenInvalidError({ message })

/** Reads a property of an object-like value; primitives have none of the claims we look for. */
export const claim = (value: unknown, key: string): unknown =>
  typeof value === "object" && value !== null ? Reflect.get(value, key) : undefined

const parseJson = (text: string): { readonly value: unknown } | undefined => {
  try {
    return { value: JSON.parse(text) }
  } catch {
    return undefined
  }
}

/** Checks 1–6 of §7.7 plus the ES signature length, in jsonwebtoken's order. */
export const parseToken = (
  token: unknown,
  checks: ReadonlyMap<string, SignatureCheck | undefined>
): ParsedToken | TokenVerificationError => {
  if (token === null || token === undefined || token === "") return tokenInvalid("jwt must be provided")
  // sc-auth's own check; jsonwebtoken's errors then map to AuthTokenInvalidError, this one to AuthTokenError.
  if (typeof token !== "string") return new AuthTokenError({ message: "Invalid token format - Token must be a string" })
  const parts = token.split(".")
  const [headerSegment, payloadSegment, signature] = parts
  if (parts.length !== 3 || headerSegment === undefined || payloadSegment === undefined || signature === undefined) {
    return tokenInvalid("jwt malformed")
  }
  if (!jwsShape.test(token)) return tokenInvalid("invalid token")
  // Node's base64 decoder accepts the url alphabet and any length, like jws.
  const header = parseJson(Buffer.from(headerSegment, "base64").toString("latin1"))?.value
  if (!header) return tokenInvalid("invalid token")

  let payload: unknown = Buffer.from(payloadSegment, "base64").toString("utf8")
  if (claim(header, "typ") === "JWT") {
    try {
      payload = JSON.parse(String(payload))
    } catch (cause) {
      // jws lets this SyntaxError escape; it is no JsonWebTokenError, so v14 maps it to AuthTokenError.
      return new AuthTokenError({ message: errorMessage(cause) })
    }
  }
  if (typeof payload === "string") {
    const reparsed = parseJson(payload)?.value
    if (typeof reparsed === "object" && reparsed !== null) payload = reparsed
  }

  if (signature.trim() === "") return tokenInvalid("jwt signature is required")
  const alg = claim(header, "alg")
  if (typeof alg !== "string" || !checks.has(alg)) return tokenInvalid("invalid algorithm")

  const ecdsaBytes = ecdsaSignatureBytes[alg]
  if (ecdsaBytes !== undefined) {
    const length = Buffer.from(signature, "base64").length
    if (length !== ecdsaBytes) {
      return new AuthTokenError({ message: `"${alg}" signatures must be "${ecdsaBytes}" bytes, saw "${length}"` })
    }
  }
  const check = checks.get(alg)
  return new ParsedToken(`${headerSegment}.${payloadSegment}`, signature, payload, check ?? (() => false))
}

/** Checks 7–9 of §7.7. */
export const afterSignature = (
  payload: unknown,
  valid: boolean,
  nowSeconds: number
): Effect.Effect<unknown, TokenVerificationError> => {
  if (!valid) return Effect.fail(tokenInvalid("invalid signature"))
  if (payload === null) {
    // jsonwebtoken reads `payload.nbf` and throws this TypeError (only a key holder can sign `null`).
    return Effect.fail(new AuthTokenError({ message: "Cannot read properties of null (reading 'nbf')" }))
  }
  const nbf = claim(payload, "nbf")
  if (nbf !== undefined) {
    if (typeof nbf !== "number") return Effect.fail(tokenInvalid("invalid nbf value"))
    if (nbf > nowSeconds) {
      return Effect.fail(new AuthTokenNotBeforeError({ message: "jwt not active", date: new Date(nbf * 1000) }))
    }
  }
  const exp = claim(payload, "exp")
  if (exp !== undefined) {
    if (typeof exp !== "number") return Effect.fail(tokenInvalid("invalid exp value"))
    if (nowSeconds >= exp) {
      return Effect.fail(new AuthTokenExpiredError({ message: "jwt expired", expiry: new Date(exp * 1000) }))
    }
  }
  return Effect.succeed(payload)
}

// ---------------------------------------------------------------------------------------------
// Signing (v14 socket.setAuthToken option handling + jsonwebtoken 8.5.1 sign.js)

export class PreparedSignature {
  constructor(
    readonly header: Record<string, unknown>,
    readonly payload: Record<string, unknown>
  ) {}
}

interface SignContext {
  readonly algorithm: string
  readonly defaultExpiry: number
  readonly nowSeconds: number
}

const isPlainObject = (value: unknown): value is Record<string, unknown> => {
  if (typeof value !== "object" || value === null) return false
  const proto: unknown = Object.getPrototypeOf(value)
  return proto === null || proto === Object.prototype
}

const isTimespan = (value: unknown): boolean => Number.isInteger(value) || (typeof value === "string" && value !== "")

/** jsonwebtoken's `sign_options_schema`, for the options this engine accepts. */
const signOptionValidators: Readonly<Record<string, readonly [(value: unknown) => boolean, string]>> = {
  expiresIn: [isTimespan, '"expiresIn" should be a number of seconds or string representing a timespan'],
  notBefore: [isTimespan, '"notBefore" should be a number of seconds or string representing a timespan'],
  audience: [(v) => typeof v === "string" || Array.isArray(v), '"audience" must be a string or array'],
  header: [isPlainObject, '"header" must be an object'],
  issuer: [(v) => typeof v === "string", '"issuer" must be a string'],
  subject: [(v) => typeof v === "string", '"subject" must be a string'],
  jwtid: [(v) => typeof v === "string", '"jwtid" must be a string'],
  noTimestamp: [(v) => typeof v === "boolean", '"noTimestamp" must be a boolean'],
  keyid: [(v) => typeof v === "string", '"keyid" must be a string']
}

/** jsonwebtoken's `registered_claims_schema`. */
const registeredClaims: ReadonlyArray<readonly [string, string]> = [
  ["iat", '"iat" should be a number of seconds'],
  ["exp", '"exp" should be a number of seconds'],
  ["nbf", '"nbf" should be a number of seconds']
]

/** Options that only make sense for object payloads, in jsonwebtoken's order. */
const objectOnlyOptions = ["expiresIn", "notBefore", "noTimestamp", "audience", "issuer", "subject", "jwtid"]

const optionsToClaims: ReadonlyArray<readonly [string, string]> = [
  ["audience", "aud"],
  ["issuer", "iss"],
  ["subject", "sub"],
  ["jwtid", "jti"]
]

const msUnits: Readonly<Record<string, number>> = (() => {
  const s = 1000
  const m = s * 60
  const h = m * 60
  const d = h * 24
  const table: Record<string, number> = {}
  const add = (names: ReadonlyArray<string>, value: number) => {
    for (const name of names) table[name] = value
  }
  add(["years", "year", "yrs", "yr", "y"], d * 365.25)
  add(["weeks", "week", "w"], d * 7)
  add(["days", "day", "d"], d)
  add(["hours", "hour", "hrs", "hr", "h"], h)
  add(["minutes", "minute", "mins", "min", "m"], m)
  add(["seconds", "second", "secs", "sec", "s"], s)
  add(["milliseconds", "millisecond", "msecs", "msec", "ms"], 1)
  return table
})()

const msPattern =
  /^(-?(?:\d+)?\.?\d+) *(milliseconds?|msecs?|ms|seconds?|secs?|s|minutes?|mins?|m|hours?|hrs?|h|days?|d|weeks?|w|years?|yrs?|y)?$/i

/** The `ms` package's parser (2.1.x): milliseconds, or undefined when not a timespan. */
const parseTimespanMs = (text: string): number | undefined => {
  if (text.length > 100) return undefined
  const match = msPattern.exec(text)
  if (match === null || match[1] === undefined) return undefined
  const unit = msUnits[(match[2] ?? "ms").toLowerCase()]
  return unit === undefined ? undefined : Number.parseFloat(match[1]) * unit
}

/** jsonwebtoken's `timespan(time, iat)`. */
const timespan = (time: unknown, timestamp: number): number | undefined => {
  if (typeof time === "number") return timestamp + time
  if (typeof time !== "string") return undefined
  const ms = parseTimespanMs(time)
  return ms === undefined ? undefined : Math.floor(timestamp + ms / 1000)
}

const signFailure = (message: string) => new AuthTokenError({ message })

export const prepareSignature = (
  payload: unknown,
  given: SignOptions,
  context: SignContext
): PreparedSignature | AuthTokenError | InvalidArgumentsError => {
  if (!isPlainObject(given)) return signFailure('Expected "options" to be a plain object.')
  const options: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(given)) {
    if (value !== undefined) options[key] = value
  }
  if ("algorithm" in options) {
    return new InvalidArgumentsError({
      message: "Cannot change auth token algorithm at runtime - It must be specified as a config option on launch"
    })
  }
  // v14: the default lifetime applies unless the payload carries its own exp.
  if (options.expiresIn === undefined || options.expiresIn === null) options.expiresIn = context.defaultExpiry
  if (payload && claim(payload, "exp") !== undefined && claim(payload, "exp") !== null) delete options.expiresIn

  const isObjectPayload = typeof payload === "object" && !Buffer.isBuffer(payload)
  let claims: Record<string, unknown>
  if (payload === undefined) return signFailure("payload is required")
  if (isObjectPayload) {
    if (!isPlainObject(payload)) return signFailure('Expected "payload" to be a plain object.')
    for (const [name, message] of registeredClaims) {
      if (Object.hasOwn(payload, name) && typeof payload[name] !== "number") return signFailure(message)
    }
    claims = { ...payload }
  } else {
    const misplaced = objectOnlyOptions.filter((key) => options[key] !== undefined)
    // Non-object payloads always carry expiresIn here (as in v14), so they never get further.
    return signFailure(`invalid ${misplaced.join(",")} option for ${typeof payload} payload`)
  }
  if (claims.exp !== undefined && options.expiresIn !== undefined) {
    return signFailure('Bad "options.expiresIn" option the payload already has an "exp" property.')
  }
  if (claims.nbf !== undefined && options.notBefore !== undefined) {
    return signFailure('Bad "options.notBefore" option the payload already has an "nbf" property.')
  }
  for (const [key, value] of Object.entries(options)) {
    const validator = signOptionValidators[key]
    if (validator === undefined) return signFailure(`"${key}" is not allowed in "options"`)
    if (!validator[0](value)) return signFailure(validator[1])
  }

  const header: Record<string, unknown> = {
    alg: context.algorithm,
    typ: "JWT",
    ...(typeof options.keyid === "string" ? { kid: options.keyid } : {}),
    ...(isPlainObject(options.header) ? options.header : {})
  }
  if (header.alg !== context.algorithm) {
    return signFailure(`"header.alg" must not differ from the configured algorithm ${context.algorithm}`)
  }

  const iat = claims.iat
  const timestamp = typeof iat === "number" && iat !== 0 && !Number.isNaN(iat) ? iat : context.nowSeconds
  if (options.noTimestamp === true) delete claims.iat
  else claims.iat = timestamp
  if (options.notBefore !== undefined) {
    const nbf = timespan(options.notBefore, timestamp)
    if (nbf === undefined) {
      return signFailure(
        '"notBefore" should be a number of seconds or string representing a timespan eg: "1d", "20h", 60'
      )
    }
    claims.nbf = nbf
  }
  if (options.expiresIn !== undefined) {
    const exp = timespan(options.expiresIn, timestamp)
    if (exp === undefined) {
      return signFailure(
        '"expiresIn" should be a number of seconds or string representing a timespan eg: "1d", "20h", 60'
      )
    }
    claims.exp = exp
  }
  for (const [option, name] of optionsToClaims) {
    if (options[option] === undefined) continue
    if (claims[name] !== undefined) {
      return signFailure(`Bad "options.${option}" option. The payload already has an "${name}" property.`)
    }
    claims[name] = options[option]
  }
  return new PreparedSignature(header, claims)
}

export const sign = (signer: Signer, prepared: PreparedSignature): Effect.Effect<SignedToken, AuthTokenError> => {
  let payloadJson: string
  try {
    payloadJson = JSON.stringify(prepared.payload)
  } catch (cause) {
    // BigInt, cycles, throwing toJSON: jws fails the same way.
    return Effect.fail(signFailure(errorMessage(cause)))
  }
  if (signer._tag === "Hmac") {
    const signingInput = `${Buffer.from(JSON.stringify(prepared.header)).toString("base64url")}.${Buffer.from(payloadJson).toString("base64url")}`
    const signature = createHmac(signer.hash, signer.secret).update(signingInput).digest("base64url")
    return Effect.succeed({ token: `${signingInput}.${signature}`, payload: prepared.payload })
  }
  return Effect.tryPromise({
    try: () =>
      new CompactSign(Buffer.from(payloadJson))
        .setProtectedHeader({ ...prepared.header, alg: String(prepared.header.alg) })
        .sign(signer.key),
    catch: (cause) => signFailure(errorMessage(cause))
  }).pipe(Effect.map((token) => ({ token, payload: prepared.payload })))
}
