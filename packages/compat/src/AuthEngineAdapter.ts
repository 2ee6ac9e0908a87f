/**
 * A v14 auth engine (`{signToken(payload, key, options, cb), verifyToken(token, key,
 * options, cb)}`, e.g. sc-auth) as the server's `AuthEngine` service value. Keys and
 * default options are read at each call, as v14 reads `server.signatureKey` and friends.
 */
import {
  AuthTokenError,
  AuthTokenExpiredError,
  AuthTokenInvalidError,
  AuthTokenNotBeforeError
} from "@effect-socketcluster/protocol"
import type { AuthEngine } from "@effect-socketcluster/server"
import * as Effect from "effect/Effect"

/** The v14 auth engine interface (spec server-api.md §10.1). */
export interface V14AuthEngine {
  signToken(
    payload: unknown,
    key: unknown,
    options: Record<string, unknown>,
    callback: (error: unknown, token?: string) => void
  ): unknown
  verifyToken(
    token: unknown,
    key: unknown,
    options: Record<string, unknown>,
    callback: (error: unknown, payload?: unknown) => void
  ): unknown
}

/** What the adapter reads from the server at each call. */
export interface AuthEngineHost {
  readonly signatureKey: unknown
  readonly verificationKey: unknown
  readonly defaultSignatureOptions: Readonly<Record<string, unknown>>
  readonly defaultVerificationOptions: Readonly<Record<string, unknown>>
  /** The v14 socket with this id (pending or connected): `verifyToken`'s `options.socket`. */
  v14Socket(socketId: string): unknown
}

const field = (error: unknown, key: string): unknown =>
  typeof error === "object" && error !== null ? Reflect.get(error, key) : undefined

/** v14's `_processTokenError` mapping of jsonwebtoken errors (spec protocol.md §7.3). */
export const toTokenError = (error: unknown): AuthEngine.TokenVerificationError => {
  const name = field(error, "name")
  const message = String(field(error, "message") ?? error)
  switch (name) {
    case "TokenExpiredError": {
      const expiredAt = field(error, "expiredAt")
      return new AuthTokenExpiredError({
        message,
        expiry: expiredAt instanceof Date || typeof expiredAt === "number" ? expiredAt : new Date(0)
      })
    }
    case "JsonWebTokenError":
      return new AuthTokenInvalidError({ message })
    case "NotBeforeError": {
      const date = field(error, "date")
      return new AuthTokenNotBeforeError({ message, date: date instanceof Date ? date : new Date(0) })
    }
    default:
      return new AuthTokenError({ message })
  }
}

const hasExp = (payload: unknown): boolean =>
  typeof payload === "object" && payload !== null && Reflect.get(payload, "exp") != null

/** Adapts `engine`, reading keys and default options from `host` at each call. */
export const fromV14 = (engine: V14AuthEngine, host: AuthEngineHost): AuthEngine.AuthEngine["Service"] => ({
  signToken: (payload, options) =>
    Effect.callback<AuthEngine.SignedToken, AuthTokenError>((resume) => {
      const defaults = host.defaultSignatureOptions
      const signOptions: Record<string, unknown> = { ...options, mutatePayload: true }
      if (hasExp(payload)) delete signOptions.expiresIn
      else signOptions.expiresIn = signOptions.expiresIn ?? defaults.expiresIn
      if (defaults.algorithm !== undefined) signOptions.algorithm = defaults.algorithm
      signOptions.async = defaults.async
      try {
        engine.signToken(payload, host.signatureKey, signOptions, (error, token) => {
          if (error !== null && error !== undefined) {
            resume(Effect.fail(new AuthTokenError({ message: String(field(error, "message") ?? error) })))
          } else {
            resume(Effect.succeed({ token: String(token), payload }))
          }
        })
      } catch (error) {
        resume(Effect.fail(new AuthTokenError({ message: String(field(error, "message") ?? error) })))
      }
    }),
  verifyToken: (token, context) =>
    Effect.callback<unknown, AuthEngine.TokenVerificationError>((resume) => {
      const socket = context === undefined ? undefined : host.v14Socket(context.socketId)
      const verifyOptions = { ...(socket === undefined ? {} : { socket }), ...host.defaultVerificationOptions }
      try {
        engine.verifyToken(token, host.verificationKey, verifyOptions, (error, payload) => {
          if (error !== null && error !== undefined) resume(Effect.fail(toTokenError(error)))
          else resume(Effect.succeed(payload))
        })
      } catch (error) {
        resume(Effect.fail(toTokenError(error)))
      }
    })
})
