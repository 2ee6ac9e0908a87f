/**
 * A socket's auth state: token verification with the authenticate middleware (handshake
 * and `#authenticate`), `setAuthToken` (signing while the socket's writes are held),
 * deauthentication, v14's lazy expiry check, and the auth events.
 */
import {
  AuthTokenExpiredError,
  AuthTokenInvalidError,
  AuthTokenNotBeforeError,
  type Cid,
  InvalidActionError,
  InvalidArgumentsError
} from "@effect-socketcluster/protocol"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import { isTokenExpired, type SignOptions, tokenExpiry } from "./AuthEngine.js"
import { hasCid, type SocketCore } from "./SocketCore.js"
import type { AuthState } from "./SocketEvents.js"
import { emitUnsafe } from "./SocketRpc.js"
import { releaseHeld, respond, sendObject } from "./SocketWriter.js"
import { toWireError } from "./WireError.js"

/** Verifies a client-supplied token and runs the authenticate middleware (protocol §7.3). */
export function processToken(s: SocketCore, token: unknown): Effect.Effect<TokenOutcome> {
  return Effect.gen(function* () {
    // A custom engine may throw instead of returning an Effect: that is its defect, reported, and a refusal.
    const verified = yield* Effect.exit(Effect.suspend(() => s.host.auth.verifyToken(token, { socketId: s.id })))
    if (Exit.isFailure(verified) && Cause.hasDies(verified.cause))
      s.host.defect("the auth engine's verifyToken", verified.cause)
    // A missing token authenticates only with a payload (v14's `if (authToken)`).
    if (Exit.isSuccess(verified) && (token !== null || Boolean(verified.value))) {
      s.signedAuthToken = token as string
      s.authToken = verified.value
      s.authState = "authenticated"
      let outcome: TokenOutcome = accepted
      yield* s.host.pipeline.gate(
        "authenticate",
        { socket: s, authToken: verified.value },
        () => undefined,
        (blocked) => {
          s.authToken = null
          s.authState = "unauthenticated"
          if (blocked.isBadToken) emitBadAuthToken(s, blocked.error, token)
          outcome = { error: blocked.error, isBad: blocked.isBadToken }
        }
      )
      return outcome
    }
    const failure = Exit.isFailure(verified) ? Cause.findErrorOption(verified.cause) : Option.none()
    const error =
      failure._tag === "Some"
        ? failure.value
        : new AuthTokenInvalidError({ message: "Failed to verify the auth token" })
    s.signedAuthToken = null
    s.authToken = null
    s.authState = "unauthenticated"
    const isBad = !(error instanceof AuthTokenNotBeforeError)
    if (token !== null && token !== undefined) {
      s.emitError(error)
      if (isBad) emitBadAuthToken(s, error, token)
    }
    return { error, isBad }
  })
}

/** What a token check decided: the auth error, if any, and whether it marks the token as bad. */
export interface TokenOutcome {
  readonly error: unknown
  readonly isBad: boolean
}

const accepted: TokenOutcome = { error: undefined, isBad: false }

// Clients 15–20 read `isBadToken` on auth errors; v14 never sent it.
export function wireAuthError(s: SocketCore, error: unknown, isBad: boolean): unknown {
  const wire = toWireError(error)
  if (s.dialect.isBadToken && typeof wire === "object" && wire !== null) Reflect.set(wire, "isBadToken", isBad)
  return wire
}

export function emitBadAuthToken(s: SocketCore, authError: unknown, signedAuthToken: unknown): void {
  const info = { authError, signedAuthToken }
  s.host.relay(s, { _tag: "BadAuthToken", info })
}

export function authenticate(s: SocketCore, cid: Cid | undefined, token: unknown): Effect.Effect<void> {
  return Effect.gen(function* () {
    const oldState = s.authState
    const outcome = yield* processToken(s, token)
    if (outcome.error === undefined) {
      triggerAuthEvents(s, oldState)
      respond(s, cid, undefined, { isAuthenticated: s.authState === "authenticated", authError: null })
      return
    }
    const authError = wireAuthError(s, outcome.error, outcome.isBad)
    if (outcome.isBad) {
      deauthenticateUnsafe(s)
      if (hasCid(cid)) sendObject(s, { rid: cid, error: authError, data: { isAuthenticated: false, authError } })
    } else if (hasCid(cid)) {
      sendObject(s, { rid: cid, data: { isAuthenticated: false, authError } })
    }
  })
}

/** Fires the auth events of a transition from `oldState` into the current (authenticated) state. */
export function triggerAuthEvents(s: SocketCore, oldState: AuthState): void {
  if (oldState !== s.authState) {
    const change = { oldState, newState: s.authState, authToken: s.authToken }
    s.host.relay(s, { _tag: "AuthStateChange", change })
  }
  s.host.relay(s, { _tag: "Authenticate", authToken: s.authToken })
}

/** Clears the token without telling the client (v14 `deauthenticateSelf`). */
export function deauthenticateSelf(s: SocketCore): void {
  const oldToken = s.authToken
  const oldState = s.authState
  s.authToken = null
  s.signedAuthToken = null
  s.authState = "unauthenticated"
  if (oldState === "authenticated") {
    const change = { oldState, newState: "unauthenticated" as const }
    s.host.relay(s, { _tag: "AuthStateChange", change })
  }
  s.host.relay(s, { _tag: "Deauthenticate", oldAuthToken: oldToken })
}

/** Clears the token and tells the client to drop it (`#removeAuthToken`). */
export function deauthenticateUnsafe(s: SocketCore, callback?: (error: unknown) => void): void {
  deauthenticateSelf(s)
  emitUnsafe(
    s,
    "#removeAuthToken",
    s.dialect.removeAuthTokenWithNull ? null : undefined,
    callback === undefined ? undefined : (err) => callback(err)
  )
}

/** v14's lazy expiry check (protocol §7.6): deauthenticates and returns the error when the token expired. */
export function checkExpiry(s: SocketCore): AuthTokenExpiredError | undefined {
  if (s.authToken === null || !isTokenExpired(s.authToken, Date.now())) return undefined
  const expiry = tokenExpiry(s.authToken) ?? 0
  deauthenticateUnsafe(s)
  return new AuthTokenExpiredError({ message: "The socket auth token has expired", expiry })
}

/**
 * Signs `data` into a token for this client (protocol §7.2). The socket is
 * authenticated at once; the `#setAuthToken` frame goes out before anything written
 * to this socket after this call, even though signing is asynchronous.
 */
export function setAuthTokenUnsafe(
  s: SocketCore,
  data: unknown,
  options?: SignOptions & { readonly algorithm?: unknown },
  callback?: (error: unknown) => void,
  onWritten?: (error: unknown) => void
): void {
  if (s.state === "closed") {
    const error = new InvalidActionError({ message: "Cannot set the auth token of a closed socket" })
    callback?.(error)
    onWritten?.(error)
    return
  }
  const oldState = s.authState
  const token = structuredCloneSafe(data)
  s.authToken = token
  s.authState = "authenticated"
  let signOptions: SignOptions | undefined = options
  if (options !== undefined && "algorithm" in options) {
    s.emitError(
      new InvalidArgumentsError({
        message: "Cannot change auth token algorithm at runtime - It must be specified as a config option on launch"
      })
    )
    const { algorithm: _, ...rest } = options
    signOptions = rest
  }
  s.holds++
  const fiber = s.host.runFork(Effect.suspend(() => s.host.auth.signToken(token, signOptions)))
  fiber.addObserver((exit) => {
    s.holds--
    if (Exit.isSuccess(exit)) {
      if (s.authToken === token) {
        s.signedAuthToken = exit.value.token
        s.authToken = exit.value.payload
        s.host.relay(s, { _tag: "AuthTokenSigned", signedAuthToken: exit.value.token })
      }
      emitUnsafe(
        s,
        "#setAuthToken",
        { token: exit.value.token },
        callback === undefined ? undefined : (err) => callback(err)
      )
      releaseHeld(s)
      onWritten?.(undefined)
    } else {
      const failure = Cause.findErrorOption(exit.cause)
      const error = failure._tag === "Some" ? failure.value : Cause.squash(exit.cause)
      releaseHeld(s)
      if (Cause.hasDies(exit.cause)) {
        // A bug in the engine: logged as a defect as well as reported on the socket.
        s.hub.emit({ _tag: "Error", error })
        s.host.defect("the auth engine's signToken", exit.cause)
      } else {
        s.emitError(error)
      }
      s.closeUnsafe(4002, undefined, true)
      callback?.(error)
      onWritten?.(error)
    }
  })
  triggerAuthEvents(s, oldState)
}

// v14 deep-clones the token payload; structuredClone refuses functions, so fall back to the value.
const structuredCloneSafe = (value: unknown): unknown => {
  try {
    return structuredClone(value)
  } catch {
    return value
  }
}
