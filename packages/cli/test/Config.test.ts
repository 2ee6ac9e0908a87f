import { generateKeyPairSync } from "node:crypto"
import { mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Effect, Redacted } from "effect"
import { describe, expect, it } from "vitest"
import { helpText, type Settings, settingSpecs, settingsFrom } from "../src/Config.js"

const read = (argv: ReadonlyArray<string>, env: Record<string, string> = {}): Promise<Settings> =>
  Effect.runPromise(settingsFrom(argv, env)).then(({ settings }) => {
    if (settings === undefined) throw new Error("help asked")
    return settings
  })

// The one line start-up prints for a bad setting.
const errorLine = (argv: ReadonlyArray<string>, env: Record<string, string> = {}): Promise<string> =>
  Effect.runPromise(Effect.flip(settingsFrom(argv, env))).then((error) => error.message)

const secret = "0123456789abcdef0123456789abcdef"

describe("settings", () => {
  it("uses the documented defaults", async () => {
    const s = await read([])
    expect(s).toMatchObject({
      port: 8000,
      host: undefined,
      path: "/socketcluster/",
      origins: "*:*",
      pingInterval: 8000,
      pingTimeout: 20000,
      ackTimeout: 10000,
      maxPayload: 16777216,
      outboundHighWaterMark: 4194304,
      slowConsumerTimeout: 5000,
      slowConsumerPolicy: "dropPublications",
      logLevel: "Info",
      logFormat: "pretty",
      drainPeriod: 5000,
      brokerUrl: undefined,
      brokerPrefix: "sc:",
      workers: 1,
      smoke: false
    })
    // No key given: a random one, flagged so start-up warns.
    expect(s.auth).toMatchObject({ _tag: "Secret", generated: true, algorithm: "HS256" })
  })

  it("reads the environment, and flags win over it", async () => {
    const s = await read(["--port=9001", "--log-format", "json", "--smoke"], {
      PORT: "9000",
      HOST: "127.0.0.1",
      AUTH_KEY: secret,
      BROKER_URL: "redis://:pw@localhost:6379",
      LOG_LEVEL: "debug"
    })
    expect(s.port).toBe(9001)
    expect(s.host).toBe("127.0.0.1")
    expect(s.logFormat).toBe("json")
    expect(s.logLevel).toBe("Debug")
    expect(s.smoke).toBe(true)
    expect(s.brokerUrl).toBe("redis://:pw@localhost:6379")
    expect(s.auth._tag === "Secret" && Redacted.value(s.auth.key)).toBe(secret)
    expect(s.auth._tag === "Secret" && s.auth.generated).toBe(false)
  })

  it("keeps the auth key redacted", async () => {
    const s = await read([], { AUTH_KEY: secret })
    expect(JSON.stringify(s)).not.toContain(secret)
    expect(String(s.auth._tag === "Secret" ? s.auth.key : "")).not.toContain(secret)
  })

  it("reads a key pair from files and infers the algorithm", async () => {
    const dir = mkdtempSync(join(tmpdir(), "cli-keys-"))
    const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" })
    writeFileSync(join(dir, "private.pem"), privateKey.export({ type: "pkcs8", format: "pem" }))
    writeFileSync(join(dir, "public.pem"), publicKey.export({ type: "spki", format: "pem" }))
    const s = await read([
      "--auth-private-key-file",
      join(dir, "private.pem"),
      "--auth-public-key-file",
      join(dir, "public.pem")
    ])
    expect(s.auth).toMatchObject({ _tag: "KeyPair", algorithm: "ES256" })
  })

  it("--help lists every setting with its environment variable and default", async () => {
    const { help } = await Effect.runPromise(settingsFrom(["--help"], {}))
    expect(help).toBe(true)
    const text = helpText()
    for (const s of Object.values(settingSpecs)) {
      expect(text).toContain(`--${s.flag}`)
      expect(text).toContain(`env ${s.env};`)
      expect(text).toContain(`default: ${s.defaultText}`)
    }
  })
})

describe("invalid settings stop start-up with one line naming the setting and the expected form", () => {
  it("wrong type", async () => {
    expect(await errorLine(["--port", "eighty"])).toBe(
      'Invalid --port (PORT): expected an integer from 0 to 65535, got "eighty"'
    )
    expect(await errorLine([], { PING_INTERVAL: "1.5" })).toBe(
      'Invalid --ping-interval (PING_INTERVAL): expected milliseconds, an integer >= 1, got "1.5"'
    )
    expect(await errorLine(["--log-format", "xml"])).toBe(
      'Invalid --log-format (LOG_FORMAT): expected json or pretty, got "xml"'
    )
    expect(await errorLine([], { SMOKE: "maybe" })).toBe(
      'Invalid --smoke (SMOKE): expected a switch (true or false in the environment), got "maybe"'
    )
    expect(await errorLine(["--broker", "amqp://x"])).toBe(
      'Invalid --broker (BROKER_URL): expected memory, or a redis:// or rediss:// URL, got "amqp://x"'
    )
  })

  it("out of range", async () => {
    expect(await errorLine([], { PORT: "65536" })).toBe(
      'Invalid --port (PORT): expected an integer from 0 to 65535, got "65536"'
    )
    expect(await errorLine(["--workers", "0"])).toBe(
      'Invalid --workers (WORKERS): expected an integer from 1 to 256, got "0"'
    )
    expect(await errorLine(["--ping-interval", "5000", "--ping-timeout", "4000"])).toBe(
      'Invalid --ping-timeout (PING_TIMEOUT): expected more than the ping interval (5000), got "4000"'
    )
    expect(await errorLine(["--drain-period", "-1"])).toBe(
      'Invalid --drain-period (DRAIN_PERIOD): expected milliseconds, an integer >= 0, got "-1"'
    )
  })

  it("missing or unreadable key file", async () => {
    expect(
      await errorLine(["--auth-private-key-file", "/nonexistent/private.pem", "--auth-public-key-file", "/x"])
    ).toBe('Invalid --auth-private-key-file (AUTH_PRIVATE_KEY_FILE): cannot read "/nonexistent/private.pem" (ENOENT)')
    expect(await errorLine(["--auth-private-key-file", "/nonexistent/private.pem"])).toBe(
      "Invalid --auth-public-key-file (AUTH_PUBLIC_KEY_FILE): missing: a key pair needs both --auth-private-key-file and --auth-public-key-file"
    )
  })

  it("weak or conflicting auth settings, without echoing the secret", async () => {
    const line = await errorLine([], { AUTH_KEY: "short-secret" })
    expect(line).toBe("Invalid --auth-key (AUTH_KEY): expected a secret of at least 32 bytes")
    expect(line).not.toContain("short-secret")
    expect(await errorLine(["--auth-algorithm", "RS256"], { AUTH_KEY: secret })).toBe(
      'Invalid --auth-algorithm (AUTH_ALGORITHM): expected HS256, HS384 or HS512 with a secret, got "RS256"'
    )
  })

  it("unknown flags and flags without a value", async () => {
    expect(await errorLine(["--prot", "80"])).toBe("Unknown argument --prot (see --help)")
    expect(await errorLine(["--port"])).toBe("Missing value for --port: expected an integer from 0 to 65535")
  })
})
