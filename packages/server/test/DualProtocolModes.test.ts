/**
 * The protocol choices with the real clients (spec protocol-v2.md V2-06..V2-10): the
 * client's query override, a v2 client told to speak v1, the server's fixed modes, and
 * pings disabled on either side. "Stays open" is shown by pongs arriving after pingTimeout.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { startServer } from "./helpers.js"
import { type AnyClient, type ClientName, clientNames, connectAll, v2Names, watchSockets } from "./protocolClients.js"

const pingOptions = { pingInterval: 300, pingTimeout: 1000 } as const

describe("dual protocol: modes", () => {
  it.live("V2-06, V2-07, V2-10: query override, a v2 client speaking v1, pingTimeoutDisabled clients", () =>
    Effect.gen(function* () {
      const server = yield* startServer(pingOptions)
      const watch = yield* watchSockets(server)
      const overridden = yield* connectAll(server.sourcePort!, clientNames, (name) => ({
        query: { scProtocolVersion: name === "14.3.2" ? 1 : 2 }
      }))
      const v1Speaker = yield* connectAll(server.sourcePort!, ["20.0.2"], () => ({ protocolVersion: 1 }))
      const quiet = yield* connectAll(server.sourcePort!, clientNames, () => ({ pingTimeoutDisabled: true }))
      const all = [...overridden, ...v1Speaker, ...quiet].map(({ client }) => client)
      // Past pingTimeout on every connection, with pongs still coming in.
      yield* Effect.promise(() => Promise.all(all.map((c) => watch.of(c.socket.id).pongAfter(1200))))
      const expected = (c: AnyClient, i: number): 1 | 2 => (i === overridden.length ? 1 : c.protocol)
      for (const [i, client] of all.entries()) {
        const w = watch.of(client.socket.id)
        assert.strictEqual(w.socket.protocolVersion, expected(client, i), `${client.name} #${i}`)
        assert.strictEqual(client.socket.state, "open", `${client.name} #${i}`)
        assert.deepStrictEqual(client.disconnects, [], `${client.name} #${i}`)
      }
      // V2-06: known from the upgrade, so no foreign ping at all.
      for (const { client } of overridden) assert.deepStrictEqual(client.raw, [], client.name)
      // V2-07: 20.0.2 in v1 mode sees the v2 ping of the first tick once, and reads a disconnect reason.
      const v20asV1 = v1Speaker[0]!.client
      assert.deepStrictEqual(v20asV1.raw, [""])
      const closed = v20asV1.next("disconnect")
      watch.of(v20asV1.socket.id).socket.disconnectUnsafe(4321, "custom reason")
      assert.deepStrictEqual(yield* Effect.promise(() => closed), { code: 4321, reason: "custom reason" })
      // V2-10: detected like the others.
      for (const { client } of quiet) {
        assert.strictEqual(yield* Effect.promise(() => watch.of(client.socket.id).version), client.protocol)
      }
    })
  )

  it.live(
    "server pingTimeoutDisabled: no pings, every socket stays unknown, and the dual-safe forms serve all five",
    () =>
      Effect.gen(function* () {
        const server = yield* startServer({ pingTimeoutDisabled: true })
        yield* server.handle("echo", (data) => Effect.succeed(data))
        const clients = (yield* connectAll(server.sourcePort!, clientNames, () => ({ pingTimeoutDisabled: true }))).map(
          ({ client }) => client
        )
        for (const client of clients) {
          assert.strictEqual(yield* Effect.promise(() => client.invoke("echo", client.name)), client.name)
          assert.strictEqual(server.clients.get(client.socket.id!)!.protocolVersion, null, client.name)
          assert.deepStrictEqual(client.raw, [], client.name)
        }
        // The #disconnect packet for v1 clients and the close frame's reason for v2 clients.
        const closed = yield* Effect.forEach(
          clients,
          (client) =>
            Effect.promise(() => {
              const next = client.next("disconnect")
              server.clients.get(client.socket.id!)!.disconnectUnsafe(4321, "custom reason")
              return next
            }),
          { concurrency: "unbounded" }
        )
        for (const [i, seen] of closed.entries()) {
          assert.deepStrictEqual(seen, { code: 4321, reason: "custom reason" }, clients[i]!.name)
        }
      })
  )

  it.live(
    "V2-08, V2-09: a server fixed to one protocol loses the other protocol's clients to a ping or pong timeout",
    () =>
      Effect.gen(function* () {
        const run = (protocolVersion: 1 | 2) =>
          Effect.gen(function* () {
            const server = yield* startServer({ ...pingOptions, protocolVersion })
            const watch = yield* watchSockets(server)
            const clients = (yield* connectAll(server.sourcePort!)).map(({ client }) => client)
            const connectedAt = Date.now()
            const losers = clients.filter((c) => c.protocol !== protocolVersion)
            const keepers = clients.filter((c) => c.protocol === protocolVersion)
            const lost = yield* Effect.forEach(losers, (c) => Effect.promise(() => c.next("disconnect")), {
              concurrency: "unbounded"
            })
            for (const [i, c] of losers.entries()) {
              assert.include([4000, 4001], (lost[i] as { code: number }).code, c.name)
            }
            assert.isAtMost(Date.now() - connectedAt, pingOptions.pingTimeout + 500)
            yield* Effect.promise(() => Promise.all(keepers.map((c) => watch.of(c.socket.id).pongAfter(1200))))
            for (const c of keepers) {
              assert.strictEqual(c.socket.state, "open", c.name)
              assert.deepStrictEqual(c.raw, [], c.name)
            }
            return losers.map((c) => c.name)
          })
        const [lostTo2, lostTo1] = yield* Effect.all([run(2), run(1)], { concurrency: "unbounded" })
        assert.deepStrictEqual(lostTo2, ["14.3.2"] satisfies Array<ClientName>)
        assert.deepStrictEqual(lostTo1, v2Names)
      })
  )
})
