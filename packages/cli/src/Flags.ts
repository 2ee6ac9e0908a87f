/**
 * The command line: `--flag value`, `--flag=value` and switches, layered over the
 * environment as one `ConfigProvider`, and the `--help` text drawn from the settings table.
 */
import * as ConfigProvider from "effect/ConfigProvider"
import * as Effect from "effect/Effect"
import { InvalidSetting, type SettingSpec, settingSpecs } from "./SettingSpecs.js"

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
