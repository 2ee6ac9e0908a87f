/**
 * v14's `SCServer`: a Node `EventEmitter` with socketcluster-server 14's properties,
 * events and methods (spec server-api.md §3–§5), driving one Effect server core
 * (`SCServer.make` from `@effect-socketcluster/server`) built in its own scope.
 *
 * The facade holds no protocol logic: it translates the core's synchronous events into
 * v14 events, v14 callbacks into core actions, and keeps one `SCServerSocket` per core
 * socket.
 */
import { randomBytes, randomUUID } from "node:crypto"
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
  type Events,
  Options
} from "@effect-socketcluster/server"
import { Cause, Effect, Exit, Layer, Schema, Scope } from "effect"
import * as AuthEngineAdapter from "./AuthEngineAdapter.js"
import * as BrokerEngineAdapter from "./BrokerEngineAdapter.js"
import { type ExchangeHost, SCExchange } from "./Exchange.js"
import * as Middleware from "./Middleware.js"
import * as OptionWarnings from "./OptionWarnings.js"
import { SCServerSocket } from "./SCServerSocket.js"

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

/** The v14 middleware `req` of each type (`socket` is the v14 socket). */
export interface MiddlewareRequests {
  readonly handshakeWS: CoreMiddleware.MiddlewareRequests["handshakeWS"]["request"]
  readonly handshakeSC: { readonly socket: SCServerSocket }
  readonly authenticate: { readonly socket: SCServerSocket; readonly authToken: unknown }
  readonly subscribe: {
    readonly socket: SCServerSocket
    readonly channel: string
    readonly waitForAuth: boolean
    data: unknown
    readonly authTokenExpiredError?: unknown
  }
  readonly publishIn: {
    readonly socket: SCServerSocket
    readonly channel: string
    data: unknown
    ackData: unknown
    readonly authTokenExpiredError?: unknown
  }
  readonly publishOut: { readonly socket: SCServerSocket; readonly channel: string; data: unknown; useCache: boolean }
  readonly emit: {
    readonly socket: SCServerSocket
    readonly event: string
    data: unknown
    readonly authTokenExpiredError?: unknown
  }
}

export type MiddlewareType = CoreMiddleware.MiddlewareType

const v14Defaults = {
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

const decodeCoreOptions = Schema.decodeUnknownSync(Options.ServerOptionsInput, { onExcessProperty: "ignore" })

const withoutUndefined = (options: Record<string, unknown>): Record<string, unknown> => {
  const out: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(options)) if (value !== undefined) out[key] = value
  return out
}

const stringOption = (value: unknown): string | undefined => (typeof value === "string" ? value : undefined)

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
    const merged: Record<string, unknown> = { ...v14Defaults, ...withoutUndefined(options) }
    if (merged.authKey === undefined && merged.authPrivateKey === undefined && merged.authPublicKey === undefined) {
      merged.authKey = randomBytes(32).toString("hex")
      options.authKey = String(merged.authKey)
    }
    if (typeof merged.appName !== "string" || merged.appName === "") merged.appName = randomUUID()
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
    const authKey = stringOption(merged.authKey)
    const authPrivateKey = stringOption(merged.authPrivateKey)
    const authPublicKey = stringOption(merged.authPublicKey)
    const authAlgorithm = stringOption(merged.authAlgorithm)
    this.authOptions = {
      allowWeakKeys: true,
      ...(authKey === undefined ? {} : { authKey }),
      ...(authPrivateKey === undefined ? {} : { authPrivateKey }),
      ...(authPublicKey === undefined ? {} : { authPublicKey }),
      ...(authAlgorithm === undefined ? {} : { authAlgorithm }),
      ...(options.authVerifyAlgorithms === undefined ? {} : { authVerifyAlgorithms: options.authVerifyAlgorithms }),
      ...(typeof merged.authDefaultExpiry === "number" ? { authDefaultExpiry: merged.authDefaultExpiry } : {})
    }
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
    // The core's own defaults for these are stricter than v14's; a v14 app keeps v14's.
    const coreInput = {
      ...withoutUndefined(merged),
      socketChannelLimit: merged.socketChannelLimit ?? null,
      maxConnections: merged.maxConnections ?? null,
      maxPayload: merged.maxPayload ?? 100 * 1024 * 1024,
      allowPingIntervalOverTimeout: true
    }
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
    core.hub.listen(this.onCoreEvent)
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

  private readonly onCoreEvent = (event: Events.ServerEvent): void => {
    switch (event._tag) {
      case "Ready":
        return
      case "Error":
        this.emit("error", event.error)
        return
      case "Warning":
        this.emit("warning", event.error)
        return
      case "Notice":
        this.emit("notice", event.notice)
        return
      case "Handshake": {
        const socket = this.socketOf(event.socket)
        this.emit("_handshake", socket)
        this.emit("handshake", socket)
        return
      }
      case "Connection": {
        const socket = this.socketOf(event.socket)
        this.emit("_connection", socket, event.status)
        this.emit("connection", socket, event.status)
        return
      }
      case "ConnectionAbort": {
        const socket = this.socketOf(event.socket)
        this.emit("_connectionAbort", socket, event.code, event.data)
        this.emit("connectionAbort", socket, event.code, event.data)
        return
      }
      case "Disconnection": {
        const socket = this.socketOf(event.socket)
        this.emit("_disconnection", socket, event.code, event.data)
        this.emit("disconnection", socket, event.code, event.data)
        return
      }
      case "Closure": {
        const socket = this.socketOf(event.socket)
        this.emit("_closure", socket, event.code, event.data)
        this.emit("closure", socket, event.code, event.data)
        return
      }
      case "Subscription":
        this.emit("subscription", this.socketOf(event.socket), event.channel, event.options)
        return
      case "Unsubscription":
        this.emit("unsubscription", this.socketOf(event.socket), event.channel)
        return
      case "Authentication":
        this.emit("authentication", this.socketOf(event.socket), event.authToken)
        return
      case "Deauthentication":
        this.emit("deauthentication", this.socketOf(event.socket), event.oldAuthToken)
        return
      case "AuthenticationStateChange":
        this.emit("authenticationStateChange", this.socketOf(event.socket), event.change)
        return
      case "BadSocketAuthToken":
        this.emit("badSocketAuthToken", this.socketOf(event.socket), event.info)
        return
    }
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
  get ackTimeout(): number {
    return this.option("ackTimeout") ?? v14Defaults.ackTimeout
  }
  get handshakeTimeout(): number {
    return this.option("handshakeTimeout") ?? v14Defaults.handshakeTimeout
  }
  get pingInterval(): number {
    return this.option("pingInterval") ?? v14Defaults.pingInterval
  }
  get pingTimeout(): number {
    return this.option("pingTimeout") ?? v14Defaults.pingTimeout
  }
  get pingTimeoutDisabled(): boolean {
    return this.option("pingTimeoutDisabled") ?? v14Defaults.pingTimeoutDisabled
  }
  get allowClientPublish(): boolean {
    return this.option("allowClientPublish") ?? v14Defaults.allowClientPublish
  }
  get perMessageDeflate(): unknown {
    return this.option("perMessageDeflate")
  }
  get socketChannelLimit(): number | undefined {
    return this.option("socketChannelLimit")
  }
  get origins(): string {
    return this.option("origins") ?? v14Defaults.origins
  }
  get middlewareEmitWarnings(): boolean {
    return this.option("middlewareEmitWarnings") ?? v14Defaults.middlewareEmitWarnings
  }
  get strictHandshake(): boolean {
    return this.option("strictHandshake") ?? v14Defaults.strictHandshake
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

  // Middleware requests: v14's `req` shapes over the core's requests. Writable fields
  // write through, so a change made by a v14 middleware is what the core uses.
  private readonly requestBuilders: {
    readonly [K in MiddlewareType]: (req: CoreMiddleware.MiddlewareRequests[K]) => MiddlewareRequests[K]
  } = {
    handshakeWS: (req) => req.request,
    handshakeSC: (req) => ({ socket: this.socketOf(req.socket) }),
    authenticate: (req) => ({ socket: this.socketOf(req.socket), authToken: req.authToken }),
    subscribe: (req) =>
      withExpiry(
        {
          socket: this.socketOf(req.socket),
          channel: req.channel,
          waitForAuth: req.waitForAuth,
          get data() {
            return req.data
          },
          set data(value: unknown) {
            req.data = value
          }
        },
        req.authTokenExpiredError
      ),
    publishIn: (req) =>
      withExpiry(
        {
          socket: this.socketOf(req.socket),
          channel: req.channel,
          get data() {
            return req.data
          },
          set data(value: unknown) {
            req.data = value
          },
          get ackData() {
            return req.ackData
          },
          set ackData(value: unknown) {
            req.ackData = value
          }
        },
        req.authTokenExpiredError
      ),
    publishOut: (req) => ({
      socket: this.socketOf(req.socket),
      channel: req.channel,
      get data() {
        return req.data
      },
      set data(value: unknown) {
        req.data = value
      },
      useCache: false
    }),
    emit: (req) =>
      withExpiry(
        {
          socket: this.socketOf(req.socket),
          event: req.event,
          get data() {
            return req.data
          },
          set data(value: unknown) {
            req.data = value
          }
        },
        req.authTokenExpiredError
      )
  }
}

// v14 sets `authTokenExpiredError` only when the token expired.
const withExpiry = <R extends object>(req: R, expired: unknown): R & { authTokenExpiredError?: unknown } => {
  if (expired !== undefined) Object.assign(req, { authTokenExpiredError: expired })
  return req
}

/** v14 `attach`: an SCServer handling the WebSocket upgrades of `httpServer` (sets `options.httpServer`). */
export const attach = (httpServer: Http.Server, options: SCServerOptions = {}): SCServer => {
  options.httpServer = httpServer
  return new SCServer(options)
}
