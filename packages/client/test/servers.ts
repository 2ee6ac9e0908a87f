/**
 * The servers the interop tests run against, behind one shape: this project's SCServer
 * and the original socketcluster-server 14.7.2 and 20.0.1 from npm (no code of ours on
 * their side). Each answers `echo`, refuses `refuse` with a `LoginError`, signs a token on
 * `login` and tells who is logged in on `whoami`.
 */
import type * as Http from "node:http"
import { createRequire } from "node:module"
import { ApplicationError } from "@effect-socketcluster/protocol"
import { BrokerMemory } from "@effect-socketcluster/server"
import { startStoppableServer } from "@effect-socketcluster/server/testing"
import { Effect, Layer } from "effect"

const require = createRequire(import.meta.url)

/** A running server of one flavour. */
export interface RunningServer {
  readonly port: number
  /** Publishes from the server side. */
  readonly publish: (channel: string, data: unknown) => Effect.Effect<void>
  /** Stops the server (every socket closed, the port released). */
  readonly stop: Effect.Effect<void>
}

export interface Flavour {
  readonly name: string
  readonly protocolVersion: 1 | 2
  /** Whether it does channel recovery (only this project's server does). */
  readonly recovers: boolean
  /** Starts a server on `port` (0 = a free one). */
  readonly start: (port: number) => Effect.Effect<RunningServer>
}

const loginError = { name: "LoginError", message: "bad password" }

const closeHttp = (server: Http.Server): Effect.Effect<void> =>
  Effect.callback<void>((resume) => {
    server.close(() => resume(Effect.void))
    server.closeAllConnections()
  })

const listening = (server: Http.Server): Effect.Effect<number> =>
  Effect.callback<number>((resume) => {
    const read = () => {
      const address = server.address()
      resume(Effect.succeed(typeof address === "object" && address !== null ? address.port : 0))
    }
    if (server.listening) read()
    else server.once("listening", read)
  })

/** This project's server (protocol "auto": serves both client dialects). */
export const ours = (protocolVersion: 1 | 2): Flavour => ({
  name: `this server, client protocol v${protocolVersion}`,
  protocolVersion,
  recovers: true,
  start: (port) =>
    Effect.gen(function* () {
      const { server, stop } = yield* startStoppableServer({}, Layer.empty, BrokerMemory.layer, port).pipe(Effect.orDie)
      yield* server.handle("echo", (data) => Effect.succeed(data))
      yield* server.handle("refuse", () => Effect.fail(new ApplicationError(loginError)))
      yield* server.handle("login", (data, socket) => socket.setAuthToken(data).pipe(Effect.as("ok")))
      yield* server.handle("whoami", (_data, socket) => Effect.succeed(socket.getAuthToken() ?? null))
      return {
        port: server.sourcePort ?? 0,
        publish: (channel, data) => Effect.orDie(server.exchange.publish(channel, data)),
        stop
      }
    })
})

type Respond = (error: unknown, data?: unknown) => void
interface V14Socket {
  readonly authToken: unknown
  on(event: string, handler: (data: unknown, respond: Respond) => void): void
  setAuthToken(data: unknown): void
}
interface V14Server {
  readonly httpServer: Http.Server
  readonly clients: Readonly<Record<string, { disconnect(code?: number): void }>>
  readonly exchange: { publish(channel: string, data: unknown, callback?: (error: unknown) => void): void }
  on(event: "connection", handler: (socket: V14Socket) => void): void
  close(): void
}
const v14: { listen(port: number, options: object): V14Server } = require("socketcluster-server-14.7.2")

/** The original socketcluster-server 14.7.2 (protocol v1). */
export const original14: Flavour = {
  name: "socketcluster-server 14.7.2",
  protocolVersion: 1,
  recovers: false,
  start: (port) =>
    Effect.gen(function* () {
      const server = v14.listen(port, {})
      server.on("connection", (socket) => {
        socket.on("echo", (data, respond) => respond(null, data))
        socket.on("refuse", (_data, respond) => respond(Object.assign(new Error(loginError.message), loginError)))
        socket.on("login", (data, respond) => {
          socket.setAuthToken(data)
          respond(null, "ok")
        })
        socket.on("whoami", (_data, respond) => respond(null, socket.authToken ?? null))
      })
      return {
        port: yield* listening(server.httpServer),
        publish: (channel, data) =>
          Effect.callback<void>((resume) => server.exchange.publish(channel, data, () => resume(Effect.void))),
        // v14 runs `ws` without client tracking: its sockets are closed one by one.
        stop: Effect.suspend(() => {
          for (const socket of Object.values(server.clients)) socket.disconnect(1001)
          server.close()
          return closeHttp(server.httpServer)
        })
      }
    })
}

interface AsyncStream<A> extends AsyncIterable<A> {}
interface V20Request {
  readonly data: unknown
  end(data?: unknown): void
  error(error: Error): void
}
interface V20Socket {
  readonly authToken: unknown
  procedure(name: string): AsyncStream<V20Request>
  setAuthToken(data: unknown): Promise<void>
}
interface V20Server {
  readonly httpServer: Http.Server
  readonly exchange: { invokePublish(channel: string, data: unknown): Promise<void> }
  listener(event: "connection"): AsyncStream<{ readonly socket: V20Socket }>
  close(): Promise<void>
}
const v20: { listen(port: number, options: object): V20Server } = require("socketcluster-server-20")

const serve = (socket: V20Socket, name: string, handler: (req: V20Request) => Promise<void> | void) =>
  void (async () => {
    for await (const req of socket.procedure(name)) await handler(req)
  })()

/** The original socketcluster-server 20.0.1 (protocol v2). */
export const original20: Flavour = {
  name: "socketcluster-server 20.0.1",
  protocolVersion: 2,
  recovers: false,
  start: (port) =>
    Effect.gen(function* () {
      const server = v20.listen(port, {})
      void (async () => {
        for await (const { socket } of server.listener("connection")) {
          serve(socket, "echo", (req) => req.end(req.data))
          serve(socket, "refuse", (req) => req.error(Object.assign(new Error(loginError.message), loginError)))
          serve(socket, "login", async (req) => {
            await socket.setAuthToken(req.data)
            req.end("ok")
          })
          serve(socket, "whoami", (req) => req.end(socket.authToken ?? null))
        }
      })()
      return {
        port: yield* listening(server.httpServer),
        publish: (channel, data) => Effect.promise(() => server.exchange.invokePublish(channel, data)),
        stop: Effect.promise(() => server.close()).pipe(Effect.andThen(closeHttp(server.httpServer)))
      }
    })
}
