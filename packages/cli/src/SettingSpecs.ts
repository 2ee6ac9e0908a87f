/**
 * The table of every CLI setting (flag, environment variable, default, expected form) and
 * {@link InvalidSetting}, the one-line error a bad value of any of them fails with.
 */
import * as Data from "effect/Data"

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
  outboundHighWaterMark: spec(
    "outbound-high-water-mark",
    "OUTBOUND_HIGH_WATER_MARK",
    "bytes, an integer >= 1",
    "4194304",
    "A subscriber buffering more is congested: the clients publishing to it are read no faster than it drains"
  ),
  slowConsumerTimeout: spec(
    "slow-consumer-timeout",
    "SLOW_CONSUMER_TIMEOUT",
    "milliseconds, an integer >= 1",
    "5000",
    "A subscriber congested this long is stalled: it gets the slow-consumer policy until it drains"
  ),
  slowConsumerPolicy: spec(
    "slow-consumer-policy",
    "SLOW_CONSUMER_POLICY",
    "drop or disconnect",
    "drop",
    "What a stalled subscriber gets: drop (its publications are skipped, counted) or disconnect (close 4010)"
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

/** The line for a bad setting: `Invalid --port (PORT): expected an integer from 0 to 65535, got "x"`. */
export const invalidLine = (name: SettingName, detail: string): string => {
  const s = settingSpecs[name]
  return `Invalid --${s.flag} (${s.env}): ${detail}`
}

/** The {@link InvalidSetting} of `name`, its message the line {@link invalidLine} makes of `detail`. */
export const invalidSetting = (name: SettingName, detail: string): InvalidSetting =>
  new InvalidSetting({ setting: name, message: invalidLine(name, detail) })
