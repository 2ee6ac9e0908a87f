/**
 * The JWT auth engine: signs and verifies auth tokens exactly as SocketCluster v14 does
 * through jsonwebtoken 8.5.1 (spec protocol.md §7) — same defaults, claim layout, checks,
 * check order and messages — on `node:crypto` for HMAC and `jose` for RSA/EC keys.
 *
 * Verification failures are already mapped to the SocketCluster errors of §7.3, so the
 * handshake and `#authenticate` can put them on the wire unchanged.
 *
 * @example
 * ```ts
 * import { AuthEngine } from "@effect-socketcluster/server"
 * const program = Effect.gen(function*() {
 *   const auth = yield* AuthEngine.AuthEngine
 *   const { token } = yield* auth.signToken({ username: "alice" })
 *   const payload = yield* auth.verifyToken(token) // { username, iat, exp }
 * }).pipe(Effect.provide(AuthEngine.AuthEngine.layer({ authKey: Redacted.make(secret) })))
 * ```
 */
import {
  createHmac,
  createPrivateKey,
  createPublicKey,
  createSecretKey,
  type KeyObject,
  randomBytes,
  timingSafeEqual,
  X509Certificate
} from "node:crypto"
import {
  AuthTokenError,
  AuthTokenExpiredError,
  AuthTokenInvalidError,
  AuthTokenNotBeforeError,
  InvalidArgumentsError,
  InvalidOptionsError
} from "@effect-socketcluster/protocol"
import { Config, Context, Effect, Layer, Option, Redacted } from "effect"
import { CompactSign, type CryptoKey, flattenedVerify, importPKCS8, importSPKI } from "jose"

/** Engine options, as v14's server options of the same names (spec protocol.md §7.1). */
export interface AuthOptions {
  /** HMAC secret. When absent (and no key pair), 32 random bytes as 64 hex chars — tokens then die with the process. */
  readonly authKey?: Redacted.Redacted<string> | string
  /** PEM private key (PKCS#8, PKCS#1 or SEC1); requires {@link authPublicKey}. */
  readonly authPrivateKey?: Redacted.Redacted<string> | string
  /** PEM public key or certificate; requires {@link authPrivateKey}. */
  readonly authPublicKey?: string
  /**
   * Signing algorithm; default HS256. Also the only accepted algorithm on verify unless
   * `authVerifyAlgorithms` is set. With a key pair set it to an asymmetric one (RS256, ES256, …):
   * like v14, an unset algorithm signs HS256 with the private PEM text as secret, and the
   * public-key verification then rejects those tokens with `invalid algorithm`.
   */
  readonly authAlgorithm?: string
  /** Accepted `alg` values; default inferred from the verification key like jsonwebtoken. */
  readonly authVerifyAlgorithms?: ReadonlyArray<string>
  /** Token lifetime in seconds when the payload has no `exp`; default 86400. */
  readonly authDefaultExpiry?: number
  /**
   * Accept HMAC keys shorter than 256 bits (32 bytes). Default false: such keys are refused with
   * `InvalidOptionsError`. v14 accepted any key, so the compat layer sets this.
   */
  readonly allowWeakKeys?: boolean
}

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

/** What the server tells an engine about the socket whose token it verifies (v14 passed the socket in `options.socket`). */
export interface VerifyContext {
  readonly socketId: string
}

/**
 * Signs and verifies auth tokens. The default implementation is {@link AuthEngine.layer};
 * supply another layer to plug in a custom engine.
 */
export class AuthEngine extends Context.Service<
  AuthEngine,
  {
    /**
     * Signs `payload` as v14's `socket.setAuthToken` does (§7.2): `iat` unless `noTimestamp`,
     * `exp = iat + (expiresIn ?? authDefaultExpiry)` unless the payload has `exp`, then
     * `nbf`/`aud`/`iss`/`sub`/`jti` from the options; header `{alg, typ: "JWT"}` (+ `kid`).
     * Does not mutate `payload`. Fails with `AuthTokenError` carrying jsonwebtoken's message on bad
     * input (non-object or `null` payload, payload `iss` plus `issuer`, unknown option, …), and with
     * `InvalidArgumentsError` when the options carry `algorithm` (the server must strip it and warn,
     * as v14 does).
     */
    readonly signToken: (
      payload: unknown,
      options?: SignOptions
    ) => Effect.Effect<SignedToken, AuthTokenError | InvalidArgumentsError>
    /**
     * Verifies a client-supplied token with jsonwebtoken 8.5.1's checks in its order (§7.7) and
     * succeeds with the decoded payload (which may be any JSON value, even a bare string).
     */
    readonly verifyToken: (token: unknown, context?: VerifyContext) => Effect.Effect<unknown, TokenVerificationError>
    /**
     * Whether the server also asks this engine about a handshake without a token (with
     * `token` null), as v14 asks its engines: a payload it returns authenticates the
     * socket. Unset for the built-in engine; the compat facade sets it for v14 engines.
     */
    readonly verifyMissingTokens?: boolean
  }
>()("@effect-socketcluster/server/AuthEngine") {
  /** Builds the jose/node:crypto engine; fails on inconsistent or weak keys. */
  static readonly make = (options: AuthOptions = {}): Effect.Effect<AuthEngine["Service"], InvalidOptionsError> =>
    makeEngine(options)

  /** {@link make} as a layer. */
  static readonly layer = (options: AuthOptions = {}): Layer.Layer<AuthEngine, InvalidOptionsError> =>
    Layer.effect(AuthEngine, makeEngine(options))

  /**
   * The engine with options from `Config`: `AUTH_KEY`, `AUTH_PRIVATE_KEY` (both redacted),
   * `AUTH_PUBLIC_KEY`, `AUTH_ALGORITHM`, `AUTH_VERIFY_ALGORITHMS` (comma-separated),
   * `AUTH_DEFAULT_EXPIRY` (seconds) — all optional.
   */
  static readonly layerConfig: Layer.Layer<AuthEngine, InvalidOptionsError | Config.ConfigError> = Layer.effect(
    AuthEngine,
    Effect.gen(function* () {
      const read = yield* Config.all({
        authKey: Config.option(Config.Redacted("AUTH_KEY")),
        authPrivateKey: Config.option(Config.Redacted("AUTH_PRIVATE_KEY")),
        authPublicKey: Config.option(Config.String("AUTH_PUBLIC_KEY")),
        authAlgorithm: Config.option(Config.String("AUTH_ALGORITHM")),
        authVerifyAlgorithms: Config.option(Config.String("AUTH_VERIFY_ALGORITHMS")),
        authDefaultExpiry: Config.option(Config.Int("AUTH_DEFAULT_EXPIRY"))
      })
      const options: AuthOptions = {
        ...Option.match(read.authKey, { onNone: () => ({}), onSome: (authKey) => ({ authKey }) }),
        ...Option.match(read.authPrivateKey, { onNone: () => ({}), onSome: (authPrivateKey) => ({ authPrivateKey }) }),
        ...Option.match(read.authPublicKey, { onNone: () => ({}), onSome: (authPublicKey) => ({ authPublicKey }) }),
        ...Option.match(read.authAlgorithm, { onNone: () => ({}), onSome: (authAlgorithm) => ({ authAlgorithm }) }),
        ...Option.match(read.authVerifyAlgorithms, {
          onNone: () => ({}),
          onSome: (list) => ({ authVerifyAlgorithms: list.split(",").map((alg) => alg.trim()) })
        }),
        ...Option.match(read.authDefaultExpiry, {
          onNone: () => ({}),
          onSome: (authDefaultExpiry) => ({ authDefaultExpiry })
        })
      }
      return yield* makeEngine(options)
    })
  )
}

/** A fresh random HMAC key as v14 generates one: 32 random bytes as 64 hex chars. */
export const generateAuthKey = (): string => randomBytes(32).toString("hex")

/**
 * Whether the decoded token has expired, checked as v14 does after authentication (§7.6):
 * `exp` present and `nowMs > exp * 1000`. Non-object payloads never expire.
 */
export const isTokenExpired = (payload: unknown, nowMs: number): boolean => {
  const exp = claim(payload, "exp")
  if (exp === undefined || exp === null || typeof exp === "symbol" || typeof exp === "bigint") return false
  return nowMs > Number(exp) * 1000
}

/** The token's `exp` claim when it is a number (the `expiry` of the mid-session `AuthTokenExpiredError`). */
export const tokenExpiry = (payload: unknown): number | undefined => {
  const exp = claim(payload, "exp")
  return typeof exp === "number" ? exp : undefined
}

// ---------------------------------------------------------------------------------------------
// Algorithms and keys

const hmacAlgorithms: ReadonlyArray<string> = ["HS256", "HS384", "HS512"]
/** jsonwebtoken 8.5.1's RSA_KEY_ALGS (with PS*, supported on every Node we run on). */
const rsaKeyAlgorithms: ReadonlyArray<string> = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512"]
/** jsonwebtoken 8.5.1's PUB_KEY_ALGS. */
const publicKeyAlgorithms: ReadonlyArray<string> = [...rsaKeyAlgorithms, "ES256", "ES384", "ES512"]
const supportedAlgorithms: ReadonlySet<string> = new Set([...hmacAlgorithms, ...publicKeyAlgorithms])

const isHmacAlgorithm = (alg: string): boolean => alg.startsWith("HS")

const hmacHash = (alg: string): string => `sha${alg.slice(2)}`

/** Raw ECDSA signature length (r‖s) by algorithm, as ecdsa-sig-formatter checks it. */
const ecdsaSignatureBytes: Readonly<Record<string, number>> = { ES256: 64, ES384: 96, ES512: 132 }

/** jsonwebtoken's inference of accepted algorithms from the verification key text. */
const inferVerifyAlgorithms = (keyText: string): ReadonlyArray<string> =>
  keyText.includes("BEGIN CERTIFICATE") || keyText.includes("BEGIN PUBLIC KEY")
    ? publicKeyAlgorithms
    : keyText.includes("BEGIN RSA PUBLIC KEY")
      ? rsaKeyAlgorithms
      : hmacAlgorithms

const reveal = (key: Redacted.Redacted<string> | string): string =>
  Redacted.isRedacted(key) ? Redacted.value(key) : key

const invalidOptions = (message: string) => new InvalidOptionsError({ message })

const errorMessage = (cause: unknown): string =>
  cause instanceof Error ? cause.message : typeof cause === "string" ? cause : "Unknown error"

// HMAC keys are KeyObjects: createHmac with a raw Buffer key costs ~15 µs a call on Node 24, with a KeyObject ~2 µs.

/** Checks a signature over `signingInput`; synchronous for HMAC so the handshake path stays off the microtask queue. */
type SignatureCheck = (signingInput: string, signature: string) => boolean | Promise<boolean>

/** Produces the signature segment for `signingInput`, or the whole compact JWT for jose. */
type Signer =
  | { readonly _tag: "Hmac"; readonly hash: string; readonly secret: KeyObject }
  | { readonly _tag: "Jose"; readonly key: CryptoKey }

const hmacCheck =
  (hash: string, secret: KeyObject): SignatureCheck =>
  (signingInput, signature) => {
    // jwa compares the base64url text, so a non-canonical encoding of the right bytes fails too.
    const expected = Buffer.from(createHmac(hash, secret).update(signingInput).digest("base64url"))
    const given = Buffer.from(signature)
    return given.length === expected.length && timingSafeEqual(given, expected)
  }

const joseCheck =
  (key: CryptoKey, alg: string): SignatureCheck =>
  (signingInput, signature) => {
    const dot = signingInput.indexOf(".")
    return flattenedVerify(
      { protected: signingInput.slice(0, dot), payload: signingInput.slice(dot + 1), signature },
      key,
      { algorithms: [alg] }
    ).then(
      () => true,
      // jose also refuses some headers jsonwebtoken ignores (e.g. `crit`); those need the key holder's help.
      () => false
    )
  }

const publicKeyObject = (pem: string): KeyObject =>
  pem.includes("BEGIN CERTIFICATE") ? new X509Certificate(pem).publicKey : createPublicKey(pem)

const importPublicKey = (publicKey: KeyObject, alg: string): Effect.Effect<Option.Option<CryptoKey>> =>
  Effect.promise(() =>
    importSPKI(String(publicKey.export({ type: "spki", format: "pem" })), alg).then(
      (key) => Option.some(key),
      // jsonwebtoken lists ES* next to RS* for any "BEGIN PUBLIC KEY"; such tokens just fail their signature.
      () => Option.none()
    )
  )

const makeEngine = Effect.fnUntraced(function* (options: AuthOptions) {
  const authDefaultExpiry = options.authDefaultExpiry ?? 86400
  if (!Number.isInteger(authDefaultExpiry)) {
    return yield* invalidOptions("The authDefaultExpiry option must be an integer number of seconds")
  }
  for (const alg of [
    ...(options.authAlgorithm === undefined ? [] : [options.authAlgorithm]),
    ...(options.authVerifyAlgorithms ?? [])
  ]) {
    if (!supportedAlgorithms.has(alg)) {
      return yield* invalidOptions(
        `Unsupported JWT algorithm "${alg}" - Expected one of ${[...supportedAlgorithms].join(", ")}`
      )
    }
  }
  const signAlgorithm = options.authAlgorithm ?? "HS256"

  let signer: Signer
  let verificationKeyText: string
  let publicKey: KeyObject | undefined
  if (options.authPrivateKey !== undefined || options.authPublicKey !== undefined) {
    if (options.authPrivateKey === undefined) {
      return yield* invalidOptions("The authPrivateKey option must be specified if authPublicKey is specified")
    }
    if (options.authPublicKey === undefined) {
      return yield* invalidOptions("The authPublicKey option must be specified if authPrivateKey is specified")
    }
    const privatePem = reveal(options.authPrivateKey)
    const publicPem = options.authPublicKey
    const privateKey = yield* Effect.try({
      try: () => createPrivateKey(privatePem),
      catch: () => invalidOptions("The authPrivateKey option must be a PEM private key")
    })
    publicKey = yield* Effect.try({
      try: () => publicKeyObject(publicPem),
      catch: () => invalidOptions("The authPublicKey option must be a PEM public key or certificate")
    })
    verificationKeyText = publicPem
    if (isHmacAlgorithm(signAlgorithm)) {
      // v14 with a key pair but no authAlgorithm: HS256 keyed with the PEM text (see AuthOptions.authAlgorithm).
      signer = { _tag: "Hmac", hash: hmacHash(signAlgorithm), secret: createSecretKey(Buffer.from(privatePem)) }
    } else {
      const pkcs8 = String(privateKey.export({ type: "pkcs8", format: "pem" }))
      const key = yield* Effect.tryPromise({
        try: () => importPKCS8(pkcs8, signAlgorithm),
        catch: () => invalidOptions(`The authPrivateKey option cannot sign with the ${signAlgorithm} algorithm`)
      })
      signer = { _tag: "Jose", key }
    }
  } else {
    const authKey = options.authKey === undefined ? generateAuthKey() : reveal(options.authKey)
    const secret = Buffer.from(authKey)
    if (secret.length === 0) return yield* invalidOptions("The authKey option must not be empty")
    if (secret.length < 32 && options.allowWeakKeys !== true) {
      return yield* invalidOptions(
        "The authKey option must be at least 32 bytes (256 bits) long - Pass allowWeakKeys: true to accept a shorter key"
      )
    }
    if (!isHmacAlgorithm(signAlgorithm)) {
      return yield* invalidOptions(
        `The ${signAlgorithm} algorithm needs the authPrivateKey and authPublicKey options instead of authKey`
      )
    }
    signer = { _tag: "Hmac", hash: hmacHash(signAlgorithm), secret: createSecretKey(secret) }
    verificationKeyText = authKey
  }

  const verifyAlgorithms =
    options.authVerifyAlgorithms ??
    (options.authAlgorithm === undefined ? inferVerifyAlgorithms(verificationKeyText) : [options.authAlgorithm])
  const checks = new Map<string, SignatureCheck | undefined>()
  for (const alg of verifyAlgorithms) {
    if (isHmacAlgorithm(alg)) {
      if (publicKey !== undefined) {
        // jsonwebtoken would use the public PEM as an HMAC secret: anyone could forge tokens.
        return yield* invalidOptions(`The ${alg} algorithm cannot be verified with authPublicKey - Use authKey instead`)
      }
      checks.set(alg, hmacCheck(hmacHash(alg), createSecretKey(Buffer.from(verificationKeyText))))
    } else {
      if (publicKey === undefined) {
        return yield* invalidOptions(`The ${alg} algorithm needs the authPrivateKey and authPublicKey options`)
      }
      const imported = yield* importPublicKey(publicKey, alg)
      checks.set(alg, Option.match(imported, { onNone: () => undefined, onSome: (key) => joseCheck(key, alg) }))
    }
  }

  return AuthEngine.of({
    signToken: (payload, signOptions) =>
      Effect.clockWith((clock) => {
        const prepared = prepareSignature(payload, signOptions ?? {}, {
          algorithm: signAlgorithm,
          defaultExpiry: authDefaultExpiry,
          nowSeconds: Math.floor(clock.currentTimeMillisUnsafe() / 1000)
        })
        if (!(prepared instanceof PreparedSignature)) return Effect.fail(prepared)
        return sign(signer, prepared)
      }),
    verifyToken: (token) =>
      Effect.clockWith((clock) => {
        const nowSeconds = Math.floor(clock.currentTimeMillisUnsafe() / 1000)
        const parsed = parseToken(token, checks)
        if (!(parsed instanceof ParsedToken)) return Effect.fail(parsed)
        const valid = parsed.check(parsed.signingInput, parsed.signature)
        if (typeof valid === "boolean") return afterSignature(parsed.payload, valid, nowSeconds)
        return Effect.flatMap(
          Effect.promise(() => valid),
          (ok) => afterSignature(parsed.payload, ok, nowSeconds)
        )
      })
  })
})

// ---------------------------------------------------------------------------------------------
// Verification (jsonwebtoken 8.5.1 verify.js + decode.js + jws 3.x decode)

/** jws's shape test: non-empty header and payload, optional signature, base64url characters only. */
const jwsShape = /^[a-zA-Z0-9\-_]+?\.[a-zA-Z0-9\-_]+?\.([a-zA-Z0-9\-_]+)?$/

class ParsedToken {
  constructor(
    readonly signingInput: string,
    readonly signature: string,
    readonly payload: unknown,
    readonly check: SignatureCheck
  ) {}
}

const tokenInvalid = (message: string) => new AuthTokenInvalidError({ message })

/** Reads a property of an object-like value; primitives have none of the claims we look for. */
const claim = (value: unknown, key: string): unknown =>
  typeof value === "object" && value !== null ? Reflect.get(value, key) : undefined

const parseJson = (text: string): { readonly value: unknown } | undefined => {
  try {
    return { value: JSON.parse(text) }
  } catch {
    return undefined
  }
}

/** Checks 1–6 of §7.7 plus the ES signature length, in jsonwebtoken's order. */
const parseToken = (
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
const afterSignature = (
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

class PreparedSignature {
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

const prepareSignature = (
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

const sign = (signer: Signer, prepared: PreparedSignature): Effect.Effect<SignedToken, AuthTokenError> => {
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
