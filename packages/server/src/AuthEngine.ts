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
import { type AuthTokenError, type InvalidArgumentsError, InvalidOptionsError } from "@effect-socketcluster/protocol"
import * as Config from "effect/Config"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import { type CryptoKey, flattenedVerify, importPKCS8, importSPKI } from "jose"
import {
  afterSignature,
  claim,
  ParsedToken,
  PreparedSignature,
  parseToken,
  prepareSignature,
  type SignatureCheck,
  type SignedToken,
  type Signer,
  type SignOptions,
  sign,
  type TokenVerificationError
} from "./Jwt.js"

export type { SignedToken, SignOptions, TokenVerificationError }

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

// HMAC keys are KeyObjects: createHmac with a raw Buffer key costs ~15 µs a call on Node 24, with a KeyObject ~2 µs.

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
