/**
 * The CLI's settings: one table of every setting (flag, environment variable, default,
 * expected form), read with Effect `Config` from a provider that layers the command-line
 * flags over the environment. A bad value fails with {@link InvalidSetting}, whose
 * message is the one line printed before exiting with code 1.
 *
 * @example
 * ```ts
 * const provider = yield* providerFromArgs(["--port", "9000"], process.env)
 * const settings = yield* readSettings.pipe(Effect.provideService(ConfigProvider.ConfigProvider, provider))
 * settings.port // 9000
 * ```
 */
import { createPrivateKey, randomBytes } from "node:crypto"
import { readFileSync } from "node:fs"
import { Config, ConfigProvider, Data, Effect, type LogLevel, Option, Redacted, Schema } from "effect"

/** A setting that could not be read; `message` is the whole one-line explanation. */
export class InvalidSetting extends Data.TaggedError("InvalidSetting")<{
  readonly setting: string
  readonly message: string
}> {}

/** One row of the settings table (drives parsing, errors and `--help`). */
export interface SettingSpec {
  /** The flag without `--`. */
  readonly flag: string
  /** The environment variable. */
  readonly env: string
  /** A switch takes no value (`--smoke`); `SMOKE=true|false` in the environment. */
  readonly isSwitch: boolean
  /** The default, as shown by `--help`. */
  readonly defaultText: string
  /** The accepted form, as shown in errors and by `--help`. */
  readonly expected: string
  readonly description: string
}

const spec = (
  flag: string,
  env: string,
  expected: string,
  defaultText: string,
  description: string,
  isSwitch = false
): SettingSpec => ({ flag, env, expected, defaultText, description, isSwitch })

/** Every setting, in `--help` order. */
export const settingSpecs = {
  port: spec(
    "port",
    "PORT",
    "an integer from 0 to 65535",
    "8000",
    "TCP port for HTTP and WebSocket (0 picks a free port)"
  ),
  host: spec("host", "HOST", "a host name or IP address", "all interfaces", "Address to listen on"),
  path: spec("path", "SC_PATH", "a URL path", "/socketcluster/", "WebSocket endpoint path"),
  authKey: spec(
    "auth-key",
    "AUTH_KEY",
    "a secret of at least 32 bytes",
    "random per start (tokens do not survive restarts)",
    "HMAC secret for auth tokens"
  ),
  authPrivateKeyFile: spec(
    "auth-private-key-file",
    "AUTH_PRIVATE_KEY_FILE",
    "a readable PEM private key file",
    "none",
    "Private key for asymmetric auth tokens (needs --auth-public-key-file)"
  ),
  authPublicKeyFile: spec(
    "auth-public-key-file",
    "AUTH_PUBLIC_KEY_FILE",
    "a readable PEM public key file",
    "none",
    "Public key for asymmetric auth tokens (needs --auth-private-key-file)"
  ),
  authAlgorithm: spec(
    "auth-algorithm",
    "AUTH_ALGORITHM",
    "one of HS256 HS384 HS512 RS256 RS384 RS512 PS256 PS384 PS512 ES256 ES384 ES512",
    "HS256, or inferred from the key pair",
    "JWT signing algorithm"
  ),
  origins: spec("origins", "ORIGINS", "v14 origins, e.g. *:* or example.com:443", "*:*", "Allowed browser origins"),
  pingInterval: spec("ping-interval", "PING_INTERVAL", "milliseconds, an integer >= 1", "8000", "Ping every N ms"),
  pingTimeout: spec(
    "ping-timeout",
    "PING_TIMEOUT",
    "milliseconds, an integer greater than the ping interval",
    "20000",
    "Close a silent socket after N ms"
  ),
  ackTimeout: spec("ack-timeout", "ACK_TIMEOUT", "milliseconds, an integer >= 0", "10000", "Wait N ms for an ack"),
  maxPayload: spec(
    "max-payload",
    "MAX_PAYLOAD",
    "bytes, an integer >= 1",
    "16777216",
    "Largest inbound message; larger ones close the socket (1009)"
  ),
  logLevel: spec(
    "log-level",
    "LOG_LEVEL",
    "one of trace debug info warn error fatal none",
    "info",
    "Lowest log level written"
  ),
  logFormat: spec("log-format", "LOG_FORMAT", "json or pretty", "pretty", "Log line format"),
  drainPeriod: spec(
    "drain-period",
    "DRAIN_PERIOD",
    "milliseconds, an integer >= 0",
    "5000",
    "On SIGTERM/SIGINT: ms between refusing new connections and closing open ones (1001)"
  ),
  broker: spec(
    "broker",
    "BROKER_URL",
    "memory, or a redis:// or rediss:// URL",
    "memory",
    "Pub/sub broker (memory: this process only)"
  ),
  brokerPrefix: spec(
    "broker-prefix",
    "BROKER_PREFIX",
    "a string (may be empty)",
    "sc:",
    "Prefix of every channel name in Redis, so several apps can share one Redis"
  ),
  otlpEndpoint: spec(
    "otlp-endpoint",
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "an http:// or https:// URL",
    "none",
    "Export traces (OTLP over HTTP, JSON) to this collector: handshakes, middleware, procedures, publishes"
  ),
  workers: spec(
    "workers",
    "WORKERS",
    "an integer from 1 to 256",
    "1",
    "Server processes sharing the port (needs a Redis broker above 1)"
  ),
  smoke: spec(
    "smoke",
    "SMOKE",
    "a switch (true or false in the environment)",
    "off",
    "Register the wire-smoke handlers (echo, fail, push, login, whoami, serverPublish)",
    true
  )
} as const satisfies Record<string, SettingSpec>

export type SettingName = keyof typeof settingSpecs

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

/** Every setting, validated. */
export interface Settings {
  readonly port: number
  readonly host: string | undefined
  readonly path: string
  readonly auth: AuthSettings
  readonly origins: string
  readonly pingInterval: number
  readonly pingTimeout: number
  readonly ackTimeout: number
  readonly maxPayload: number
  readonly logLevel: LogLevel.LogLevel
  readonly logFormat: "json" | "pretty"
  readonly drainPeriod: number
  /** `undefined`: the in-memory broker. */
  readonly brokerUrl: string | undefined
  /** Channel-name prefix in Redis. */
  readonly brokerPrefix: string
  /** The OTLP collector traces go to (`undefined`: no tracing). */
  readonly otlpEndpoint: string | undefined
  readonly workers: number
  readonly smoke: boolean
}

// Reading -------------------------------------------------------------------------------

const describeRaw = (name: SettingName) =>
  Config.option(Config.String(settingSpecs[name].env)).pipe(
    Effect.map((raw) => (Option.isSome(raw) ? `, got "${raw.value}"` : "")),
    Effect.orElseSucceed(() => "")
  )

/** The line for a bad setting: `Invalid --port (PORT): expected an integer from 0 to 65535, got "x"`. */
export const invalidLine = (name: SettingName, detail: string): string => {
  const s = settingSpecs[name]
  return `Invalid --${s.flag} (${s.env}): ${detail}`
}

/** Reads one setting; any Config failure becomes the setting's one-line error. */
const read = <A>(name: SettingName, config: Config.Config<A>): Effect.Effect<A, InvalidSetting> =>
  Effect.catch(config, () =>
    describeRaw(name).pipe(
      Effect.flatMap((got) =>
        Effect.fail(
          new InvalidSetting({
            setting: name,
            message: invalidLine(name, `expected ${settingSpecs[name].expected}${got}`)
          })
        )
      )
    )
  )

const int = (name: SettingName, minimum: number, maximum: number, fallback: number) =>
  read(
    name,
    Config.schema(Schema.Int.check(Schema.isBetween({ minimum, maximum })), settingSpecs[name].env).pipe(
      Config.withDefault(fallback)
    )
  )

const text = (name: SettingName) => read(name, Config.option(Config.NonEmptyString(settingSpecs[name].env)))

const LogLevels = {
  trace: "Trace",
  debug: "Debug",
  info: "Info",
  warn: "Warn",
  error: "Error",
  fatal: "Fatal",
  none: "None"
} as const satisfies Record<string, LogLevel.LogLevel>

const HmacAlgorithms = ["HS256", "HS384", "HS512"] as const
const AsymmetricAlgorithms = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512"] as const

const readKeyFile = (name: "authPrivateKeyFile" | "authPublicKeyFile", file: string) =>
  Effect.try({
    try: () => readFileSync(file, "utf8"),
    catch: (cause) =>
      new InvalidSetting({
        setting: name,
        message: invalidLine(
          name,
          `cannot read "${file}" (${cause instanceof Error && "code" in cause ? String(cause.code) : String(cause)})`
        )
      })
  })

// jsonwebtoken's algorithm for a key: RSA keys sign RS256, EC keys the ES variant of their curve.
const inferAlgorithm = (privateKeyPem: string): Effect.Effect<string, InvalidSetting> =>
  Effect.try({
    try: () => createPrivateKey(privateKeyPem),
    catch: () =>
      new InvalidSetting({
        setting: "authPrivateKeyFile",
        message: invalidLine("authPrivateKeyFile", "expected a PEM private key (PKCS#8, PKCS#1 or SEC1)")
      })
  }).pipe(
    Effect.flatMap((key) => {
      const curve = key.asymmetricKeyDetails?.namedCurve
      if (key.asymmetricKeyType === "rsa") return Effect.succeed("RS256")
      if (key.asymmetricKeyType === "ec" && curve === "prime256v1") return Effect.succeed("ES256")
      if (key.asymmetricKeyType === "ec" && curve === "secp384r1") return Effect.succeed("ES384")
      if (key.asymmetricKeyType === "ec" && curve === "secp521r1") return Effect.succeed("ES512")
      return Effect.fail(
        new InvalidSetting({
          setting: "authAlgorithm",
          message: invalidLine("authAlgorithm", `cannot infer an algorithm for a ${key.asymmetricKeyType} key; set it`)
        })
      )
    })
  )

const readAuth: Effect.Effect<AuthSettings, InvalidSetting> = Effect.gen(function* () {
  const algorithm = yield* read(
    "authAlgorithm",
    Config.option(Config.Literals([...HmacAlgorithms, ...AsymmetricAlgorithms], settingSpecs.authAlgorithm.env))
  )
  const key = yield* read("authKey", Config.option(Config.Redacted(settingSpecs.authKey.env)))
  const privateFile = yield* text("authPrivateKeyFile")
  const publicFile = yield* text("authPublicKeyFile")
  if (Option.isSome(privateFile) !== Option.isSome(publicFile)) {
    const missing = Option.isSome(privateFile) ? "authPublicKeyFile" : "authPrivateKeyFile"
    return yield* new InvalidSetting({
      setting: missing,
      message: invalidLine(missing, "missing: a key pair needs both --auth-private-key-file and --auth-public-key-file")
    })
  }
  if (Option.isSome(privateFile) && Option.isSome(publicFile)) {
    if (Option.isSome(key)) {
      return yield* new InvalidSetting({
        setting: "authKey",
        message: invalidLine("authKey", "give either an auth key or a key pair, not both")
      })
    }
    const privateKey = yield* readKeyFile("authPrivateKeyFile", privateFile.value)
    const publicKey = yield* readKeyFile("authPublicKeyFile", publicFile.value)
    if (Option.isSome(algorithm) && !(AsymmetricAlgorithms as ReadonlyArray<string>).includes(algorithm.value)) {
      return yield* new InvalidSetting({
        setting: "authAlgorithm",
        message: invalidLine(
          "authAlgorithm",
          `expected an asymmetric algorithm with a key pair, got "${algorithm.value}"`
        )
      })
    }
    return {
      _tag: "KeyPair",
      privateKey: Redacted.make(privateKey),
      publicKey,
      algorithm: Option.isSome(algorithm) ? algorithm.value : yield* inferAlgorithm(privateKey)
    }
  }
  if (Option.isSome(algorithm) && !(HmacAlgorithms as ReadonlyArray<string>).includes(algorithm.value)) {
    return yield* new InvalidSetting({
      setting: "authAlgorithm",
      message: invalidLine("authAlgorithm", `expected HS256, HS384 or HS512 with a secret, got "${algorithm.value}"`)
    })
  }
  const hs = Option.getOrElse(algorithm, () => "HS256")
  if (Option.isNone(key)) {
    return { _tag: "Secret", key: Redacted.make(randomBytes(32).toString("hex")), generated: true, algorithm: hs }
  }
  if (Buffer.byteLength(Redacted.value(key.value)) < 32) {
    // The value is a secret: the line names the setting, never the value.
    return yield* new InvalidSetting({
      setting: "authKey",
      message: invalidLine("authKey", "expected a secret of at least 32 bytes")
    })
  }
  return { _tag: "Secret", key: key.value, generated: false, algorithm: hs }
})

const readBroker = read(
  "broker",
  Config.option(
    Config.schema(Schema.String.check(Schema.isPattern(/^(memory|rediss?:\/\/\S+)$/)), settingSpecs.broker.env)
  )
).pipe(Effect.map((url) => (Option.isNone(url) || url.value === "memory" ? undefined : url.value)))

/** Reads and validates every setting from the current `ConfigProvider`. */
export const readSettings: Effect.Effect<Settings, InvalidSetting> = Effect.gen(function* () {
  const port = yield* int("port", 0, 65535, 8000)
  const host = yield* text("host")
  const path = yield* text("path")
  const auth = yield* readAuth
  const origins = yield* text("origins")
  const pingInterval = yield* int("pingInterval", 1, 2 ** 31 - 1, 8000)
  const pingTimeout = yield* int("pingTimeout", 1, 2 ** 31 - 1, 20000)
  if (pingTimeout <= pingInterval) {
    return yield* new InvalidSetting({
      setting: "pingTimeout",
      message: invalidLine(
        "pingTimeout",
        `expected more than the ping interval (${pingInterval}), got "${pingTimeout}"`
      )
    })
  }
  const ackTimeout = yield* int("ackTimeout", 0, 2 ** 31 - 1, 10000)
  const maxPayload = yield* int("maxPayload", 1, Number.MAX_SAFE_INTEGER, 16 * 1024 * 1024)
  const logLevel = yield* read(
    "logLevel",
    Config.schema(
      Schema.Literals(Object.keys(LogLevels) as Array<keyof typeof LogLevels>),
      settingSpecs.logLevel.env
    ).pipe(Config.withDefault("info" as const))
  )
  const logFormat = yield* read(
    "logFormat",
    Config.schema(Schema.Literals(["json", "pretty"]), settingSpecs.logFormat.env).pipe(
      Config.withDefault("pretty" as const)
    )
  )
  const drainPeriod = yield* int("drainPeriod", 0, 2 ** 31 - 1, 5000)
  const brokerUrl = yield* readBroker
  const brokerPrefix = yield* read(
    "brokerPrefix",
    Config.String(settingSpecs.brokerPrefix.env).pipe(Config.withDefault("sc:"))
  )
  const otlpEndpoint = yield* read(
    "otlpEndpoint",
    Config.option(
      Config.schema(Schema.String.check(Schema.isPattern(/^https?:\/\/\S+$/)), settingSpecs.otlpEndpoint.env)
    )
  )
  const workers = yield* int("workers", 1, 256, 1)
  const smoke = yield* read("smoke", Config.Boolean(settingSpecs.smoke.env).pipe(Config.withDefault(false)))
  return {
    port,
    host: Option.getOrUndefined(host),
    path: Option.getOrElse(path, () => "/socketcluster/"),
    auth,
    origins: Option.getOrElse(origins, () => "*:*"),
    pingInterval,
    pingTimeout,
    ackTimeout,
    maxPayload,
    logLevel: LogLevels[logLevel],
    logFormat,
    drainPeriod,
    brokerUrl,
    brokerPrefix,
    otlpEndpoint: Option.getOrUndefined(otlpEndpoint),
    workers,
    smoke
  }
})

/** A URL without its password, for logs (`redis://:***@host`). */
export const redactUrl = (url: string): string => url.replace(/\/\/([^:@/]*):[^@/]*@/, "//$1:***@")

// Flags ---------------------------------------------------------------------------------

/** What the command line asked for. */
export interface ParsedArgs {
  readonly help: boolean
  /** Flag values keyed by environment variable name. */
  readonly values: Readonly<Record<string, string>>
}

const specsByFlag = new Map<string, SettingSpec>(Object.values(settingSpecs).map((s) => [s.flag, s]))

/**
 * Parses `--flag value`, `--flag=value` and switches. Fails with the one-line error for
 * an unknown flag or a flag without its value.
 */
export const parseArgs = (argv: ReadonlyArray<string>): Effect.Effect<ParsedArgs, InvalidSetting> =>
  Effect.suspend(() => {
    const values: Record<string, string> = {}
    let help = false
    for (let i = 0; i < argv.length; i++) {
      const arg = argv[i] ?? ""
      if (arg === "--help" || arg === "-h") {
        help = true
        continue
      }
      const match = /^--([a-z0-9-]+)(?:=(.*))?$/s.exec(arg)
      const s = match === null ? undefined : specsByFlag.get(match[1] ?? "")
      if (match === null || s === undefined) {
        return Effect.fail(new InvalidSetting({ setting: arg, message: `Unknown argument ${arg} (see --help)` }))
      }
      const inline = match[2]
      if (s.isSwitch) {
        values[s.env] = inline ?? "true"
        continue
      }
      const value = inline ?? argv[i + 1]
      if (value === undefined || (inline === undefined && value.startsWith("--"))) {
        return Effect.fail(
          new InvalidSetting({ setting: s.flag, message: `Missing value for --${s.flag}: expected ${s.expected}` })
        )
      }
      if (inline === undefined) i++
      values[s.env] = value
    }
    return Effect.succeed({ help, values })
  })

/** The provider the settings are read from: flags over the environment. */
export const providerFrom = (
  args: ParsedArgs,
  env: Readonly<Record<string, string | undefined>>
): ConfigProvider.ConfigProvider => {
  const merged: Record<string, string> = {}
  for (const [k, v] of Object.entries(env)) if (v !== undefined) merged[k] = v
  return ConfigProvider.fromEnv({ env: { ...merged, ...args.values } })
}

/** Reads settings from a command line and an environment. */
export const settingsFrom = (
  argv: ReadonlyArray<string>,
  env: Readonly<Record<string, string | undefined>>
): Effect.Effect<{ readonly help: boolean; readonly settings: Settings | undefined }, InvalidSetting> =>
  Effect.gen(function* () {
    const args = yield* parseArgs(argv)
    if (args.help) return { help: true, settings: undefined }
    const settings = yield* readSettings.pipe(
      Effect.provideService(ConfigProvider.ConfigProvider, providerFrom(args, env))
    )
    return { help: false, settings }
  })

/** The `--help` text: usage and every setting with its environment variable and default. */
export const helpText = (): string => {
  const rows = Object.values(settingSpecs).map((s) => {
    const left = s.isSwitch ? `--${s.flag}` : `--${s.flag} <value>`
    return `  ${left.padEnd(32)} ${s.description}\n  ${"".padEnd(32)} env ${s.env}; ${s.expected}; default: ${s.defaultText}`
  })
  return [
    "effect-socketcluster: a SocketCluster v14 server with a demo page, /health and /metrics",
    "",
    "Usage: effect-socketcluster [options]   (in a clone of the repository: ./dev start [options]; flags win over environment variables)",
    "",
    "Options:",
    ...rows,
    `  ${"--help".padEnd(32)} Show this help`,
    ""
  ].join("\n")
}
