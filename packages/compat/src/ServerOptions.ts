/**
 * The options of the v14 `SCServer`: their type, v14's defaults, and how they become the
 * merged `server.options`, the built-in auth engine's options and the core's input.
 */
import { randomBytes, randomUUID } from "node:crypto"
import type * as Http from "node:http"
import type { CodecEngine } from "@effect-socketcluster/protocol"
import { type AuthEngine, type Broker, Options } from "@effect-socketcluster/server"
import type * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import type * as AuthEngineAdapter from "./AuthEngineAdapter.js"
import type * as BrokerEngineAdapter from "./BrokerEngineAdapter.js"
import type { ExchangeHost, SCExchange } from "./Exchange.js"

/** The v14 options (spec server-api.md §2) plus the core's hardening knobs. */
export interface SCServerOptions {
  httpServer?: Http.Server | undefined
  /** An Effect `Layer<Broker>` (e.g. `BrokerRedis.layer(...)`) or a v14 EventEmitter engine (e.g. sc-simple-broker's). */
  brokerEngine?: Layer.Layer<Broker.Broker, unknown> | BrokerEngineAdapter.V14BrokerEngine | undefined
  /** Builds `server.exchange` (the framework passes its clustered exchange); default `new SCExchange(host)`. */
  exchangeFactory?: ((host: ExchangeHost) => SCExchange) | undefined
  path?: string | undefined
  origins?: string | undefined
  handshakeTimeout?: number | undefined
  ackTimeout?: number | undefined
  pingInterval?: number | undefined
  pingTimeout?: number | undefined
  pingTimeoutDisabled?: boolean | undefined
  allowClientPublish?: boolean | undefined
  socketChannelLimit?: number | undefined
  maxPayload?: number | undefined
  perMessageDeflate?: boolean | Record<string, unknown> | undefined
  appName?: string | undefined
  authKey?: string | undefined
  authPrivateKey?: string | undefined
  authPublicKey?: string | undefined
  authAlgorithm?: string | undefined
  authVerifyAlgorithms?: Array<string> | undefined
  authDefaultExpiry?: number | undefined
  authSignAsync?: boolean | undefined
  authVerifyAsync?: boolean | undefined
  authEngine?: AuthEngineAdapter.V14AuthEngine | undefined
  codecEngine?: CodecEngine | undefined
  pubSubBatchDuration?: number | null | undefined
  middlewareEmitWarnings?: boolean | undefined
  strictHandshake?: boolean | undefined
  /** `1`, `2` or `"auto"` (default): see the core option `protocolVersion`. */
  protocolVersion?: 1 | 2 | "auto" | undefined
  [option: string]: unknown
}

/** socketcluster-server 14's defaults, under the options given. */
export const v14Defaults = {
  path: "/socketcluster/",
  wsEngine: "ws",
  wsEngineServerOptions: {},
  origins: "*:*",
  handshakeTimeout: 10000,
  ackTimeout: 10000,
  pingInterval: 8000,
  pingTimeout: 20000,
  pingTimeoutDisabled: false,
  allowClientPublish: true,
  authDefaultExpiry: 86400,
  authSignAsync: false,
  authVerifyAsync: true,
  pubSubBatchDuration: null,
  middlewareEmitWarnings: true,
  strictHandshake: true
}

export const decodeCoreOptions = Schema.decodeUnknownSync(Options.ServerOptionsInput, { onExcessProperty: "ignore" })

const withoutUndefined = (options: Record<string, unknown>): Record<string, unknown> => {
  const out: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(options)) if (value !== undefined) out[key] = value
  return out
}

const stringOption = (value: unknown): string | undefined => (typeof value === "string" ? value : undefined)

/**
 * The merged v14 options: defaults under the given ones, a random `authKey` when no key is
 * given (written back to `options`, as v14 does) and a random `appName` when none is.
 */
export const mergeOptions = (options: SCServerOptions): Record<string, unknown> => {
  const merged: Record<string, unknown> = { ...v14Defaults, ...withoutUndefined(options) }
  if (merged.authKey === undefined && merged.authPrivateKey === undefined && merged.authPublicKey === undefined) {
    merged.authKey = randomBytes(32).toString("hex")
    options.authKey = String(merged.authKey)
  }
  if (typeof merged.appName !== "string" || merged.appName === "") merged.appName = randomUUID()
  return merged
}

/** The built-in engine's options from the merged options (v14 accepts weak HMAC keys). */
export const authOptionsOf = (
  merged: Record<string, unknown>,
  authVerifyAlgorithms: ReadonlyArray<string> | undefined
): AuthEngine.AuthOptions => {
  const authKey = stringOption(merged.authKey)
  const authPrivateKey = stringOption(merged.authPrivateKey)
  const authPublicKey = stringOption(merged.authPublicKey)
  const authAlgorithm = stringOption(merged.authAlgorithm)
  return {
    allowWeakKeys: true,
    ...(authKey === undefined ? {} : { authKey }),
    ...(authPrivateKey === undefined ? {} : { authPrivateKey }),
    ...(authPublicKey === undefined ? {} : { authPublicKey }),
    ...(authAlgorithm === undefined ? {} : { authAlgorithm }),
    ...(authVerifyAlgorithms === undefined ? {} : { authVerifyAlgorithms }),
    ...(typeof merged.authDefaultExpiry === "number" ? { authDefaultExpiry: merged.authDefaultExpiry } : {})
  }
}

/** The core's input: the core's own defaults for these are stricter than v14's; a v14 app keeps v14's. */
export const coreInputOf = (merged: Record<string, unknown>): Record<string, unknown> => ({
  ...withoutUndefined(merged),
  socketChannelLimit: merged.socketChannelLimit ?? null,
  maxConnections: merged.maxConnections ?? null,
  maxPayload: merged.maxPayload ?? 100 * 1024 * 1024,
  allowPingIntervalOverTimeout: true
})
