import { IncomingMessage } from "node:http"
import { Socket } from "node:net"
import { assert, describe, it } from "@effect/vitest"
import { ApplicationError } from "@effect-socketcluster/protocol"
import { Effect } from "effect"
import { isFinished } from "../src/Finished.js"
import { MiddlewarePipeline } from "../src/MiddlewarePipeline.js"
import { answerTo, handshaken } from "./attack.js"
import { recordServerEvents, startServer } from "./helpers.js"

// Work that answers with a finished result (an Exit: Effect.void, Effect.succeed, Effect.fail)
// is settled on the spot, without a fiber; everything else keeps its old path and order.
describe("finished work is settled at once", () => {
  it("a chain of finished middleware is decided before gate returns, and gate's effect is finished", () => {
    const pipeline = new MiddlewarePipeline(
      () => {},
      () => {}
    )
    const seen: Array<string> = []
    pipeline.add("handshakeWS", () => {
      seen.push("first")
      return Effect.void
    })
    pipeline.add("handshakeWS", () => {
      seen.push("second")
      return Effect.void
    })
    const req = { request: new IncomingMessage(new Socket()) }
    const passed = pipeline.gate(
      "handshakeWS",
      req,
      () => {
        seen.push("passed")
      },
      () => seen.push("blocked")
    )
    assert.deepStrictEqual(seen, ["first", "second", "passed"])
    assert.isTrue(isFinished(passed))
    pipeline.add("handshakeWS", () => Effect.fail(new ApplicationError({ name: "No", message: "no" })))
    const blocked = pipeline.gate(
      "handshakeWS",
      req,
      () => {
        seen.push("passed again")
      },
      (b) => seen.push(`blocked: ${b.error instanceof ApplicationError ? b.error.name : "?"}`)
    )
    assert.deepStrictEqual(seen.slice(3), ["first", "second", "blocked: No"])
    assert.isTrue(isFinished(blocked))
  })

  it.live("mixed chains keep their order, and a middleware or handler that throws is a reported defect", () =>
    Effect.gen(function* () {
      const server = yield* startServer()
      const order: Array<string> = []
      yield* server.addMiddleware("subscribe", (req) => {
        order.push(`now ${req.channel}`)
        return Effect.void
      })
      yield* server.addMiddleware("subscribe", (req) =>
        Effect.sync(() => order.push(`later ${req.channel}`)).pipe(Effect.delay("5 millis"))
      )
      yield* server.addMiddleware("subscribe", (req) => {
        order.push(`last ${req.channel}`)
        return req.channel === "deny"
          ? Effect.fail(new ApplicationError({ name: "Denied", message: "not this one" }))
          : Effect.void
      })
      yield* server.addMiddleware("publishIn", (req) => {
        if (req.channel === "boom") throw new Error("a bug in a middleware")
        return Effect.void
      })
      yield* server.handle("now", (data) => Effect.succeed(data))
      yield* server.handle("refuse", () => Effect.fail(new ApplicationError({ name: "Refused", message: "no" })))
      yield* server.handle("throws", () => {
        throw new TypeError("a bug in a handler")
      })
      yield* server.handle("slow", (data) => Effect.succeed(data).pipe(Effect.delay("50 millis")))
      const events = yield* recordServerEvents(server)
      const c = yield* handshaken(server)

      c.send('{"event":"#subscribe","data":{"channel":"a"},"cid":2}')
      c.send('{"event":"#subscribe","data":{"channel":"deny"},"cid":3}')
      assert.isUndefined((yield* answerTo(c, 2)).error)
      assert.deepStrictEqual((yield* answerTo(c, 3)).error, { name: "Denied", message: "not this one" })
      assert.deepStrictEqual(order, ["now a", "later a", "last a", "now deny", "later deny", "last deny"])

      c.send('{"event":"#publish","data":{"channel":"boom","data":1},"cid":4}')
      assert.deepStrictEqual((yield* answerTo(c, 4)).error, {
        name: "UnknownError",
        message: "The publishIn middleware failed"
      })

      // The slow handler does not hold up the ones that answer at once.
      c.send('{"event":"slow","data":"s","cid":5}')
      c.send('{"event":"now","data":{"n":1},"cid":6}')
      c.send('{"event":"refuse","cid":7}')
      c.send('{"event":"throws","cid":8}')
      assert.deepStrictEqual((yield* answerTo(c, 6)).data, { n: 1 })
      assert.deepStrictEqual((yield* answerTo(c, 7)).error, { name: "Refused", message: "no" })
      assert.deepStrictEqual((yield* answerTo(c, 8)).error, {
        name: "InvalidActionError",
        message: "The throws handler failed"
      })
      assert.strictEqual((yield* answerTo(c, 5)).data, "s")
      const answered = c.frames.map((f) => /^\{"rid":(\d+)/.exec(f)?.[1]).filter((rid) => rid !== undefined)
      assert.isBelow(answered.indexOf("8"), answered.indexOf("5"), "the slow answer comes last")

      const warnings = events.flatMap((e) => (e._tag === "Warning" ? [String(e.error)] : []))
      assert.isTrue(warnings.some((w) => w.includes("a bug in a middleware")))
      assert.isTrue(warnings.some((w) => w.includes("a bug in a handler")))
    })
  )

  it.live("with the memory broker and finished middleware, subscribe, publish and an RPC fork no fiber", () =>
    Effect.gen(function* () {
      const server = yield* startServer()
      // Middleware and a handler written the way the CLI's are: they answer with Exits.
      yield* server.addMiddleware("subscribe", (req) =>
        req.channel.startsWith("private/")
          ? Effect.fail(new ApplicationError({ name: "No", message: "no" }))
          : Effect.void
      )
      yield* server.addMiddleware("publishIn", () => Effect.void)
      yield* server.handle("echo", (data) => Effect.succeed(data))
      const c = yield* handshaken(server)
      // Counts the fibers the server starts from here on, through its own runFork.
      const runFork = server.runFork.bind(server)
      let forks = 0
      server.runFork = (effect) => {
        forks++
        return runFork(effect)
      }
      c.send('{"event":"#subscribe","data":{"channel":"fresh"},"cid":2}')
      assert.isUndefined((yield* answerTo(c, 2)).error)
      c.send('{"event":"#publish","data":{"channel":"fresh","data":{"n":1}},"cid":3}')
      assert.isUndefined((yield* answerTo(c, 3)).error)
      yield* c.waitFor((f) => f.includes('"#publish"') && f.includes('{"n":1}'))
      c.send('{"event":"echo","data":"e","cid":4}')
      assert.strictEqual((yield* answerTo(c, 4)).data, "e")
      c.send('{"event":"#subscribe","data":{"channel":"private/x"},"cid":5}')
      assert.deepStrictEqual((yield* answerTo(c, 5)).error, { name: "No", message: "no" })
      assert.strictEqual(forks, 0)
      // An asynchronous handler still gets its fiber.
      yield* server.handle("later", (data) => Effect.succeed(data).pipe(Effect.delay("1 millis")))
      c.send('{"event":"later","data":"l","cid":6}')
      assert.strictEqual((yield* answerTo(c, 6)).data, "l")
      assert.strictEqual(forks, 1)
    })
  )
})
