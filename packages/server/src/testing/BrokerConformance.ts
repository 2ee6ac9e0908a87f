/**
 * The broker contract as a reusable test suite. Every broker layer must pass it; run it
 * from your own vitest file:
 *
 * ```ts
 * import { runBrokerConformance } from "@effect-socketcluster/server/testing"
 * runBrokerConformance("MyBroker", MyBroker.layer)
 * ```
 *
 * Deliveries may be asynchronous; the suite waits for them (never sleeps) and proves an
 * absence by publishing a marker on a subscribed channel afterwards: a broker must keep
 * the order of publications from one publisher.
 *
 * A broker with history must be configured with {@link conformanceHistory} for the suite;
 * pass `{ history: false }` for a broker without history (at-most-once delivery only).
 */
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import type * as Layer from "effect/Layer"
import * as Queue from "effect/Queue"
import type * as Scope from "effect/Scope"
import { Broker, type BrokerHistory, type Publication } from "../Broker.js"
import type { HistoryConfig, HistoryRead } from "../History.js"

/** The history settings the conformance suite expects the broker under test to have. */
export const conformanceHistory: HistoryConfig = {
  default: { length: 1000 },
  channels: [
    { pattern: "short-*", history: { length: 3 } },
    { pattern: "brief-*", history: { length: 1000, age: "150 millis" } },
    { pattern: "off-*", history: "off" }
  ]
}

const receive = Effect.gen(function* () {
  const broker = yield* Broker
  const inbox = yield* Queue.unbounded<Publication>()
  yield* broker.onPublication((channel, data) => {
    Queue.offerUnsafe(inbox, { channel, data })
  })
  return { broker, inbox }
})

const receivePositions = Effect.gen(function* () {
  const broker = yield* Broker
  const inbox = yield* Queue.unbounded<Publication>()
  yield* broker.onPublication((channel, data, offset, epoch) => {
    Queue.offerUnsafe(inbox, { channel, data, offset, epoch })
  })
  return { broker, inbox }
})

const historyOf = (history: BrokerHistory | undefined): BrokerHistory => {
  assert.isDefined(history, "the broker has no history")
  return history as BrokerHistory
}

/**
 * A history read without the publications' optional `json`, after checking that each text
 * given is what the default codec writes for its data (a replay sends that text as it is).
 */
const withoutText = (read: HistoryRead): HistoryRead => {
  for (const p of read.publications) {
    if (p.json !== undefined) assert.strictEqual(p.json, JSON.stringify(p.data), `the text of offset ${p.offset}`)
  }
  return { ...read, publications: read.publications.map(({ data, offset }) => ({ offset, data })) }
}

const takeN = (inbox: Queue.Queue<Publication>, n: number) =>
  Effect.gen(function* () {
    const out: Array<Publication> = []
    while (out.length < n) out.push(yield* Queue.take(inbox))
    return out
  }).pipe(Effect.timeout("5 seconds"))

const unique = (prefix: string) => `${prefix}-${Math.random().toString(36).slice(2)}`

/**
 * Registers the conformance tests for the broker built by `layer` (fresh per test).
 */
export const runBrokerConformance = <E>(
  name: string,
  layer: Layer.Layer<Broker, E>,
  options: { readonly history?: boolean } = {}
): void => {
  describe(`Broker conformance: ${name}`, () => {
    const run = <A, E2>(effect: Effect.Effect<A, E2, Broker | Scope.Scope>) =>
      effect.pipe(Effect.scoped, Effect.provide(layer, { local: true }))

    it.live("becomes ready", () =>
      run(
        Effect.gen(function* () {
          const broker = yield* Broker
          yield* broker.ready
        })
      )
    )

    it.live("delivers a publication on a subscribed channel exactly once", () =>
      run(
        Effect.gen(function* () {
          const { broker, inbox } = yield* receive
          yield* broker.ready
          const channel = unique("once")
          yield* broker.subscribe(channel)
          yield* broker.publish(channel, { text: "héllo ✓", n: 1, list: [1, null, true] })
          const [first] = yield* takeN(inbox, 1)
          assert.deepStrictEqual(first, { channel, data: { text: "héllo ✓", n: 1, list: [1, null, true] } })
          const marker = unique("marker")
          yield* broker.subscribe(marker)
          yield* broker.publish(marker, "m")
          const [next] = yield* takeN(inbox, 1)
          assert.deepStrictEqual(next, { channel: marker, data: "m" })
        })
      )
    )

    it.live("does not deliver channels that were never subscribed", () =>
      run(
        Effect.gen(function* () {
          const { broker, inbox } = yield* receive
          yield* broker.ready
          const marker = unique("marker")
          yield* broker.subscribe(marker)
          yield* broker.publish(unique("other"), "lost")
          yield* broker.publish(marker, "m")
          const [got] = yield* takeN(inbox, 1)
          assert.deepStrictEqual(got, { channel: marker, data: "m" })
        })
      )
    )

    it.live("stops delivering after unsubscribe", () =>
      run(
        Effect.gen(function* () {
          const { broker, inbox } = yield* receive
          yield* broker.ready
          const channel = unique("unsub")
          const marker = unique("marker")
          yield* broker.subscribe(channel)
          yield* broker.subscribe(marker)
          yield* broker.publish(channel, 1)
          assert.deepStrictEqual(yield* takeN(inbox, 1), [{ channel, data: 1 }])
          yield* broker.unsubscribe(channel)
          yield* broker.publish(channel, 2)
          yield* broker.publish(marker, "m")
          assert.deepStrictEqual(yield* takeN(inbox, 1), [{ channel: marker, data: "m" }])
        })
      )
    )

    it.live("keeps publish order on a channel", () =>
      run(
        Effect.gen(function* () {
          const { broker, inbox } = yield* receive
          yield* broker.ready
          const channel = unique("order")
          yield* broker.subscribe(channel)
          for (let i = 0; i < 500; i++) yield* broker.publish(channel, i)
          const got = yield* takeN(inbox, 500)
          assert.deepStrictEqual(
            got.map((p) => p.data),
            Array.from({ length: 500 }, (_, i) => i)
          )
        })
      )
    )

    it.live("keeps channels apart", () =>
      run(
        Effect.gen(function* () {
          const { broker, inbox } = yield* receive
          yield* broker.ready
          const a = unique("a")
          const b = unique("b")
          yield* broker.subscribe(a)
          yield* broker.subscribe(b)
          yield* broker.publish(a, "to-a")
          yield* broker.publish(b, "to-b")
          const got = yield* takeN(inbox, 2)
          assert.deepStrictEqual(got, [
            { channel: a, data: "to-a" },
            { channel: b, data: "to-b" }
          ])
        })
      )
    )

    it.live("subscribing twice is harmless and one unsubscribe ends interest", () =>
      run(
        Effect.gen(function* () {
          const { broker, inbox } = yield* receive
          yield* broker.ready
          const channel = unique("twice")
          const marker = unique("marker")
          yield* broker.subscribe(channel)
          yield* broker.subscribe(channel)
          yield* broker.subscribe(marker)
          yield* broker.publish(channel, "x")
          assert.deepStrictEqual(yield* takeN(inbox, 1), [{ channel, data: "x" }])
          yield* broker.unsubscribe(channel)
          yield* broker.publish(channel, "y")
          yield* broker.publish(marker, "m")
          assert.deepStrictEqual(yield* takeN(inbox, 1), [{ channel: marker, data: "m" }])
        })
      )
    )

    it.live("stops calling a handler once its scope closes", () =>
      run(
        Effect.gen(function* () {
          const broker = yield* Broker
          yield* broker.ready
          const channel = unique("scoped")
          const early = yield* Queue.unbounded<unknown>()
          yield* Effect.scoped(
            broker.onPublication((_, data) => {
              Queue.offerUnsafe(early, data)
            })
          )
          const { inbox } = yield* receive
          yield* broker.subscribe(channel)
          yield* broker.publish(channel, "after")
          assert.deepStrictEqual(yield* takeN(inbox, 1), [{ channel, data: "after" }])
          assert.strictEqual(yield* Queue.size(early), 0)
        })
      )
    )

    if (options.history === false) return

    it.live("numbers publications 1, 2, 3... with one epoch, live and in history", () =>
      run(
        Effect.gen(function* () {
          const { broker, inbox } = yield* receivePositions
          yield* broker.ready
          const history = historyOf(broker.history)
          const channel = unique("offsets")
          assert.deepStrictEqual(yield* history.position(channel), { offset: 0, epoch: "" })
          yield* broker.subscribe(channel)
          for (let i = 1; i <= 5; i++) yield* broker.publish(channel, `m${i}`)
          const got = yield* takeN(inbox, 5)
          assert.deepStrictEqual(
            got.map((p) => [p.data, p.offset]),
            [1, 2, 3, 4, 5].map((i) => [`m${i}`, i])
          )
          const epoch = got[0]!.epoch
          assert.isString(epoch)
          assert.notStrictEqual(epoch, "")
          for (const p of got) assert.strictEqual(p.epoch, epoch)
          assert.deepStrictEqual(yield* history.position(channel), { offset: 5, epoch })
        })
      )
    )

    it.live("reads exactly what came after a position", () =>
      run(
        Effect.gen(function* () {
          const broker = yield* Broker
          yield* broker.ready
          const history = historyOf(broker.history)
          const channel = unique("read")
          // History does not depend on anybody being subscribed.
          for (let i = 1; i <= 10; i++) yield* broker.publish(channel, { i, text: "ü✓" })
          const top = yield* history.position(channel)
          assert.isDefined(top)
          const epoch = top?.epoch ?? ""
          const mid = yield* history.read(channel, { offset: 6, epoch })
          assert.deepStrictEqual(withoutText(mid), {
            publications: [7, 8, 9, 10].map((i) => ({ offset: i, data: { i, text: "ü✓" } })),
            position: { offset: 10, epoch },
            gap: undefined
          })
          assert.deepStrictEqual(yield* history.read(channel, { offset: 10, epoch }), {
            publications: [],
            position: { offset: 10, epoch },
            gap: undefined
          })
          const fromScratch = yield* history.read(channel, { offset: 0, epoch: "" })
          assert.strictEqual(fromScratch.gap, undefined)
          assert.deepStrictEqual(
            fromScratch.publications.map((p) => p.offset),
            [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]
          )
        })
      )
    )

    it.live("tells a lost stream (other epoch) and a rewound one from a complete read", () =>
      run(
        Effect.gen(function* () {
          const broker = yield* Broker
          yield* broker.ready
          const history = historyOf(broker.history)
          const channel = unique("epoch")
          for (let i = 1; i <= 3; i++) yield* broker.publish(channel, i)
          const epoch = (yield* history.position(channel))?.epoch ?? ""
          const lost = yield* history.read(channel, { offset: 40, epoch: `${epoch}-old` })
          assert.strictEqual(lost.gap, "EpochChanged")
          assert.deepStrictEqual(
            lost.publications.map((p) => p.data),
            [1, 2, 3]
          )
          const rewound = yield* history.read(channel, { offset: 40, epoch })
          assert.strictEqual(rewound.gap, "Rewound")
          assert.deepStrictEqual(rewound.publications, [])
        })
      )
    )

    it.live("keeps at most `length` publications and reports what was trimmed", () =>
      run(
        Effect.gen(function* () {
          const broker = yield* Broker
          yield* broker.ready
          const history = historyOf(broker.history)
          const channel = unique("short")
          for (let i = 1; i <= 5; i++) yield* broker.publish(channel, i)
          const epoch = (yield* history.position(channel))?.epoch ?? ""
          const trimmed = yield* history.read(channel, { offset: 1, epoch })
          assert.strictEqual(trimmed.gap, "Trimmed")
          assert.deepStrictEqual(
            trimmed.publications.map((p) => p.offset),
            [3, 4, 5]
          )
          const covered = yield* history.read(channel, { offset: 2, epoch })
          assert.strictEqual(covered.gap, undefined)
          assert.deepStrictEqual(
            covered.publications.map((p) => p.data),
            [3, 4, 5]
          )
        })
      )
    )

    it.live("drops publications older than `age`", () =>
      run(
        Effect.gen(function* () {
          const broker = yield* Broker
          yield* broker.ready
          const history = historyOf(broker.history)
          const channel = unique("brief")
          yield* broker.publish(channel, "old")
          const epoch = (yield* history.position(channel))?.epoch ?? ""
          // The property under test is the passage of time itself (age 150 ms).
          yield* Effect.sleep("300 millis")
          yield* broker.publish(channel, "new")
          const read = yield* history.read(channel, { offset: 0, epoch })
          assert.strictEqual(read.gap, "Trimmed")
          // "new" may itself have aged out on a loaded machine; "old" must be gone either way.
          assert.isTrue(read.publications.every((p) => p.offset === 2 && p.data === "new"))
          assert.deepStrictEqual(read.position, { offset: 2, epoch })
        })
      )
    )

    it.live("keeps no history and no offsets where history is off", () =>
      run(
        Effect.gen(function* () {
          const { broker, inbox } = yield* receivePositions
          yield* broker.ready
          const history = historyOf(broker.history)
          const channel = unique("off")
          yield* broker.subscribe(channel)
          yield* broker.publish(channel, "plain")
          const [got] = yield* takeN(inbox, 1)
          assert.deepStrictEqual(got, { channel, data: "plain", offset: undefined, epoch: undefined })
          assert.isUndefined(yield* history.position(channel))
          assert.deepStrictEqual(yield* history.read(channel, { offset: 0, epoch: "" }), {
            publications: [],
            position: undefined,
            gap: "NoHistory"
          })
        })
      )
    )
  })
}
