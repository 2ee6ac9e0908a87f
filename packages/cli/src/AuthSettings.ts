/**
 * The auth settings: an HMAC secret (given, or random per start) or a PEM key pair read from
 * files, with the JWT algorithm checked against the kind of key (or inferred from it).
 */
import { createPrivateKey, randomBytes } from "node:crypto"
import { readFileSync } from "node:fs"
import * as Config from "effect/Config"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import { read, text } from "./SettingRead.js"
import { type InvalidSetting, invalidSetting, settingSpecs } from "./SettingSpecs.js"

/** How the server signs and verifies auth tokens. */
export type AuthSettings =
  | {
      readonly _tag: "Secret"
      readonly key: Redacted.Redacted<string>
      readonly generated: boolean
      readonly algorithm: string
    }
  | {
      readonly _tag: "KeyPair"
      readonly privateKey: Redacted.Redacted<string>
      readonly publicKey: string
      readonly algorithm: string
    }

const HmacAlgorithms = ["HS256", "HS384", "HS512"] as const
const AsymmetricAlgorithms = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512"] as const

const readKeyFile = (name: "authPrivateKeyFile" | "authPublicKeyFile", file: string) =>
  Effect.try({
    try: () => readFileSync(file, "utf8"),
    catch: (cause) =>
      invalidSetting(
        name,
        `cannot read "${file}" (${cause instanceof Error && "code" in cause ? String(cause.code) : String(cause)})`
      )
  })

// jsonwebtoken's algorithm for a key: RSA keys sign RS256, EC keys the ES variant of their curve.
const inferAlgorithm = (privateKeyPem: string): Effect.Effect<string, InvalidSetting> =>
  Effect.try({
    try: () => createPrivateKey(privateKeyPem),
    catch: () => invalidSetting("authPrivateKeyFile", "expected a PEM private key (PKCS#8, PKCS#1 or SEC1)")
  }).pipe(
    Effect.flatMap((key) => {
      const curve = key.asymmetricKeyDetails?.namedCurve
      if (key.asymmetricKeyType === "rsa") return Effect.succeed("RS256")
      if (key.asymmetricKeyType === "ec" && curve === "prime256v1") return Effect.succeed("ES256")
      if (key.asymmetricKeyType === "ec" && curve === "secp384r1") return Effect.succeed("ES384")
      if (key.asymmetricKeyType === "ec" && curve === "secp521r1") return Effect.succeed("ES512")
      return Effect.fail(
        invalidSetting("authAlgorithm", `cannot infer an algorithm for a ${key.asymmetricKeyType} key; set it`)
      )
    })
  )

/** Reads and checks the auth settings together (a key pair excludes a secret). */
export const readAuth: Effect.Effect<AuthSettings, InvalidSetting> = Effect.gen(function* () {
  const algorithm = yield* read(
    "authAlgorithm",
    Config.option(Config.Literals([...HmacAlgorithms, ...AsymmetricAlgorithms], settingSpecs.authAlgorithm.env))
  )
  const key = yield* read("authKey", Config.option(Config.Redacted(settingSpecs.authKey.env)))
  const privateFile = yield* text("authPrivateKeyFile")
  const publicFile = yield* text("authPublicKeyFile")
  if (Option.isSome(privateFile) !== Option.isSome(publicFile)) {
    const missing = Option.isSome(privateFile) ? "authPublicKeyFile" : "authPrivateKeyFile"
    return yield* invalidSetting(
      missing,
      "missing: a key pair needs both --auth-private-key-file and --auth-public-key-file"
    )
  }
  if (Option.isSome(privateFile) && Option.isSome(publicFile)) {
    if (Option.isSome(key)) {
      return yield* invalidSetting("authKey", "give either an auth key or a key pair, not both")
    }
    const privateKey = yield* readKeyFile("authPrivateKeyFile", privateFile.value)
    const publicKey = yield* readKeyFile("authPublicKeyFile", publicFile.value)
    if (Option.isSome(algorithm) && !(AsymmetricAlgorithms as ReadonlyArray<string>).includes(algorithm.value)) {
      return yield* invalidSetting(
        "authAlgorithm",
        `expected an asymmetric algorithm with a key pair, got "${algorithm.value}"`
      )
    }
    return {
      _tag: "KeyPair",
      privateKey: Redacted.make(privateKey),
      publicKey,
      algorithm: Option.isSome(algorithm) ? algorithm.value : yield* inferAlgorithm(privateKey)
    }
  }
  if (Option.isSome(algorithm) && !(HmacAlgorithms as ReadonlyArray<string>).includes(algorithm.value)) {
    return yield* invalidSetting(
      "authAlgorithm",
      `expected HS256, HS384 or HS512 with a secret, got "${algorithm.value}"`
    )
  }
  const hs = Option.getOrElse(algorithm, () => "HS256")
  if (Option.isNone(key)) {
    return { _tag: "Secret", key: Redacted.make(randomBytes(32).toString("hex")), generated: true, algorithm: hs }
  }
  if (Buffer.byteLength(Redacted.value(key.value)) < 32) {
    // The value is a secret: the line names the setting, never the value.
    return yield* invalidSetting("authKey", "expected a secret of at least 32 bytes")
  }
  return { _tag: "Secret", key: key.value, generated: false, algorithm: hs }
})
