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
import * as Config from "effect/Config"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Effect from "effect/Effect"
import type * as LogLevel from "effect/LogLevel"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { type AuthSettings, readAuth } from "./AuthSettings.js"
import { parseArgs, providerFrom } from "./Flags.js"
import { int, read, text } from "./SettingRead.js"
import { type InvalidSetting, invalidSetting, settingSpecs } from "./SettingSpecs.js"

export type { AuthSettings } from "./AuthSettings.js"
export { helpText, type ParsedArgs, parseArgs, providerFrom } from "./Flags.js"
export {
  InvalidSetting,
  invalidLine,
  invalidSetting,
  type SettingName,
  type SettingSpec,
  settingSpecs
} from "./SettingSpecs.js"

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
  /** Bytes buffered for a subscriber above which it is congested (server `outboundHighWaterMark`). */
  readonly outboundHighWaterMark: number
  /** ms a subscriber may stay congested before the policy applies (server `slowConsumerTimeout`). */
  readonly slowConsumerTimeout: number
  /** What a stalled subscriber gets (server `slowConsumerPolicy`). */
  readonly slowConsumerPolicy: "dropPublications" | "disconnect"
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

const LogLevels = {
  trace: "Trace",
  debug: "Debug",
  info: "Info",
  warn: "Warn",
  error: "Error",
  fatal: "Fatal",
  none: "None"
} as const satisfies Record<string, LogLevel.LogLevel>

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
    return yield* invalidSetting(
      "pingTimeout",
      `expected more than the ping interval (${pingInterval}), got "${pingTimeout}"`
    )
  }
  const ackTimeout = yield* int("ackTimeout", 0, 2 ** 31 - 1, 10000)
  const maxPayload = yield* int("maxPayload", 1, Number.MAX_SAFE_INTEGER, 16 * 1024 * 1024)
  const outboundHighWaterMark = yield* int("outboundHighWaterMark", 1, Number.MAX_SAFE_INTEGER, 4 * 1024 * 1024)
  const slowConsumerTimeout = yield* int("slowConsumerTimeout", 1, 2 ** 31 - 1, 5000)
  const slowConsumerPolicy = yield* read(
    "slowConsumerPolicy",
    Config.schema(Schema.Literals(["drop", "disconnect"]), settingSpecs.slowConsumerPolicy.env).pipe(
      Config.withDefault("drop" as const)
    )
  )
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
    outboundHighWaterMark,
    slowConsumerTimeout,
    slowConsumerPolicy: slowConsumerPolicy === "drop" ? "dropPublications" : "disconnect",
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
