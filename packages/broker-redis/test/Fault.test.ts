/**
 * Redis goes away mid-stream and comes back on the same port: sockets stay connected and
 * RPC keeps working, publishing fails with a typed BrokerError on the client's ack, and
 * once Redis is back every channel that was subscribed delivers again with no client
 * action; the server reports both transitions as Notice events.
 */
import { assert, describe, it } from "@effect/vitest"
import type { Events } from "@effect-socketcluster/server"
import { startServer } from "@effect-socketcluster/server/testing"
import { Effect, Layer, Schedule } from "effect"
import * as BrokerRedis from "../src/BrokerRedis.js"
import { spawnRedisServer } from "../src/testing/RedisServer.js"
import { connect, Inbox, invoke, publish, subscribe } from "./clients.js"

type Notice = Extract<Events.ServerEvent, { readonly _tag: "Notice" }>["notice"]

describe("Redis outage", () => {
  it.live(
    "keeps sockets and RPC alive, fails publishes with BrokerError, and resumes every channel",
    () =>
      Effect.gen(function* () {
        const redis = yield* Effect.acquireRelease(Effect.promise(spawnRedisServer), (r) => Effect.promise(r.stop))
        const broker = BrokerRedis.layer({
          url: redis.url,
          // Fast retries keep the test short; the default starts at 50 ms too but caps at 5 s.
          reconnect: Schedule.spaced("25 millis")
        })
        const server = yield* startServer({}, Layer.empty, broker)
        const port = server.sourcePort ?? 0
        yield* server.handle("echo", (data) => Effect.succeed(data))

        const notices: Array<Notice> = []
        const noticeWaiters: Array<() => void> = []
        const unlisten = server.hub.listen((event) => {
          if (event._tag !== "Notice") return
          notices.push(event.notice)
          for (const wake of noticeWaiters.splice(0)) wake()
        })
        yield* Effect.addFinalizer(() => Effect.sync(unlisten))
        const noticeOf = (tag: Notice["_tag"]) =>
          Effect.callback<Notice>((resume) => {
            const check = () => {
              const found = notices.find((n) => n._tag === tag)
              if (found === undefined) noticeWaiters.push(check)
              else resume(Effect.succeed(found))
            }
            check()
          })

        const client = () =>
          Effect.acquireRelease(
            Effect.promise(() => connect(port)),
            (c) => Effect.sync(() => c.destroy())
          )
        const channels = ["alpha", "beta", "gamma"]
        const subscribers = [yield* client(), yield* client()]
        const inboxes = new Map<string, Array<Inbox>>()
        for (const channel of channels) {
          const list: Array<Inbox> = []
          for (const subscriber of subscribers) {
            const inbox = new Inbox()
            yield* Effect.promise(() => subscribe(subscriber, channel, inbox))
            list.push(inbox)
          }
          inboxes.set(channel, list)
        }
        const publisher = yield* client()
        const publishEverywhere = (tag: string) =>
          Effect.gen(function* () {
            for (const channel of channels) {
              const error = yield* Effect.promise(() => publish(publisher, channel, `${tag}-${channel}`))
              assert.isUndefined(error)
            }
            for (const channel of channels) {
              for (const inbox of inboxes.get(channel) ?? []) {
                yield* Effect.promise(() => inbox.until((item) => item === `${tag}-${channel}`))
              }
            }
          })

        yield* publishEverywhere("before")

        // A client publishing back to back (each after the previous ack) across the whole outage.
        const streamer = yield* client()
        const streamed = new Inbox()
        yield* Effect.promise(() => subscribe(subscribers[0]!, "stream", streamed))
        const acks: Array<{ readonly n: number; readonly error: unknown }> = []
        const ackWaiters: Array<() => void> = []
        let streaming = true
        const streamLoop = (async () => {
          for (let n = 0; streaming; n++) {
            acks.push({ n, error: await publish(streamer, "stream", n) })
            for (const wake of ackWaiters.splice(0)) wake()
          }
        })()
        const ackWhere = (predicate: (ack: { readonly n: number; readonly error: unknown }) => boolean) =>
          Effect.callback<{ readonly n: number; readonly error: unknown }>((resume) => {
            const check = () => {
              const found = acks.find(predicate)
              if (found === undefined) ackWaiters.push(check)
              else resume(Effect.succeed(found))
            }
            check()
          })
        yield* Effect.promise(() => streamed.atLeast(50))

        yield* Effect.promise(redis.stop)
        const lost = yield* noticeOf("ConnectionLost")
        assert.strictEqual(lost._tag, "ConnectionLost")
        const firstFailure = yield* ackWhere((ack) => ack.error !== undefined)

        for (const c of [...subscribers, publisher]) assert.strictEqual(c.state, "open")
        assert.deepStrictEqual(yield* Effect.promise(() => invoke(publisher, "echo", { still: "here" })), {
          still: "here"
        })
        const failure = yield* Effect.promise(() => publish(publisher, "alpha", "during"))
        assert.instanceOf(failure, Error)
        assert.strictEqual((failure as Error).name, "BrokerError")
        assert.strictEqual(server.clientsCount, 4)

        yield* Effect.promise(redis.restart)
        const restored = yield* noticeOf("ConnectionRestored")
        assert.strictEqual(restored._tag, "ConnectionRestored")
        if (restored._tag === "ConnectionRestored") {
          assert.strictEqual(restored.resubscribed, channels.length + 1) // + "stream"
          assert.isAbove(restored.downtimeMs, 0)
        }

        yield* publishEverywhere("after")
        const resumed = yield* ackWhere((ack) => ack.n > firstFailure.n && ack.error === undefined)
        yield* Effect.promise(() => streamed.until((item) => item === resumed.n))
        streaming = false
        yield* Effect.promise(() => streamLoop)
        const failures = acks.filter((ack) => ack.error !== undefined)
        assert.isAbove(failures.length, 0)
        for (const { error } of failures) assert.strictEqual((error as Error).name, "BrokerError")
        // At most once, in order: what arrived is strictly increasing; a gap is allowed only where publishes failed.
        const received = streamed.items as Array<number>
        for (let i = 1; i < received.length; i++) assert.isAbove(received[i]!, received[i - 1]!)
        const failed = new Set(failures.map((ack) => ack.n))
        const lastReceived = received[received.length - 1]!
        for (const ack of acks) {
          if (ack.n <= lastReceived && !failed.has(ack.n)) assert.include(received, ack.n)
        }
        for (const channel of channels) {
          for (const inbox of inboxes.get(channel) ?? []) {
            assert.deepStrictEqual(inbox.items, [`before-${channel}`, `after-${channel}`])
          }
        }
        for (const c of [...subscribers, publisher, streamer]) assert.strictEqual(c.state, "open")
      }),
    30_000
  )
})
