/**
 * Closing, as each real client observes it (spec protocol-v2.md V2-34..V2-41, V2-45,
 * §2.2–§2.3): server disconnects with every kind of reason, client disconnects, reconnect
 * back-off, handshake rejection and calls aborted by a close. v1 clients read the reason
 * from the `#disconnect` packet, v2 clients from the close frame.
 */
import { assert, describe, it } from "@effect/vitest"
import { ApplicationError } from "@effect-socketcluster/protocol"
import { Effect } from "effect"
import type { ServerEvent } from "../src/Events.js"
import { MiddlewareRejection } from "../src/Middleware.js"
import { startServer } from "./helpers.js"
import {
  type AnyClient,
  type ClientName,
  type Closed,
  clientNames,
  connectAll,
  makeClient,
  until
} from "./protocolClients.js"

const options = { pingInterval: 500, pingTimeout: 1500 } as const

/** Disconnects every client from the server side and collects what each saw. */
const serverDisconnect = (
  server: { readonly clients: ReadonlyMap<string, { disconnectUnsafe(code: number, data?: unknown): void }> },
  clients: ReadonlyArray<AnyClient>,
  code: number,
  reason?: unknown
) =>
  Effect.forEach(
    clients,
    (client) =>
      Effect.promise(async () => {
        const closed = client.next("disconnect") as Promise<Closed>
        // 14.3.2 emits the SocketProtocolError a timer turn after `disconnect`.
        const errored = client.next("error") as Promise<Error>
        server.clients.get(client.socket.id!)!.disconnectUnsafe(code, reason)
        const [seen, error] = await Promise.all([closed, errored])
        return { client, seen, error }
      }),
    { concurrency: "unbounded" }
  )

const reconnect = (clients: ReadonlyArray<AnyClient>) =>
  Effect.forEach(
    clients,
    (client) =>
      Effect.promise(() => {
        const connected = client.next("connect")
        client.socket.connect()
        return connected
      }),
    { concurrency: "unbounded" }
  )

const errorText = (name: ClientName, code: number, reason: string | undefined): string => {
  const base = `Socket connection closed with status code ${code}`
  if (reason !== undefined) return `${base} and reason: ${reason}`
  return name === "20.0.2" ? `${base} and reason: ` : base
}

describe("dual protocol: closing", () => {
  it.live("V2-34..V2-38: server disconnects with a reason, a long one, an object, none; reconnect back-off", () =>
    Effect.gen(function* () {
      const server = yield* startServer(options)
      const clients = (yield* connectAll(server.sourcePort!)).map(({ client }) => client)
      // V2-34
      for (const { client, seen, error } of yield* serverDisconnect(server, clients, 4321, "custom reason")) {
        assert.deepStrictEqual(seen, { code: 4321, reason: "custom reason" }, client.name)
        assert.strictEqual(error.name, "SocketProtocolError", client.name)
        assert.strictEqual(error.message, errorText(client.name, 4321, "custom reason"), client.name)
      }
      // V2-35: 200 bytes; the close frame holds 123.
      yield* reconnect(clients)
      const long = "é".repeat(100)
      for (const { client, seen } of yield* serverDisconnect(server, clients, 4321, long)) {
        assert.strictEqual(seen.reason, client.protocol === 1 ? long : "é".repeat(61), client.name)
      }
      // V2-36
      yield* reconnect(clients)
      for (const { client, seen, error } of yield* serverDisconnect(server, clients, 4100, { a: 1 })) {
        assert.deepStrictEqual(seen.reason, client.protocol === 1 ? { a: 1 } : '{"a":1}', client.name)
        const text = client.protocol === 1 ? "[object Object]" : '{"a":1}'
        assert.strictEqual(error.message, errorText(client.name, 4100, text), client.name)
      }
      // V2-37
      yield* reconnect(clients)
      for (const { client, seen, error } of yield* serverDisconnect(server, clients, 4321)) {
        assert.strictEqual(seen.reason, client.protocol === 1 ? undefined : "", client.name)
        assert.strictEqual(error.message, errorText(client.name, 4321, undefined), client.name)
      }
      // V2-38: below 4500 every release schedules a reconnect with its back-off; from 4500 none does.
      yield* reconnect(clients)
      yield* serverDisconnect(server, clients, 4400, "later")
      for (const client of clients) {
        assert.isTrue(client.socket.pendingReconnect, client.name)
        assert.isAtLeast(client.socket.pendingReconnectTimeout!, 10000, client.name)
        assert.isAtMost(client.socket.pendingReconnectTimeout!, 20000, client.name)
      }
      yield* reconnect(clients)
      yield* serverDisconnect(server, clients, 4501, "never")
      for (const client of clients) assert.isFalse(client.socket.pendingReconnect, client.name)
      assert.strictEqual(server.clientsCount, 0)
    })
  )

  it.live("V2-39, V2-40, V2-45: client disconnects with and without a reason; a pending call aborted by a close", () =>
    Effect.gen(function* () {
      const server = yield* startServer(options)
      const events: Array<ServerEvent> = []
      yield* Effect.acquireRelease(
        Effect.sync(() => server.hub.listen((e) => events.push(e))),
        (remove) => Effect.sync(remove)
      )
      let started: () => void = () => {}
      yield* server.handle("slow", () => Effect.sync(() => started()).pipe(Effect.andThen(Effect.never)))
      const clients = (yield* connectAll(server.sourcePort!)).map(({ client }) => client)
      const disconnection = (id: string | null) =>
        Effect.promise(async () => {
          const find = () => events.find((e) => e._tag === "Disconnection" && e.socket.id === id)
          await until(() => find() !== undefined)
          return find() as Extract<ServerEvent, { readonly _tag: "Disconnection" }>
        })
      for (const client of clients) {
        const id = client.socket.id
        client.socket.disconnect(4123, "client reason")
        const seen = yield* disconnection(id)
        assert.deepStrictEqual([seen.code, seen.data], [4123, "client reason"], client.name)
      }
      yield* reconnect(clients)
      const warningsBefore = events.filter((e) => e._tag === "Warning").length
      for (const client of clients) {
        const id = client.socket.id
        client.socket.disconnect()
        assert.strictEqual((yield* disconnection(id)).code, 1000, client.name)
      }
      assert.strictEqual(events.filter((e) => e._tag === "Warning").length, warningsBefore)
      // V2-45
      yield* reconnect(clients)
      for (const client of clients) {
        const running = new Promise<void>((resolve) => {
          started = resolve
        })
        const call = client.invoke("slow").then(null, (e: Error & { type?: string }) => e)
        yield* Effect.promise(() => running)
        server.clients.get(client.socket.id!)!.disconnectUnsafe(4321)
        const error = (yield* Effect.promise(() => call)) as Error & { type?: string }
        assert.strictEqual(error.name, "BadConnectionError", client.name)
        assert.strictEqual(error.type, "disconnect", client.name)
        const quoted = client.name === "14.3.2" ? "'slow'" : client.name === "20.0.2" ? "slow" : '"slow"'
        assert.strictEqual(error.message, `Event ${quoted} was aborted due to a bad connection`, client.name)
      }
    })
  )

  it.live(
    "V2-41: a handshakeSC rejection as each release reports it (code 4008 by default, 4501 ends reconnects)",
    () =>
      Effect.gen(function* () {
        const server = yield* startServer(options)
        let statusCode: number | undefined
        yield* server.addMiddleware("handshakeSC", () =>
          Effect.fail(
            new MiddlewareRejection({
              error: new ApplicationError({ name: "LazyErr", message: "too lazy" }),
              ...(statusCode === undefined ? {} : { statusCode })
            })
          )
        )
        for (const code of [4008, 4501]) {
          statusCode = code === 4008 ? undefined : code
          const aborts = yield* connectAbortAll(server.sourcePort!)
          for (const { client, seen } of aborts) {
            assert.deepStrictEqual(seen, { code, reason: "LazyErr: too lazy" }, client.name)
            assert.deepStrictEqual(
              client.errors.map((e) => e.name),
              ["LazyErr", "SocketProtocolError"],
              client.name
            )
            if (code === 4008) {
              assert.strictEqual(client.errors[1]!.message, "Server rejected handshake from client", client.name)
            } else {
              assert.isFalse(client.socket.pendingReconnect, client.name)
            }
          }
        }
      })
  )
})

const connectAbortAll = (port: number) =>
  Effect.forEach(
    clientNames,
    (name) =>
      Effect.gen(function* () {
        const client = yield* makeClient(name, port)
        const seen = (yield* Effect.promise(() => client.next("connectAbort"))) as Closed
        yield* Effect.promise(() => until(() => client.errors.length >= 2))
        return { client, seen }
      }),
    { concurrency: "unbounded" }
  )
