/**
 * v14's `SCServer`: a Node `EventEmitter` with socketcluster-server 14's properties,
 * events and methods (spec server-api.md §3–§5), driving one Effect server core
 * (`SCServer.make` from `@effect-socketcluster/server`) built in its own scope.
 *
 * The facade holds no protocol logic: it translates the core's synchronous events into
 * v14 events, v14 callbacks into core actions, and keeps one `SCServerSocket` per core
 * socket.
 */
import { randomUUID } from "node:crypto"
import { EventEmitter } from "node:events"
import type * as Http from "node:http"
import {
  Codec,
  type CodecEngine,
  InvalidArgumentsError,
  InvalidOptionsError,
  json
} from "@effect-socketcluster/protocol"
import {
  AuthEngine,
  type Broker,
  BrokerMemory,
  SCServer as Core,
  Middleware as CoreMiddleware,
  type SCSocket as CoreSocket,
  Options
} from "@effect-socketcluster/server"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Scope from "effect/Scope"
import * as AuthEngineAdapter from "./AuthEngineAdapter.js"
import * as BrokerEngineAdapter from "./BrokerEngineAdapter.js"
import { type ExchangeHost, SCExchange } from "./Exchange.js"
import * as Middleware from "./Middleware.js"
import { type MiddlewareRequests, type MiddlewareType, makeRequestBuilders } from "./MiddlewareRequests.js"
import * as OptionWarnings from "./OptionWarnings.js"
import { SCServerSocket } from "./SCServerSocket.js"
import { emitServerEvent } from "./ServerEvents.js"
import {
  authOptionsOf,
  coreInputOf,
  decodeCoreOptions,
  mergeOptions,
  type SCServerOptions,
  v14Defaults
} from "./ServerOptions.js"

export type { MiddlewareRequests, MiddlewareType } from "./MiddlewareRequests.js"
export type { SCServerOptions } from "./ServerOptions.js"

/**
 * The SocketCluster v14 server. Build it with `attach(httpServer, options)` or
 * `listen(port, options, callback)`; `core` is the Effect-native server underneath.
 */
export class SCServer extends EventEmitter {
  readonly MIDDLEWARE_HANDSHAKE_WS = "handshakeWS"
  readonly MIDDLEWARE_HANDSHAKE_SC = "handshakeSC"
  readonly MIDDLEWARE_AUTHENTICATE = "authenticate"
  readonly MIDDLEWARE_SUBSCRIBE = "subscribe"
  readonly MIDDLEWARE_PUBLISH_IN = "publishIn"
  readonly MIDDLEWARE_PUBLISH = "publishIn"
  readonly MIDDLEWARE_PUBLISH_OUT = "publishOut"
  readonly MIDDLEWARE_EMIT = "emit"

  /** The merged v14 options (with the generated `authKey`/`appName` and `httpServer`). */
  readonly options: Record<string, unknown>
  readonly httpServer: Http.Server
  readonly exchange: SCExchange
  /** The `brokerEngine` option as given. */
  readonly brokerEngine: Layer.Layer<Broker.Broker, unknown> | BrokerEngineAdapter.V14BrokerEngine | undefined
  readonly appName: string
  /** `true` after `ready`, `false` after `close()`. */
  isReady = false
  /** The codec engine in use. */
  codec: CodecEngine

  private coreValue: Core.SCServerCore | undefined
  private readonly pending: Array<(core: Core.SCServerCore) => void> = []
  private readonly scope = Scope.makeUnsafe()
  private readonly sockets = new WeakMap<CoreSocket.SCSocket, SCServerSocket>()
  private readonly middleware = new Map<MiddlewareType, Map<unknown, Array<CoreMiddleware.Middleware<never>>>>()
  private readonly authOptions: AuthEngine.AuthOptions
  private v14Auth: AuthEngineAdapter.V14AuthEngine | undefined
  private authEngine: AuthEngine.AuthEngine["Service"] | undefined
  private signingKey: unknown
  private verifyingKey: unknown
  private idGenerator: (() => string) | undefined
  private ownsHttpServer = false
  private disposed: Promise<void> | undefined
  private readonly requestBuilders = makeRequestBuilders((socket) => this.socketOf(socket))

  constructor(options: SCServerOptions = {}) {
    super()
    const httpServer = options.httpServer
    if (httpServer === undefined) {
      throw new InvalidOptionsError({ message: "The httpServer option is required (use attach or listen)" })
    }
    const brokerEngine = options.brokerEngine
    if (
      brokerEngine !== undefined &&
      !Layer.isLayer(brokerEngine) &&
      !BrokerEngineAdapter.isV14BrokerEngine(brokerEngine)
    ) {
      throw new InvalidOptionsError({
        message:
          "The brokerEngine option must be an Effect Layer<Broker> or a v14 broker engine (subscribeSocket, unsubscribeSocket, publish, ready event)"
      })
    }
    const merged = mergeOptions(options)
    this.options = merged
    this.httpServer = httpServer
    this.brokerEngine = brokerEngine
    this.appName = String(merged.appName)
    this.codec = options.codecEngine ?? json
    const exchangeHost: ExchangeHost = { withCore: (action) => this.withCore(action) }
    this.exchange =
      options.exchangeFactory === undefined ? new SCExchange(exchangeHost) : options.exchangeFactory(exchangeHost)
    this.signingKey = merged.authPrivateKey ?? merged.authKey
    this.verifyingKey = merged.authPublicKey ?? merged.authKey
    this.authOptions = authOptionsOf(merged, options.authVerifyAlgorithms)
    this.v14Auth = options.authEngine

    const self = this
    const delegatingAuth: AuthEngine.AuthEngine["Service"] = {
      signToken: (payload, signOptions) => Effect.suspend(() => this.currentAuth().signToken(payload, signOptions)),
      verifyToken: (token, context) => Effect.suspend(() => this.currentAuth().verifyToken(token, context)),
      // v14 asks its engine about a missing token too.
      get verifyMissingTokens() {
        return self.v14Auth !== undefined
      }
    }
    const scope = this.scope
    const brokerLayer: Layer.Layer<Broker.Broker, unknown> | undefined =
      brokerEngine === undefined || Layer.isLayer(brokerEngine) ? brokerEngine : BrokerEngineAdapter.layer(brokerEngine)
    const coreInput = coreInputOf(merged)
    const init = Effect.gen({ self: this }, function* () {
      yield* Options.resolveOptions(coreInput)
      const coreOptions = decodeCoreOptions(coreInput)
      if (this.v14Auth === undefined) this.authEngine = yield* AuthEngine.AuthEngine.make(this.authOptions)
      // v14 runs its embedded broker when no brokerEngine is given.
      const context = yield* Layer.buildWithScope(brokerLayer ?? BrokerMemory.layer, scope)
      return yield* Core.make(coreOptions, { _tag: "Attach", server: httpServer }).pipe(
        Effect.provideService(AuthEngine.AuthEngine, delegatingAuth),
        Effect.provideService(Codec, this.codec),
        Effect.provideContext(context),
        Scope.provide(scope)
      )
    })
    const fiber = Effect.runFork(init)
    const exit = fiber.pollUnsafe()
    if (exit !== undefined) {
      // Built synchronously (the usual case): option errors throw from the constructor, as in v14.
      if (Exit.isFailure(exit)) {
        Effect.runFork(Scope.close(this.scope, Exit.void))
        throw Cause.squash(exit.cause)
      }
      this.attachCore(exit.value)
    } else {
      fiber.addObserver((exit) => {
        if (Exit.isSuccess(exit)) this.attachCore(exit.value)
        else this.emit("error", Cause.squash(exit.cause))
      })
    }
    for (const warning of OptionWarnings.unreported(merged)) setImmediate(() => this.emit("warning", warning))
  }

  /** The Effect-native server core (undefined only while an asynchronous broker layer is being built). */
  get core(): Core.SCServerCore | undefined {
    return this.coreValue
  }

  private currentAuth(): AuthEngine.AuthEngine["Service"] {
    if (this.v14Auth !== undefined) return AuthEngineAdapter.fromV14(this.v14Auth, this)
    if (this.authEngine === undefined) throw new Error("The auth engine is not built yet")
    return this.authEngine
  }

  private attachCore(core: Core.SCServerCore): void {
    this.coreValue = core
    if (this.idGenerator !== undefined) core.generateId = this.idGenerator
    core.hub.listen((event) => emitServerEvent(this, (socket) => this.socketOf(socket), event))
    for (const action of this.pending.splice(0)) action(core)
    setImmediate(() => {
      if (!core.isReady) return
      this.isReady = true
      this.emit("ready")
    })
  }

  /** Runs `action` now, or once the core is built. */
  private withCore(action: (core: Core.SCServerCore) => void): void {
    if (this.coreValue !== undefined) action(this.coreValue)
    else this.pending.push(action)
  }

  /** @internal used by `listen`: binds the HTTP server once the core handles its upgrades. */
  listenWhenReady(port: number | undefined, callback?: () => void): void {
    this.ownsHttpServer = true
    this.withCore(() => {
      if (callback === undefined) this.httpServer.listen(port)
      else this.httpServer.listen(port, callback)
    })
  }

  /** @internal the v14 socket with `id`, pending or connected (a v14 `verifyToken` gets it). */
  v14Socket(id: string): SCServerSocket | undefined {
    const core = this.coreValue?.pendingClients.get(id) ?? this.coreValue?.clients.get(id)
    return core === undefined ? undefined : this.socketOf(core)
  }

  /** The v14 socket of a core socket (created on first sight). */
  socketOf(core: CoreSocket.SCSocket): SCServerSocket {
    let socket = this.sockets.get(core)
    if (socket === undefined) {
      socket = new SCServerSocket(core, this)
      this.sockets.set(core, socket)
    }
    return socket
  }

  // Properties ----------------------------------------------------------------------

  /** Sockets that completed the handshake, by id. */
  get clients(): Record<string, SCServerSocket> {
    const out: Record<string, SCServerSocket> = {}
    if (this.coreValue !== undefined) for (const [id, s] of this.coreValue.clients) out[id] = this.socketOf(s)
    return out
  }
  get clientsCount(): number {
    return this.coreValue?.clientsCount ?? 0
  }
  /** Sockets still in the handshake, by id. */
  get pendingClients(): Record<string, SCServerSocket> {
    const out: Record<string, SCServerSocket> = {}
    if (this.coreValue !== undefined) for (const [id, s] of this.coreValue.pendingClients) out[id] = this.socketOf(s)
    return out
  }
  get pendingClientsCount(): number {
    return this.coreValue?.pendingClientsCount ?? 0
  }
  /** The port the HTTP server listens on (not set by v14). */
  get sourcePort(): number | undefined {
    const address = this.httpServer.address()
    return address !== null && typeof address === "object" ? address.port : undefined
  }
  /** Whether the HTTP server is an HTTPS server (not set by v14). */
  get secure(): boolean {
    return "setSecureContext" in this.httpServer
  }
  /** The address the HTTP server is bound to (not set by v14). */
  get host(): string | undefined {
    const address = this.httpServer.address()
    return address !== null && typeof address === "object" ? address.address : undefined
  }
  /** The WebSocket server (`ws`). */
  get wsServer(): unknown {
    return this.coreValue?.wss
  }
  private option<K extends keyof Options.ServerOptions>(key: K): Options.ServerOptions[K] | undefined {
    return this.coreValue?.options[key]
  }
  /** A core option, or v14's default while the core is not built. */
  private v14Option<K extends keyof Options.ServerOptions & keyof typeof v14Defaults>(
    key: K
  ): NonNullable<Options.ServerOptions[K]> | (typeof v14Defaults)[K] {
    return this.coreValue?.options[key] ?? v14Defaults[key]
  }
  get ackTimeout(): number {
    return this.v14Option("ackTimeout")
  }
  get handshakeTimeout(): number {
    return this.v14Option("handshakeTimeout")
  }
  get pingInterval(): number {
    return this.v14Option("pingInterval")
  }
  get pingTimeout(): number {
    return this.v14Option("pingTimeout")
  }
  get pingTimeoutDisabled(): boolean {
    return this.v14Option("pingTimeoutDisabled")
  }
  get allowClientPublish(): boolean {
    return this.v14Option("allowClientPublish")
  }
  get perMessageDeflate(): unknown {
    return this.option("perMessageDeflate")
  }
  get socketChannelLimit(): number | undefined {
    return this.option("socketChannelLimit")
  }
  get origins(): string {
    return this.v14Option("origins")
  }
  get middlewareEmitWarnings(): boolean {
    return this.v14Option("middlewareEmitWarnings")
  }
  get strictHandshake(): boolean {
    return this.v14Option("strictHandshake")
  }
  get authSignAsync(): boolean {
    return this.options.authSignAsync === true
  }
  get authVerifyAsync(): boolean {
    return this.options.authVerifyAsync !== false
  }
  /** `{expiresIn, async, algorithm?}` used by `setAuthToken` with a v14 auth engine. */
  get defaultSignatureOptions(): Record<string, unknown> {
    const out: Record<string, unknown> = { expiresIn: this.options.authDefaultExpiry, async: this.authSignAsync }
    if (this.options.authAlgorithm !== undefined) out.algorithm = this.options.authAlgorithm
    return out
  }
  /** `{async, algorithms?}` passed to a v14 auth engine's `verifyToken`. */
  get defaultVerificationOptions(): Record<string, unknown> {
    const out: Record<string, unknown> = { async: this.authVerifyAsync }
    const algorithms =
      this.options.authVerifyAlgorithms ??
      (this.options.authAlgorithm === undefined ? undefined : [this.options.authAlgorithm])
    if (algorithms !== undefined) out.algorithms = algorithms
    return out
  }
  /** The key tokens are signed with; assigning it re-keys the built-in engine for later tokens. */
  get signatureKey(): unknown {
    return this.signingKey
  }
  set signatureKey(key: unknown) {
    this.signingKey = key
    this.rekey()
  }
  /** The key tokens are verified with; assigning it re-keys the built-in engine for later tokens. */
  get verificationKey(): unknown {
    return this.verifyingKey
  }
  set verificationKey(key: unknown) {
    this.verifyingKey = key
    this.rekey()
  }
  /** The auth engine: the v14 engine given to `setAuthEngine`, else the built-in one. */
  get auth(): AuthEngineAdapter.V14AuthEngine | AuthEngine.AuthEngine["Service"] | undefined {
    return this.v14Auth ?? this.authEngine
  }

  // The built-in engine takes one HMAC key (or one key pair): rebuild it from the current keys.
  private rekey(): void {
    if (this.v14Auth !== undefined) return
    const pair = this.authOptions.authPrivateKey !== undefined
    const options: AuthEngine.AuthOptions = pair
      ? { ...this.authOptions, authPrivateKey: String(this.signingKey), authPublicKey: String(this.verifyingKey) }
      : { ...this.authOptions, authKey: String(this.verifyingKey) }
    const fiber = Effect.runFork(AuthEngine.AuthEngine.make(options))
    fiber.addObserver((exit) => {
      if (Exit.isSuccess(exit)) this.authEngine = exit.value
      else this.emit("warning", Cause.squash(exit.cause))
    })
  }

  // Methods -------------------------------------------------------------------------

  /**
   * Appends a v14 middleware: `(req, next) => void` or a native `async (req) => …`.
   * Throws `InvalidArgumentsError` for an unknown type.
   */
  addMiddleware<T extends MiddlewareType>(type: T, middleware: Middleware.V14Middleware<MiddlewareRequests[T]>): void {
    if (!CoreMiddleware.isMiddlewareType(type)) {
      throw new InvalidArgumentsError({ message: `Middleware type "${String(type)}" is not supported` })
    }
    const wrapped = Middleware.fromV14(type, middleware, this.requestBuilders[type], (error) =>
      this.emit("warning", error)
    )
    let byFn = this.middleware.get(type)
    if (byFn === undefined) {
      byFn = new Map()
      this.middleware.set(type, byFn)
    }
    const list = byFn.get(middleware) ?? []
    list.push(wrapped as CoreMiddleware.Middleware<never>)
    byFn.set(middleware, list)
    this.withCore((core) => core.pipeline.add(type, wrapped))
  }

  /** Removes every occurrence of `middleware` (by identity) from the chain of `type`. */
  removeMiddleware<T extends MiddlewareType>(
    type: T,
    middleware: Middleware.V14Middleware<MiddlewareRequests[T]>
  ): void {
    if (!CoreMiddleware.isMiddlewareType(type)) {
      throw new InvalidArgumentsError({ message: `Middleware type "${String(type)}" is not supported` })
    }
    const byFn = this.middleware.get(type)
    const list = byFn?.get(middleware)
    if (byFn === undefined || list === undefined) return
    byFn.delete(middleware)
    this.withCore((core) => {
      for (const wrapped of list) core.pipeline.remove(type, wrapped as CoreMiddleware.Middleware<T>)
    })
  }

  /** Replaces the codec for every later encode/decode, open sockets included. */
  setCodecEngine(codec: CodecEngine): void {
    this.codec = codec
    this.withCore((core) => Effect.runSync(core.setCodecEngine(codec)))
  }

  /** Replaces the auth engine with a v14 one (`{signToken, verifyToken}` with callbacks). */
  setAuthEngine(engine: AuthEngineAdapter.V14AuthEngine): void {
    this.v14Auth = engine
  }

  /**
   * v14 `close`: stops accepting new connections and calls `callback`; sockets already
   * connected keep working. `{terminateSockets: true}` also closes them (1001).
   * `dispose()` releases everything (and the port, for `listen`).
   */
  close(callback?: (error?: unknown) => void, options?: { readonly terminateSockets?: boolean }): void {
    this.isReady = false
    this.withCore((core) => {
      if (options?.terminateSockets === true) core.closeUnsafe(1001)
      else core.stopAccepting()
    })
    if (callback !== undefined) setImmediate(callback)
  }

  /**
   * Shuts the server down for good: closes every socket (1001), stops handling upgrades
   * and, for a server made by `listen`, closes the HTTP server. Not in v14.
   */
  dispose(): Promise<void> {
    if (this.disposed === undefined) {
      this.isReady = false
      this.disposed = Effect.runPromise(Scope.close(this.scope, Exit.void)).then(
        () =>
          new Promise<void>((resolve) => {
            if (!this.ownsHttpServer || !this.httpServer.listening) return resolve()
            this.httpServer.close(() => resolve())
            this.httpServer.closeAllConnections()
          })
      )
    }
    return this.disposed
  }

  /** The normalised endpoint path, e.g. `/socketcluster/`. */
  getPath(): string {
    return this.coreValue?.getPath() ?? Options.normalizePath(String(this.options.path))
  }

  /** A new socket id; assign a function to replace the generator. */
  get generateId(): () => string {
    return this.idGenerator ?? this.coreValue?.generateId ?? (() => randomUUID())
  }
  set generateId(generator: () => string) {
    this.idGenerator = generator
    this.withCore((core) => {
      core.generateId = generator
    })
  }

  /** `true` iff `token.exp` is in the past. */
  isAuthTokenExpired(token: unknown): boolean {
    if (typeof token !== "object" || token === null) return false
    const exp: unknown = Reflect.get(token, "exp")
    return typeof exp === "number" && Date.now() > exp * 1000
  }
}

/** v14 `attach`: an SCServer handling the WebSocket upgrades of `httpServer` (sets `options.httpServer`). */
export const attach = (httpServer: Http.Server, options: SCServerOptions = {}): SCServer => {
  options.httpServer = httpServer
  return new SCServer(options)
}
