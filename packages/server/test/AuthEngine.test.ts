import { createHmac, generateKeyPairSync } from "node:crypto"
import { assert, describe, it } from "@effect/vitest"
import {
  AuthTokenError,
  AuthTokenExpiredError,
  AuthTokenInvalidError,
  AuthTokenNotBeforeError,
  InvalidArgumentsError,
  InvalidOptionsError
} from "@effect-socketcluster/protocol"
import { ConfigProvider, Effect, Exit, Redacted } from "effect"
import { TestClock } from "effect/testing"
import * as fc from "fast-check"
import {
  AuthEngine,
  type AuthOptions,
  isTokenExpired,
  type TokenVerificationError,
  tokenExpiry
} from "../src/AuthEngine.js"

const authKey = "0123456789abcdef0123456789abcdef-test-key"
/** 2026-11-26T00:00:00.000Z, a whole second. */
const startMs = Date.UTC(2026, 10, 26)
const startSeconds = startMs / 1000

const b64 = (text: string | Buffer): string => Buffer.from(text).toString("base64url")
const json = (value: unknown): string => b64(JSON.stringify(value))

/** A token signed by hand, so tests can build what jsonwebtoken would accept or refuse. */
const hs256 = (headerSegment: string, payloadSegment: string, key = authKey): string => {
  const input = `${headerSegment}.${payloadSegment}`
  return `${input}.${createHmac("sha256", key).update(input).digest("base64url")}`
}
const jwtHeader = json({ alg: "HS256", typ: "JWT" })

const decodeSegment = (token: string, index: number): unknown =>
  JSON.parse(Buffer.from(token.split(".")[index] ?? "", "base64url").toString("utf8"))

const engine = (options: AuthOptions = { authKey }) =>
  Effect.gen(function* () {
    yield* TestClock.setTime(startMs)
    return yield* AuthEngine.make(options)
  })

/** The verification error, failing the test if verification succeeded or died. */
const verifyError = (auth: AuthEngine["Service"], token: unknown) =>
  Effect.gen(function* () {
    const exit = yield* Effect.exit(auth.verifyToken(token))
    if (Exit.isSuccess(exit)) return assert.fail(`expected a failure, got ${JSON.stringify(exit.value)}`)
    const error = exit.cause.reasons.find((reason) => reason._tag === "Fail")
    if (error === undefined || error._tag !== "Fail") return assert.fail(`expected a typed failure, got a defect`)
    return error.error
  })

const assertInvalid = (error: TokenVerificationError, message: string) => {
  assert.instanceOf(error, AuthTokenInvalidError)
  assert.strictEqual(error.message, message)
}

const optionsError = (options: AuthOptions) =>
  Effect.gen(function* () {
    const exit = yield* Effect.exit(AuthEngine.make(options))
    if (Exit.isSuccess(exit)) return assert.fail("expected InvalidOptionsError")
    const reason = exit.cause.reasons[0]
    if (reason === undefined || reason._tag !== "Fail") return assert.fail("expected a typed failure")
    assert.instanceOf(reason.error, InvalidOptionsError)
    return reason.error.message
  })

describe("AuthEngine: signing (spec §7.2)", () => {
  it.effect("signs HS256 with iat and exp = iat + 86400 by default, and verifies its own token", () =>
    Effect.gen(function* () {
      const auth = yield* engine()
      const signed = yield* auth.signToken({ username: "alice", extra: [1, 2] })
      const expected = { username: "alice", extra: [1, 2], iat: startSeconds, exp: startSeconds + 86400 }
      assert.deepStrictEqual(signed.payload, expected)
      assert.strictEqual(signed.token.split(".")[0], b64('{"alg":"HS256","typ":"JWT"}'))
      assert.deepStrictEqual(decodeSegment(signed.token, 1), expected)
      assert.strictEqual(
        signed.token,
        hs256(b64('{"alg":"HS256","typ":"JWT"}'), b64(JSON.stringify(expected))),
        "the signature is jsonwebtoken's"
      )
      assert.deepStrictEqual(yield* auth.verifyToken(signed.token), expected)
    })
  )

  it.effect("does not mutate the caller's payload", () =>
    Effect.gen(function* () {
      const auth = yield* engine()
      const data = { username: "bob" }
      yield* auth.signToken(data)
      assert.deepStrictEqual(data, { username: "bob" })
    })
  )

  it.effect("honours expiresIn (seconds or ms timespan), authDefaultExpiry and a payload exp", () =>
    Effect.gen(function* () {
      const auth = yield* engine({ authKey, authDefaultExpiry: 60 })
      assert.deepStrictEqual((yield* auth.signToken({ a: 1 })).payload, {
        a: 1,
        iat: startSeconds,
        exp: startSeconds + 60
      })
      assert.deepStrictEqual((yield* auth.signToken({ a: 1 }, { expiresIn: 5 })).payload, {
        a: 1,
        iat: startSeconds,
        exp: startSeconds + 5
      })
      assert.deepStrictEqual((yield* auth.signToken({ a: 1 }, { expiresIn: "2h" })).payload, {
        a: 1,
        iat: startSeconds,
        exp: startSeconds + 7200
      })
      // ms without a unit means milliseconds, as in jsonwebtoken.
      assert.deepStrictEqual((yield* auth.signToken({ a: 1 }, { expiresIn: "1500" })).payload, {
        a: 1,
        iat: startSeconds,
        exp: startSeconds + 1
      })
      // the payload's exp wins over both the default and the option (v14 drops expiresIn)
      const own = yield* auth.signToken({ a: 1, exp: startSeconds + 3 }, { expiresIn: 999 })
      assert.deepStrictEqual(own.payload, { a: 1, exp: startSeconds + 3, iat: startSeconds })
      // an iat in the payload is the base of the timespans
      assert.deepStrictEqual((yield* auth.signToken({ iat: startSeconds - 10 })).payload, {
        iat: startSeconds - 10,
        exp: startSeconds - 10 + 60
      })
    })
  )

  it.effect("maps notBefore, audience, issuer, subject, jwtid, keyid, header and noTimestamp", () =>
    Effect.gen(function* () {
      const auth = yield* engine()
      const signed = yield* auth.signToken(
        { a: 1 },
        {
          notBefore: 0,
          audience: ["x", "y"],
          issuer: "me",
          subject: "alice",
          jwtid: "j1",
          keyid: "k1",
          header: { cty: "t" }
        }
      )
      assert.deepStrictEqual(signed.payload, {
        a: 1,
        iat: startSeconds,
        nbf: startSeconds,
        exp: startSeconds + 86400,
        aud: ["x", "y"],
        iss: "me",
        sub: "alice",
        jti: "j1"
      })
      assert.deepStrictEqual(decodeSegment(signed.token, 0), { alg: "HS256", typ: "JWT", kid: "k1", cty: "t" })
      const untimed = yield* auth.signToken({ a: 1, iat: 5 }, { noTimestamp: true, expiresIn: 10 })
      assert.deepStrictEqual(untimed.payload, { a: 1, exp: 15 })
    })
  )

  it.effect("uses authAlgorithm for signing", () =>
    Effect.gen(function* () {
      const auth = yield* engine({ authKey, authAlgorithm: "HS512" })
      const { token } = yield* auth.signToken({ a: 1 })
      assert.deepStrictEqual(decodeSegment(token, 0), { alg: "HS512", typ: "JWT" })
      assert.deepStrictEqual(yield* auth.verifyToken(token), { a: 1, iat: startSeconds, exp: startSeconds + 86400 })
    })
  )

  it.effect("fails with jsonwebtoken's messages on bad input", () =>
    Effect.gen(function* () {
      const auth = yield* engine()
      const failure = (payload: unknown, options?: Parameters<typeof auth.signToken>[1]) =>
        Effect.flip(auth.signToken(payload, options))
      const cases: ReadonlyArray<readonly [unknown, string]> = [
        [null, 'Expected "payload" to be a plain object.'],
        [[1, 2], 'Expected "payload" to be a plain object.'],
        ["abc", "invalid expiresIn option for string payload"],
        [42, "invalid expiresIn option for number payload"],
        [undefined, "payload is required"],
        [{ exp: "tomorrow" }, '"exp" should be a number of seconds'],
        [{ iat: "now" }, '"iat" should be a number of seconds'],
        [{ big: 1n }, "Do not know how to serialize a BigInt"]
      ]
      for (const [payload, message] of cases) {
        const error = yield* failure(payload)
        assert.instanceOf(error, AuthTokenError, String(payload))
        assert.strictEqual(error.message, message)
      }
      const clash = yield* failure({ iss: "a" }, { issuer: "b" })
      assert.strictEqual(clash.message, 'Bad "options.issuer" option. The payload already has an "iss" property.')
      const nbfClash = yield* failure({ nbf: 1 }, { notBefore: 1 })
      assert.strictEqual(nbfClash.message, 'Bad "options.notBefore" option the payload already has an "nbf" property.')
      const badSpan = yield* failure({}, { expiresIn: "soon" })
      assert.strictEqual(
        badSpan.message,
        '"expiresIn" should be a number of seconds or string representing a timespan eg: "1d", "20h", 60'
      )
      const fraction = yield* failure({}, { expiresIn: 1.5 })
      assert.strictEqual(
        fraction.message,
        '"expiresIn" should be a number of seconds or string representing a timespan'
      )
      const unknownOption = yield* failure({}, JSON.parse('{"encoding":"utf8"}'))
      assert.strictEqual(unknownOption.message, '"encoding" is not allowed in "options"')
      const algorithm = yield* failure({}, JSON.parse('{"algorithm":"HS512"}'))
      assert.instanceOf(algorithm, InvalidArgumentsError)
      assert.strictEqual(
        algorithm.message,
        "Cannot change auth token algorithm at runtime - It must be specified as a config option on launch"
      )
      const headerAlg = yield* failure({}, { header: { alg: "none" } })
      assert.instanceOf(headerAlg, AuthTokenError)
    })
  )
})

describe("AuthEngine: verification (spec §7.3, §7.7)", () => {
  it.effect("rejects an expired token with AuthTokenExpiredError and the exp Date, at floor(now/1000) >= exp", () =>
    Effect.gen(function* () {
      const auth = yield* engine()
      const { token } = yield* auth.signToken({ a: 1 }, { expiresIn: 10 })
      yield* TestClock.adjust("9999 millis")
      assert.deepStrictEqual(yield* auth.verifyToken(token), { a: 1, iat: startSeconds, exp: startSeconds + 10 })
      yield* TestClock.adjust("1 millis")
      const error = yield* verifyError(auth, token)
      assert.instanceOf(error, AuthTokenExpiredError)
      assert.strictEqual(error.message, "jwt expired")
      assert.instanceOf(error.expiry, Date)
      assert.strictEqual(error.expiry instanceof Date && error.expiry.getTime(), startMs + 10_000)
    })
  )

  it.effect("rejects a token before its nbf with AuthTokenNotBeforeError and the nbf Date", () =>
    Effect.gen(function* () {
      const auth = yield* engine()
      const { token } = yield* auth.signToken({ a: 1 }, { notBefore: 60 })
      const error = yield* verifyError(auth, token)
      assert.instanceOf(error, AuthTokenNotBeforeError)
      assert.strictEqual(error.message, "jwt not active")
      assert.strictEqual(error.date instanceof Date && error.date.toISOString(), "2026-11-26T00:01:00.000Z")
      yield* TestClock.adjust("60 seconds")
      assert.deepStrictEqual(yield* auth.verifyToken(token), {
        a: 1,
        iat: startSeconds,
        nbf: startSeconds + 60,
        exp: startSeconds + 86400
      })
    })
  )

  it.effect("checks nbf before exp and rejects non-numeric claims", () =>
    Effect.gen(function* () {
      const auth = yield* engine()
      const both = hs256(jwtHeader, json({ nbf: startSeconds + 5, exp: startSeconds - 5 }))
      assert.instanceOf(yield* verifyError(auth, both), AuthTokenNotBeforeError)
      assertInvalid(yield* verifyError(auth, hs256(jwtHeader, json({ exp: "soon" }))), "invalid exp value")
      assertInvalid(yield* verifyError(auth, hs256(jwtHeader, json({ nbf: null }))), "invalid nbf value")
    })
  )

  it.effect("rejects a tampered signature, a tampered payload and another key with 'invalid signature'", () =>
    Effect.gen(function* () {
      const auth = yield* engine()
      const { token } = yield* auth.signToken({ role: "user" })
      const [header, payload, signature = ""] = token.split(".")
      const flipped = `${signature.slice(0, -1)}${signature.endsWith("A") ? "B" : "A"}`
      assertInvalid(yield* verifyError(auth, `${header}.${payload}.${flipped}`), "invalid signature")
      const forged = `${header}.${json({ role: "admin", iat: startSeconds, exp: startSeconds + 86400 })}.${signature}`
      assertInvalid(yield* verifyError(auth, forged), "invalid signature")
      const other = yield* AuthEngine.make({ authKey: `${authKey}-other` })
      assertInvalid(yield* verifyError(other, token), "invalid signature")
      // two engines with generated keys reject each other's tokens (v14 behaviours #83)
      const first = yield* AuthEngine.make()
      const second = yield* AuthEngine.make()
      const generated = yield* first.signToken({ a: 1 })
      assertInvalid(yield* verifyError(second, generated.token), "invalid signature")
    })
  )

  it.effect("rejects alg none and algorithms outside the accepted list", () =>
    Effect.gen(function* () {
      const auth = yield* engine()
      const none = json({ alg: "none", typ: "JWT" })
      const claims = json({ role: "admin" })
      assertInvalid(yield* verifyError(auth, `${none}.${claims}.`), "jwt signature is required")
      assertInvalid(yield* verifyError(auth, `${none}.${claims}.c2ln`), "invalid algorithm")
      assertInvalid(yield* verifyError(auth, `${json({ typ: "JWT" })}.${claims}.c2ln`), "invalid algorithm")
      // inferred list for a secret is HS256/384/512; RS256 is refused before any signature work
      assertInvalid(
        yield* verifyError(auth, `${json({ alg: "RS256", typ: "JWT" })}.${claims}.c2ln`),
        "invalid algorithm"
      )
      // with authAlgorithm the list is just that algorithm
      const hs512 = yield* AuthEngine.make({ authKey, authAlgorithm: "HS512" })
      const { token } = yield* hs512.signToken({ a: 1 })
      assert.deepStrictEqual(yield* auth.verifyToken(token), { a: 1, iat: startSeconds, exp: startSeconds + 86400 })
      const only256 = yield* AuthEngine.make({ authKey, authAlgorithm: "HS256" })
      assertInvalid(yield* verifyError(only256, token), "invalid algorithm")
      const explicit = yield* AuthEngine.make({ authKey, authVerifyAlgorithms: ["HS384"] })
      assertInvalid(yield* verifyError(explicit, token), "invalid algorithm")
    })
  )

  it.effect("rejects missing, non-string and malformed tokens in jsonwebtoken's order", () =>
    Effect.gen(function* () {
      const auth = yield* engine()
      for (const empty of [null, undefined, ""]) assertInvalid(yield* verifyError(auth, empty), "jwt must be provided")
      for (const notString of [42, {}, ["a.b.c"], true, Buffer.from("a.b.c")]) {
        const error = yield* verifyError(auth, notString)
        assert.instanceOf(error, AuthTokenError)
        assert.strictEqual(error.message, "Invalid token format - Token must be a string")
      }
      for (const malformed of ["a.b", "abc", "a.b.c.d", "....", "garbage"]) {
        assertInvalid(yield* verifyError(auth, malformed), "jwt malformed")
      }
      const cases = ["x.y.z", "!!.e30.c2ln", `${jwtHeader}..c2ln`, `.${json({})}.c2ln`, `${b64("null")}.e30.c2ln`]
      for (const invalid of cases) assertInvalid(yield* verifyError(auth, invalid), "invalid token")
      // header says JWT but the payload is not JSON: jsonwebtoken lets JSON.parse's SyntaxError through
      const notJson = yield* verifyError(auth, hs256(jwtHeader, b64("{oops")))
      assert.instanceOf(notJson, AuthTokenError)
      assert.match(notJson.message, /JSON/)
    })
  )

  it.effect("verifies non-object payloads like jsonwebtoken (a bare string stays a string)", () =>
    Effect.gen(function* () {
      const auth = yield* engine()
      const stringHeader = json({ alg: "HS256" })
      assert.strictEqual(yield* auth.verifyToken(hs256(stringHeader, b64("plainstring"))), "plainstring")
      assert.strictEqual(yield* auth.verifyToken(hs256(jwtHeader, json(123))), 123)
      assert.deepStrictEqual(yield* auth.verifyToken(hs256(stringHeader, json({ a: 1 }))), { a: 1 })
      assert.instanceOf(yield* verifyError(auth, hs256(jwtHeader, json(null))), AuthTokenError)
    })
  )
})

describe("AuthEngine: key pairs", () => {
  const rsa = generateKeyPairSync("rsa", { modulusLength: 2048 })
  const rsaPrivate = rsa.privateKey.export({ type: "pkcs8", format: "pem" }).toString()
  const rsaPublic = rsa.publicKey.export({ type: "spki", format: "pem" }).toString()
  const rsaPublicPkcs1 = rsa.publicKey.export({ type: "pkcs1", format: "pem" }).toString()
  const ec = generateKeyPairSync("ec", { namedCurve: "P-256" })
  const ecPrivate = ec.privateKey.export({ type: "sec1", format: "pem" }).toString()
  const ecPublic = ec.publicKey.export({ type: "spki", format: "pem" }).toString()

  it.effect("RS256: signs with the private key, verifies with the public key, rejects tampering", () =>
    Effect.gen(function* () {
      const auth = yield* engine({
        authPrivateKey: Redacted.make(rsaPrivate),
        authPublicKey: rsaPublic,
        authAlgorithm: "RS256"
      })
      const { token, payload } = yield* auth.signToken({ username: "alice" })
      assert.deepStrictEqual(decodeSegment(token, 0), { alg: "RS256", typ: "JWT" })
      assert.deepStrictEqual(yield* auth.verifyToken(token), payload)
      const [header, , signature] = token.split(".")
      assertInvalid(
        yield* verifyError(auth, `${header}.${json({ username: "root" })}.${signature}`),
        "invalid signature"
      )
      // an HS256 token keyed with the public PEM text (the classic key confusion) is refused by algorithm
      assertInvalid(yield* verifyError(auth, hs256(jwtHeader, json({ a: 1 }), rsaPublic)), "invalid algorithm")
      // the inferred list for a PKCS#1 public key is RS*/PS*
      const pkcs1 = yield* engine({ authPrivateKey: rsaPrivate, authPublicKey: rsaPublicPkcs1 })
      const esToken = `${json({ alg: "ES256", typ: "JWT" })}.${json({})}.${b64(Buffer.alloc(64))}`
      assertInvalid(yield* verifyError(pkcs1, esToken), "invalid algorithm")
      const verifiesRs = yield* engine({
        authPrivateKey: rsaPrivate,
        authPublicKey: rsaPublicPkcs1,
        authAlgorithm: "RS256"
      })
      assert.deepStrictEqual(yield* verifiesRs.verifyToken(token), payload)
    })
  )

  it.effect("ES256: round trip, wrong signature length as jsonwebtoken reports it", () =>
    Effect.gen(function* () {
      const auth = yield* engine({ authPrivateKey: ecPrivate, authPublicKey: ecPublic, authAlgorithm: "ES256" })
      const { token, payload } = yield* auth.signToken({ username: "alice" }, { expiresIn: 30 })
      assert.deepStrictEqual(decodeSegment(token, 0), { alg: "ES256", typ: "JWT" })
      assert.deepStrictEqual(yield* auth.verifyToken(token), payload)
      const [header, body] = token.split(".")
      const short = yield* verifyError(auth, `${header}.${body}.c2ln`)
      assert.instanceOf(short, AuthTokenError)
      assert.strictEqual(short.message, '"ES256" signatures must be "64" bytes, saw "3"')
      assertInvalid(yield* verifyError(auth, `${header}.${body}.${b64(Buffer.alloc(64, 1))}`), "invalid signature")
      // the default (inferred) list for a "BEGIN PUBLIC KEY" includes ES256; an RS256 token just fails its signature
      const inferred = yield* engine({ authPrivateKey: ecPrivate, authPublicKey: ecPublic })
      assert.deepStrictEqual(yield* inferred.verifyToken(token), payload)
      const rsToken = `${json({ alg: "RS256", typ: "JWT" })}.${json({})}.${b64(Buffer.alloc(256, 1))}`
      assertInvalid(yield* verifyError(inferred, rsToken), "invalid signature")
      yield* TestClock.adjust("30 seconds")
      assert.instanceOf(yield* verifyError(auth, token), AuthTokenExpiredError)
    })
  )

  it.effect(
    "a key pair without authAlgorithm signs HS256 with the PEM text, which its own verification refuses (v14)",
    () =>
      Effect.gen(function* () {
        const auth = yield* engine({ authPrivateKey: rsaPrivate, authPublicKey: rsaPublic })
        const { token } = yield* auth.signToken({ a: 1 })
        assert.deepStrictEqual(decodeSegment(token, 0), { alg: "HS256", typ: "JWT" })
        assertInvalid(yield* verifyError(auth, token), "invalid algorithm")
      })
  )

  it.effect("refuses half a key pair, bad PEMs and unusable algorithm choices", () =>
    Effect.gen(function* () {
      assert.strictEqual(
        yield* optionsError({ authPrivateKey: rsaPrivate }),
        "The authPublicKey option must be specified if authPrivateKey is specified"
      )
      assert.strictEqual(
        yield* optionsError({ authPublicKey: rsaPublic, authKey }),
        "The authPrivateKey option must be specified if authPublicKey is specified"
      )
      yield* optionsError({ authPrivateKey: "not a pem", authPublicKey: rsaPublic, authAlgorithm: "RS256" })
      yield* optionsError({ authPrivateKey: rsaPrivate, authPublicKey: "not a pem", authAlgorithm: "RS256" })
      yield* optionsError({ authPrivateKey: rsaPrivate, authPublicKey: rsaPublic, authAlgorithm: "ES256" })
      yield* optionsError({ authPrivateKey: rsaPrivate, authPublicKey: rsaPublic, authVerifyAlgorithms: ["HS256"] })
      yield* optionsError({ authKey, authAlgorithm: "RS256" })
      yield* optionsError({ authKey, authAlgorithm: "none" })
      yield* optionsError({ authKey, authVerifyAlgorithms: ["HS256", "none"] })
    })
  )
})

describe("AuthEngine: options", () => {
  it.effect("refuses HMAC keys under 256 bits unless allowWeakKeys", () =>
    Effect.gen(function* () {
      assert.match(yield* optionsError({ authKey: "testkey" }), /at least 32 bytes/)
      assert.match(yield* optionsError({ authKey: Redacted.make("x".repeat(31)) }), /at least 32 bytes/)
      yield* optionsError({ authKey: "", allowWeakKeys: true })
      const weak = yield* engine({ authKey: "testkey", allowWeakKeys: true })
      const { token } = yield* weak.signToken({ a: 1 })
      assert.strictEqual(
        token,
        hs256(jwtHeader, json({ a: 1, iat: startSeconds, exp: startSeconds + 86400 }), "testkey")
      )
      assert.isOk(yield* AuthEngine.make({ authKey: "x".repeat(32) }))
    })
  )

  it.effect("accepts the key as Redacted and as a string alike", () =>
    Effect.gen(function* () {
      const redacted = yield* engine({ authKey: Redacted.make(authKey) })
      const plain = yield* engine({ authKey })
      const { token } = yield* redacted.signToken({ a: 1 })
      assert.deepStrictEqual(yield* plain.verifyToken(token), { a: 1, iat: startSeconds, exp: startSeconds + 86400 })
    })
  )

  it.effect("layerConfig reads the keys and algorithms from Config", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(startMs)
      const auth = yield* AuthEngine
      const { token, payload } = yield* auth.signToken({ a: 1 })
      assert.deepStrictEqual(decodeSegment(token, 0), { alg: "HS384", typ: "JWT" })
      assert.deepStrictEqual(payload, { a: 1, iat: startSeconds, exp: startSeconds + 120 })
      const plain = yield* AuthEngine.make({ authKey, authVerifyAlgorithms: ["HS384"] })
      assert.deepStrictEqual(yield* plain.verifyToken(token), payload)
    }).pipe(
      Effect.provide(AuthEngine.layerConfig),
      Effect.provide(
        ConfigProvider.layer(
          ConfigProvider.fromUnknown({ AUTH_KEY: authKey, AUTH_ALGORITHM: "HS384", AUTH_DEFAULT_EXPIRY: 120 })
        )
      )
    )
  )

  it("isTokenExpired and tokenExpiry follow v14's mid-session check (spec §7.6)", () => {
    assert.isFalse(isTokenExpired({ exp: 100 }, 100_000))
    assert.isTrue(isTokenExpired({ exp: 100 }, 100_001))
    assert.isFalse(isTokenExpired({ a: 1 }, Number.MAX_SAFE_INTEGER))
    assert.isFalse(isTokenExpired(null, 1))
    assert.isFalse(isTokenExpired("plainstring", 1))
    assert.isTrue(isTokenExpired({ exp: "100" }, 100_001))
    assert.strictEqual(tokenExpiry({ exp: 100 }), 100)
    assert.isUndefined(tokenExpiry({ exp: "100" }))
    assert.isUndefined(tokenExpiry(undefined))
  })
})

describe("AuthEngine: any input is a typed failure, never a defect", () => {
  const isTypedFailure = (exit: Exit.Exit<unknown, TokenVerificationError>): boolean => {
    if (Exit.isSuccess(exit)) return false
    return (
      exit.cause.reasons.length === 1 &&
      exit.cause.reasons.every(
        (reason) =>
          reason._tag === "Fail" &&
          (reason.error instanceof AuthTokenExpiredError ||
            reason.error instanceof AuthTokenInvalidError ||
            reason.error instanceof AuthTokenNotBeforeError ||
            reason.error instanceof AuthTokenError)
      )
    )
  }

  const segment = fc.oneof(
    fc.string({ unit: fc.constantFrom(..."ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") }),
    fc.jsonValue().map((value) => json(value)),
    fc.string().map((text) => b64(text)),
    fc.uint8Array().map((bytes) => b64(Buffer.from(bytes))),
    fc.constantFrom(json({ alg: "HS256", typ: "JWT" }), json({ alg: "ES256", typ: "JWT" }), json({ alg: "none" }))
  )
  const tokens = fc.oneof(
    fc.string(),
    fc.string({ unit: "binary" }),
    fc.uint8Array().map((bytes) => Buffer.from(bytes).toString("base64url")),
    fc.uint8Array().map((bytes) => Buffer.from(bytes).toString("latin1")),
    fc.tuple(segment, segment, segment).map((parts) => parts.join(".")),
    fc.anything()
  )
  /** Correctly signed, so they may verify; what matters is that nothing dies. */
  const signedTokens = fc.tuple(segment, segment).map(([header, payload]) => hs256(header, payload))

  it.effect(
    "HS256 and ES256 engines",
    () =>
      Effect.gen(function* () {
        const ec = generateKeyPairSync("ec", { namedCurve: "P-256" })
        const engines = [
          yield* AuthEngine.make({ authKey }),
          yield* AuthEngine.make({
            authPrivateKey: ec.privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
            authPublicKey: ec.publicKey.export({ type: "spki", format: "pem" }).toString(),
            authAlgorithm: "ES256",
            authVerifyAlgorithms: ["ES256", "RS256"]
          })
        ]
        const hmac = engines[0]
        if (hmac === undefined) return assert.fail("no engine")
        yield* Effect.promise(() =>
          fc.assert(
            fc.asyncProperty(signedTokens, async (token) => {
              const exit = await Effect.runPromise(Effect.exit(hmac.verifyToken(token)))
              return Exit.isSuccess(exit) || isTypedFailure(exit)
            }),
            { numRuns: 2000 }
          )
        )
        for (const auth of engines) {
          yield* Effect.promise(() =>
            fc.assert(
              fc.asyncProperty(tokens, async (token) =>
                isTypedFailure(await Effect.runPromise(Effect.exit(auth.verifyToken(token))))
              ),
              { numRuns: 2000 }
            )
          )
        }
      }),
    60_000
  )
})
