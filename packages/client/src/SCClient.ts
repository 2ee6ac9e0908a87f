/**
 * The SocketCluster client as an Effect service: a scoped connection that reconnects on
 * a `Schedule`, resubscribes its channels, and exposes calls as Effects and
 * publications, server emits and its own state as Streams.
 *
 * @example
 * ```ts
 * import { SCClient } from "@effect-socketcluster/client"
 * import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
 * import * as Socket from "effect/socket/Socket"
 *
 * const program = Effect.gen(function* () {
 *   const client = yield* SCClient.connect("ws://127.0.0.1:8000/socketcluster/")
 *   const news = yield* client.subscription("news")
 *   yield* client.publish("news", "hello")
 *   const [first] = yield* Stream.runCollect(Stream.take(news, 1))
 *   return yield* client.invoke("echo", first)
 * }).pipe(Effect.scoped, Effect.provide(Socket.layerWebSocketConstructorGlobal))
 * ```
 *
 * @since 0.1.0
 */
import {
  AuthenticateStatus,
  BadConnectionError,
  InvalidArgumentsError,
  type Procedure,
  TimeoutError
} from "@effect-socketcluster/protocol"
import type * as Cause from "effect/Cause"
import * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as FiberSet from "effect/FiberSet"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Queue from "effect/Queue"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import type * as Socket from "effect/socket/Socket"
import { AuthTokenStore, makeMemory } from "./AuthTokenStore.js"
import { type ConnectError, fromWire, type InvokeError, type ServerError } from "./ClientError.js"
import { type ClientOptions, resolve } from "./ClientOptions.js"
import type { AuthState, ConnectionState } from "./ConnectionState.js"
import type {
  Member,
  RecoveringOptions,
  RecoveringSubscriber,
  SubscribeOptions,
  Subscriber,
  SubscriptionError
} from "./internal/Channels.js"
import { ClientCore, type Procedure as ServeProcedure } from "./internal/ClientCore.js"
import type { Link } from "./internal/Link.js"
import * as Session from "./internal/Session.js"
import type { RawAnswer } from "./ProcedureCall.js"
import * as ProcedureCall from "./ProcedureCall.js"
import type * as Recovery from "./Recovery.js"

export type { RecoveringOptions, SubscribeOptions, SubscriptionError } from "./internal/Channels.js"
export type { Procedure } from "./internal/ClientCore.js"

/**
 * The answer to `authenticate`: whether the server accepted the token, and the soft
 * error it reported when it did not (e.g. `AuthTokenNotBeforeError`).
 *
 * @since 0.1.0
 */
export interface AuthenticateResult {
  readonly isAuthenticated: boolean
  readonly authError: ServerError | undefined
}

/**
 * A connected client. Every call waits for the connection to be open (while the client
 * reconnects) within its timeout.
 *
 * @since 0.1.0
 */
export interface Client {
  /** The URL the client connects to. */
  readonly url: string
  /** The connection state now, then every change. */
  readonly state: Stream.Stream<ConnectionState>
  /** The connection state now. */
  readonly currentState: Effect.Effect<ConnectionState>
  /**
   * Calls `event` on the server and waits for its answer (`emit` with a callback in v14,
   * `invoke` in v15+). Fails with `TimeoutError`, `BadConnectionError`, or the server's
   * error hydrated by name.
   */
  readonly invoke: (
    event: string,
    data?: unknown,
    options?: { readonly timeout?: Duration.Input | undefined }
  ) => Effect.Effect<unknown, InvokeError>
  /**
   * Calls a declared procedure (`Procedure.make`, the declaration the server serves with
   * `Procedures.layer`): the payload is encoded with its Schema, the answer decoded with
   * the success Schema, the declared error decoded into its class. A payload that does
   * not encode or an answer that does not decode fails with `ProcedureSchemaError`;
   * errors the declaration does not describe arrive hydrated as for {@link Client.invoke}.
   */
  readonly call: <P extends Procedure.Any>(
    procedure: P,
    ...args: ProcedureCall.CallArgs<P>
  ) => Effect.Effect<Procedure.Success<P>, ProcedureCall.CallError<P>, ProcedureCall.CallServices<P>>
  /** Sends `event` without waiting for an answer (`emit` without a callback in v14). */
  readonly transmit: (event: string, data?: unknown) => Effect.Effect<void, BadConnectionError | TimeoutError>
  /**
   * The publications of `channel`, subscribing when the stream starts and unsubscribing
   * when the last reader stops. The stream fails when the server refuses the
   * subscription or kicks the client out. It survives reconnections (the client
   * subscribes again); publications sent while disconnected are lost (see
   * {@link Client.subscribeRecovering}).
   */
  readonly subscribe: (channel: string, options?: SubscribeOptions) => Stream.Stream<unknown, SubscriptionError>
  /**
   * Like {@link Client.subscribe}, but the Effect completes once the server confirmed the
   * subscription, so what is published afterwards is in the stream. The subscription
   * lasts as long as the scope.
   */
  readonly subscription: (
    channel: string,
    options?: SubscribeOptions
  ) => Effect.Effect<Stream.Stream<unknown, SubscriptionError>, SubscriptionError, Scope.Scope>
  /**
   * A subscription that loses nothing across reconnections when the server keeps the
   * channel's history (this project's server, recovery on): its stream carries each
   * publication with its position, and after a reconnect the client resubscribes from
   * the last position it delivered, so what was published meanwhile comes first, once,
   * in order. When the server cannot send all of it (history trimmed or lost, no
   * history, a server without recovery), a `Gap` event marks the place. A channel is
   * either recovering or not: joining one subscribed without recovery fails with
   * `InvalidArgumentsError`. See the `Recovery` module.
   */
  readonly subscribeRecovering: (
    channel: string,
    options?: RecoveringOptions
  ) => Stream.Stream<Recovery.Event, SubscriptionError>
  /** {@link Client.subscribeRecovering}, completing once the server confirmed (as {@link Client.subscription}). */
  readonly subscriptionRecovering: (
    channel: string,
    options?: RecoveringOptions
  ) => Effect.Effect<Stream.Stream<Recovery.Event, SubscriptionError>, SubscriptionError, Scope.Scope>
  /** Whether the server has confirmed a subscription to `channel` on this connection. */
  readonly isSubscribed: (channel: string) => Effect.Effect<boolean>
  /** Publishes and waits for the server's ack (fails with the publish middleware's error). */
  readonly publish: (channel: string, data: unknown) => Effect.Effect<void, InvokeError>
  /** Publishes without an ack. */
  readonly transmitPublish: (channel: string, data: unknown) => Effect.Effect<void, BadConnectionError | TimeoutError>
  /**
   * Authenticates with a signed token; on success the token goes to the `AuthTokenStore`
   * and is offered on every later handshake.
   */
  readonly authenticate: (signedToken: string) => Effect.Effect<AuthenticateResult, InvokeError>
  /** Forgets the token (store included) and tells the server. */
  readonly deauthenticate: Effect.Effect<void>
  /** The auth state now, then every change (server `setAuthToken`/`deauthenticate` included). */
  readonly authState: Stream.Stream<AuthState>
  /** The auth state now. */
  readonly currentAuthState: Effect.Effect<AuthState>
  /** The data of every `event` the server emits to this client, from when the stream starts. */
  readonly receive: (event: string) => Stream.Stream<unknown>
  /**
   * Answers the server's invokes of `event` for the scope's lifetime (a v14
   * `on(event, (data, respond) => …)`); a failure is sent as the error.
   */
  readonly serve: (event: string, procedure: ServeProcedure) => Effect.Effect<void, never, Scope.Scope>
  /** Closes the connection (v1: `#disconnect` then the close frame) and stops reconnecting. */
  readonly disconnect: (code?: number, reason?: string) => Effect.Effect<void>
}

/**
 * The client as a service (see {@link layer}).
 *
 * @since 0.1.0
 */
export class SCClient extends Context.Service<SCClient, Client>()("@effect-socketcluster/client/SCClient") {}

const decodeAuthenticateStatus = Schema.decodeUnknownOption(AuthenticateStatus)

const badConnection = (event: string): BadConnectionError =>
  new BadConnectionError({ message: `Event '${event}' was aborted due to a bad connection`, type: "disconnect" })

const timedOut = (event: string): TimeoutError =>
  new TimeoutError({ message: `Event response for '${event}' timed out` })

/** Sends `packet` with a fresh cid on `link` and waits for the answer, as it came. */
const call = (
  core: ClientCore,
  link: Link,
  event: string,
  packet: { readonly event: string; readonly data: unknown }
) =>
  Effect.callback<RawAnswer, BadConnectionError | InvalidArgumentsError>((resume) => {
    const cid = core.calls.next()
    core.calls.register(cid, {
      onAnswer: (error, data) => resume(Effect.succeed({ error, data })),
      onDrop: () => resume(Effect.fail(badConnection(event)))
    })
    if (!link.send({ event: packet.event, data: packet.data, cid })) {
      core.calls.forget(cid)
      resume(Effect.fail(new InvalidArgumentsError({ message: `Event '${event}' could not be encoded or sent` })))
    }
    return Effect.sync(() => core.calls.forget(cid))
  })

/** The answer's data, or its error hydrated by name. */
const hydrated = (answer: RawAnswer): Effect.Effect<unknown, InvokeError> =>
  answer.error === undefined || answer.error === null
    ? Effect.succeed(answer.data)
    : Effect.fail(fromWire(answer.error))

/**
 * Connects to `url` (e.g. `ws://host:8000/socketcluster/`) and returns once the first
 * handshake succeeded, retrying on the reconnect schedule meanwhile; fails with
 * `ConnectError` when the client gives up first. Closing the scope disconnects (1000).
 *
 * Needs a `Socket.WebSocketConstructor`: `Socket.layerWebSocketConstructorGlobal` in
 * browsers and Node ≥ 22, or `NodeSocket.layerWebSocketConstructor` /
 * `NodeWS.layerWebSocketConstructor` from `@effect/platform-node`. Uses the
 * `AuthTokenStore` service when provided, else a memory store.
 *
 * @since 0.1.0
 */
export const connect = (
  url: string,
  options?: ClientOptions
): Effect.Effect<Client, ConnectError, Scope.Scope | Socket.WebSocketConstructor> =>
  Effect.gen(function* () {
    const resolved = resolve(options)
    const storeOption = yield* Effect.serviceOption(AuthTokenStore)
    const store = Option.isSome(storeOption) ? storeOption.value : yield* makeMemory
    const runFork = yield* FiberRuntime
    const core = new ClientCore(url, resolved, store, runFork)
    const loop = yield* Effect.forkScoped(Session.run(core))

    const disconnect = (code = 1000, reason?: string): Effect.Effect<void> =>
      Effect.suspend(() => {
        if (core.closing) return Effect.void
        core.closing = true
        core.link?.close(code, reason)
        const end = { code, reason: reason ?? "" }
        return Fiber.interrupt(loop).pipe(
          Effect.andThen(
            Effect.sync(() => {
              core.closed(end, false)
              core.terminate(end)
            })
          )
        )
      })
    // Runs before the loop is interrupted (finalizers run in reverse), so v1 says goodbye.
    yield* Effect.addFinalizer(() => disconnect())

    const withTimeout = <A, E>(
      effect: Effect.Effect<A, E>,
      event: string,
      timeout: Duration.Input | undefined
    ): Effect.Effect<A, E | TimeoutError> =>
      Effect.timeoutOrElse(effect, {
        duration: timeout ?? resolved.ackTimeout,
        orElse: () => Effect.fail(timedOut(event))
      })

    const invokeRaw = (event: string, data: unknown, timeout: Duration.Input | undefined) =>
      withTimeout(
        Effect.flatMap(core.awaitLink, (link) => call(core, link, event, { event, data })),
        event,
        timeout
      )

    const invoke: Client["invoke"] = (event, data, callOptions) =>
      Effect.flatMap(invokeRaw(event, data, callOptions?.timeout), hydrated)

    const send = (event: string, packet: unknown) =>
      withTimeout(
        Effect.flatMap(core.awaitLink, (link) => (link.send(packet) ? Effect.void : Effect.fail(badConnection(event)))),
        event,
        undefined
      )

    /** Adds `member` to `channel` for the scope; completes once the server confirmed. */
    const enter = (channel: string, subscribeOptions: SubscribeOptions, member: Member) =>
      Effect.gen(function* () {
        yield* Effect.addFinalizer(() => Effect.sync(() => core.channels.leave(channel, member, core.link)))
        yield* Effect.callback<void, SubscriptionError>((resume) => {
          core.channels.join(channel, subscribeOptions, member, core.link, (error) =>
            resume(error === undefined ? Effect.void : Effect.fail(error))
          )
        })
      })

    const join = (channel: string, subscribeOptions: SubscribeOptions = {}) =>
      Effect.gen(function* () {
        const queue: Subscriber = yield* Queue.unbounded<unknown, SubscriptionError | Cause.Done>()
        yield* enter(channel, subscribeOptions, { plain: queue })
        return Stream.fromQueue(queue)
      })

    const joinRecovering = (channel: string, recoveringOptions: RecoveringOptions = {}) =>
      Effect.gen(function* () {
        const queue: RecoveringSubscriber = yield* Queue.unbounded<Recovery.Event, SubscriptionError | Cause.Done>()
        yield* enter(channel, recoveringOptions, { recovering: queue })
        return Stream.fromQueue(queue)
      })

    const client: Client = {
      url,
      state: core.state.changes,
      currentState: Effect.sync(() => core.state.value),
      invoke,
      transmit: (event, data) => send(event, { event, data }),
      subscribe: (channel, subscribeOptions) => Stream.unwrap(join(channel, subscribeOptions)),
      subscription: join,
      subscribeRecovering: (channel, recoveringOptions) => Stream.unwrap(joinRecovering(channel, recoveringOptions)),
      subscriptionRecovering: joinRecovering,
      isSubscribed: (channel) => Effect.sync(() => core.channels.isSubscribed(channel)),
      call: (procedure, ...[payload, callOptions]) =>
        ProcedureCall.make(procedure, payload, (event, data) => invokeRaw(event, data, callOptions?.timeout)),
      publish: (channel, data) =>
        withTimeout(
          Effect.flatMap(core.awaitLink, (link) =>
            call(core, link, "#publish", { event: "#publish", data: { channel, data } })
          ),
          "#publish",
          undefined
        ).pipe(Effect.flatMap(hydrated), Effect.asVoid),
      transmitPublish: (channel, data) => send("#publish", { event: "#publish", data: { channel, data } }),
      authenticate: (signedToken) =>
        Effect.gen(function* () {
          const answer = yield* invoke("#authenticate", signedToken)
          const status = decodeAuthenticateStatus(answer)
          const isAuthenticated = Option.isSome(status) && status.value.isAuthenticated
          const authError =
            Option.isSome(status) && status.value.authError !== null ? fromWire(status.value.authError) : undefined
          if (isAuthenticated) {
            yield* store.save(signedToken)
            core.setAuthenticated(signedToken)
          }
          return { isAuthenticated, authError }
        }),
      deauthenticate: Effect.suspend(() => {
        core.setUnauthenticated()
        core.link?.send({ event: "#removeAuthToken" })
        return store.remove
      }),
      authState: core.auth.changes,
      currentAuthState: Effect.sync(() => core.auth.value),
      receive: (event) =>
        Stream.unwrap(
          Effect.acquireRelease(
            Effect.map(Queue.unbounded<unknown>(), (queue) => ({ queue, remove: core.receiver(event, queue) })),
            ({ remove }) => Effect.sync(remove)
          ).pipe(Effect.map(({ queue }) => Stream.fromQueue(queue)))
        ),
      serve: (event, procedure) =>
        Effect.acquireRelease(
          Effect.sync(() => core.procedure(event, procedure)),
          (remove) => Effect.sync(remove)
        ).pipe(Effect.asVoid),
      disconnect
    }
    yield* Deferred.await(core.firstOpen)
    return client
  })

/** Forks the client's background work (token saves, procedures) into its scope. */
const FiberRuntime = FiberSet.makeRuntime<never, unknown, unknown>()

/**
 * {@link connect} as a layer.
 *
 * @example
 * ```ts
 * const Client = SCClient.layer("ws://127.0.0.1:8000/socketcluster/").pipe(
 *   Layer.provide(Socket.layerWebSocketConstructorGlobal)
 * )
 * ```
 * @since 0.1.0
 */
export const layer = (
  url: string,
  options?: ClientOptions
): Layer.Layer<SCClient, ConnectError, Socket.WebSocketConstructor> => Layer.effect(SCClient, connect(url, options))
