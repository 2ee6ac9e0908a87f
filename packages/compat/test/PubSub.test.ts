/**
 * behaviours.md — "Pub/sub", through the compat API (socket subscriptions, middleware,
 * the exchange with its callback API, kickOut).
 */
import { assert, describe, it } from "vitest"
import type { SCServerSocket } from "../src/index.js"
import {
  collector,
  connectClient,
  invoke,
  once,
  publish,
  type RawClient,
  rawConnected,
  record,
  startServer,
  subscribe
} from "./helpers.js"

const ask = async (raw: RawClient, packet: Record<string, unknown>, cid: number): Promise<unknown> => {
  raw.send(JSON.stringify({ ...packet, cid }))
  return JSON.parse(await raw.waitFor((f) => f.startsWith(`{"rid":${cid}`)))
}

const firstSocket = (server: Awaited<ReturnType<typeof startServer>>) =>
  new Promise<SCServerSocket>((resolve) => server.once("connection", resolve))

describe("Pub/sub", () => {
  it("B121/B122/B123/B124: #subscribe, its events and the socket's subscription state", async () => {
    const server = await startServer()
    const socketPromise = firstSocket(server)
    const raw = await rawConnected(server)
    const socket = await socketPromise
    const socketEvents = record(socket as never, ["subscribe"])
    const serverEvents = record(server, ["subscription"])
    assert.deepStrictEqual(await ask(raw, { event: "#subscribe", data: { channel: "a" } }, 2), { rid: 2 })
    assert.deepStrictEqual(await ask(raw, { event: "#subscribe", data: "b" }, 3), { rid: 3 })
    assert.deepStrictEqual(
      await ask(raw, { event: "#subscribe", data: { channel: "c", data: { x: 1 }, extra: 2 } }, 4),
      {
        rid: 4
      }
    )
    assert.deepStrictEqual(socketEvents[0], ["subscribe", "a", { channel: "a" }])
    assert.strictEqual(serverEvents[0]?.[1], socket)
    assert.deepStrictEqual(serverEvents[0]?.slice(2), ["a", { channel: "a" }])
    assert.deepStrictEqual(serverEvents[2]?.[3], { channel: "c", data: { x: 1 }, extra: 2 })
    assert.deepStrictEqual(socket.channelSubscriptions, { a: true, b: true, c: true })
    assert.isTrue(socket.isSubscribed("a"))
    assert.deepStrictEqual(socket.subscriptions(), ["a", "b", "c"])
  })

  it("B125/B127: subscribe middleware gets channel, data and waitForAuth; a block fails that channel only", async () => {
    const server = await startServer()
    const seen: Array<unknown> = []
    server.addMiddleware("subscribe", (req, next) => {
      seen.push([req.channel, req.data, req.waitForAuth])
      if (req.channel === "secret") return next(Object.assign(new Error("no"), { name: "UnauthorizedSubscribeError" }))
      next()
    })
    const client = await connectClient(server)
    await subscribe(client, "open", { data: { foo: 123 } })
    const error = await subscribe(client, "secret").then(
      () => undefined,
      (e: Error) => e
    )
    assert.strictEqual(error?.name, "UnauthorizedSubscribeError")
    assert.deepStrictEqual(seen[0], ["open", { foo: 123 }, false])
    assert.deepStrictEqual(client.subscriptions(), ["open"])
  })

  it("B126/B128: 20 batched subscriptions arrive in one frame and are answered in an array frame", async () => {
    const server = await startServer({ protocolVersion: 1 })
    let runs = 0
    server.addMiddleware("subscribe", (_req, next) => {
      runs++
      next()
    })
    const socketPromise = firstSocket(server)
    const client = await connectClient(server)
    const socket = await socketPromise
    const frames = collector<unknown>()
    socket.on("message", frames.push)
    const channels = Array.from({ length: 20 }, (_, i) => `batch-${i}`)
    await Promise.all(channels.map((ch) => subscribe(client, ch, { batch: true })))
    assert.strictEqual(runs, 20)
    const batch = frames.items.map((f) => JSON.parse(String(f))).find((f) => Array.isArray(f))
    assert.strictEqual(batch?.length, 20)
  })

  it("B129/B135/B211: bad #subscribe/#unsubscribe payloads get BrokerError and the server keeps serving", async () => {
    const server = await startServer()
    server.on("connection", (s: SCServerSocket) => s.on("echo", (d, respond) => respond(null, d)))
    const raw = await rawConnected(server)
    const other = await connectClient(server)
    for (const [i, data] of [[null], { channel: { hello: 123 } }, null, 123].entries()) {
      const answer = (await ask(raw, { event: "#subscribe", data }, 10 + i)) as { error: { name: string } }
      assert.strictEqual(answer.error.name, "BrokerError")
    }
    const unsub = (await ask(raw, { event: "#unsubscribe", data: [null] }, 20)) as { error: { name: string } }
    assert.strictEqual(unsub.error.name, "BrokerError")
    assert.deepStrictEqual(await ask(raw, { event: "echo", data: 1 }, 21), { rid: 21, data: 1 })
    assert.deepStrictEqual(await invoke(other, "echo", 2), [null, 2])
  })

  it("B131: socketChannelLimit refuses the 4th channel with BrokerError", async () => {
    const server = await startServer({ socketChannelLimit: 3 })
    const raw = await rawConnected(server)
    for (const [i, ch] of ["a", "b", "c"].entries()) await ask(raw, { event: "#subscribe", data: ch }, 2 + i)
    const answer = (await ask(raw, { event: "#subscribe", data: "d" }, 9)) as {
      error: { name: string; message: string }
    }
    assert.strictEqual(answer.error.name, "BrokerError")
    assert.include(answer.error.message, "tried to exceed the channel subscription limit of 3")
  })

  it("B132/B133/B134: resubscribe keeps the count; #unsubscribe events; unknown channel errors once", async () => {
    const server = await startServer()
    const socketPromise = firstSocket(server)
    const raw = await rawConnected(server)
    const socket = await socketPromise
    const subs = record(server, ["subscription", "unsubscription"])
    const errors = collector<Error>()
    socket.on("error", (e: Error) => errors.push(e))
    await ask(raw, { event: "#subscribe", data: "a" }, 2)
    await ask(raw, { event: "#subscribe", data: "a" }, 3)
    assert.strictEqual(socket.channelSubscriptionsCount, 1)
    assert.deepStrictEqual(await ask(raw, { event: "#unsubscribe", data: "a" }, 4), { rid: 4 })
    assert.deepStrictEqual(socket.channelSubscriptions, {})
    assert.deepStrictEqual(
      subs.map(([e]) => e),
      ["subscription", "subscription", "unsubscription"]
    )
    await ask(raw, { event: "#unsubscribe", data: "zzz" }, 5)
    assert.strictEqual(errors.items.length, 1)
    assert.strictEqual(errors.items[0]?.name, "BrokerError")
  })

  it("B137/B138/B139: client publications reach every subscriber, the publisher included, then the ack", async () => {
    const server = await startServer()
    const a = await connectClient(server)
    const b = await connectClient(server)
    const got = collector<unknown>()
    ;(await subscribe(a, "ch1")).watch((d) => got.push(["a", d]))
    ;(await subscribe(b, "ch1")).watch((d) => got.push(["b", d]))
    assert.deepStrictEqual(await publish(a, "ch1", "Hello!"), [null, undefined])
    a.publish("ch1", "no ack")
    await got.waitFor(4)
    assert.sameDeepMembers(got.items, [
      ["a", "Hello!"],
      ["b", "Hello!"],
      ["a", "no ack"],
      ["b", "no ack"]
    ])
  })

  it("B140/B141/B142/B143: publishIn ackData, failure with ackData, next(true), data rewrite", async () => {
    const server = await startServer()
    server.addMiddleware("publishIn", (req, next) => {
      req.ackData = { acked: true }
      if (req.data === "fail") return next(new Error("refused"))
      if (req.data === "silent") return next(true)
      req.data = `${String(req.data)}!`
      next()
    })
    const raw = await rawConnected(server)
    await ask(raw, { event: "#subscribe", data: "p" }, 2)
    assert.deepStrictEqual(await ask(raw, { event: "#publish", data: { channel: "p", data: "hi" } }, 3), {
      rid: 3,
      data: { acked: true }
    })
    assert.isTrue(raw.frames.some((f) => f.includes('"data":"hi!"')))
    assert.deepStrictEqual(await ask(raw, { event: "#publish", data: { channel: "p", data: "fail" } }, 4), {
      rid: 4,
      error: { message: "refused" },
      data: { acked: true }
    })
    const silent = (await ask(raw, { event: "#publish", data: { channel: "p", data: "silent" } }, 5)) as {
      error: { name: string; type: string }
    }
    assert.deepStrictEqual([silent.error.name, silent.error.type], ["SilentMiddlewareBlockedError", "publishIn"])
    assert.isFalse(raw.frames.some((f) => f.includes("fail!") || f.includes("silent!")))
  })

  it("B144/B145: invalid publish channels and allowClientPublish false", async () => {
    const server = await startServer({ allowClientPublish: false })
    const warnings = collector<Error>()
    server.on("warning", (w: Error) => warnings.push(w))
    const raw = await rawConnected(server)
    const answer = (await ask(raw, { event: "#publish", data: { channel: "x", data: 1 } }, 2)) as {
      error: { name: string; message: string }
    }
    assert.deepStrictEqual(answer.error, { name: "InvalidActionError", message: "Client publish feature is disabled" })
    assert.isTrue(warnings.items.some((w) => w.name === "InvalidActionError"))
    const open = await startServer()
    const raw2 = await rawConnected(open)
    const bad = (await ask(raw2, { event: "#publish", data: { channel: null } }, 2)) as { error: { name: string } }
    assert.strictEqual(bad.error.name, "BrokerError")
  })

  it("B146/B147/B148: publishOut runs per receiving socket, can block one, and runs for exchange publishes", async () => {
    const server = await startServer()
    const receivers: Array<string> = []
    server.addMiddleware("publishOut", (req, next) => {
      receivers.push(req.socket.id)
      if (req.socket.id === blockedId) return next(new Error("not for you"))
      req.data = { wrapped: req.data }
      next()
    })
    let blockedId = ""
    const a = await connectClient(server)
    const b = await connectClient(server)
    blockedId = b.id ?? ""
    const got = collector<unknown>()
    ;(await subscribe(a, "o")).watch(got.push)
    const bGot = collector<unknown>()
    ;(await subscribe(b, "o")).watch(bGot.push)
    assert.deepStrictEqual(await publish(b, "o", 1), [null, undefined])
    await new Promise<void>((resolve) => server.exchange.publish("o", 2, () => resolve()))
    assert.deepStrictEqual(await got.waitFor(2), [{ wrapped: 1 }, { wrapped: 2 }])
    assert.sameMembers(receivers, [a.id, b.id, a.id, b.id])
    assert.strictEqual(bGot.items.length, 0)
  })

  it("B149/B150/B151: exchange publish with callback, subscribe().watch, publishing to nobody", async () => {
    const server = await startServer()
    const channel = server.exchange.subscribe("x")
    assert.strictEqual(channel.state, "subscribed")
    assert.isTrue(server.exchange.isSubscribed("x"))
    assert.deepStrictEqual(server.exchange.subscriptions(), ["x"])
    const watched = collector<unknown>()
    channel.watch(watched.push)
    assert.strictEqual(channel.watchers().length, 1)
    const client = await connectClient(server)
    await publish(client, "x", "from client")
    assert.deepStrictEqual(await watched.waitFor(1), ["from client"])
    const error = await new Promise((resolve) => server.exchange.publish("nobody-listens", 1, resolve))
    assert.isUndefined(error)
    const unsubscribed = once(channel, "unsubscribe")
    channel.unsubscribe()
    await unsubscribed
    assert.strictEqual(channel.getState(), "unsubscribed")
    await publish(client, "x", "after unsubscribe")
    await new Promise<void>((resolve) => server.exchange.publish("x", "server", () => resolve()))
    assert.deepStrictEqual(watched.items, ["from client"])
    server.exchange.destroyChannel("x")
    server.exchange.destroyChannel("never-existed")
    assert.deepStrictEqual(server.exchange.watchers("x"), [])
  })

  it("B152/B153/B154/B155: kickOut packets, counts, no socket error; the client does not #unsubscribe", async () => {
    const server = await startServer()
    const socketPromise = firstSocket(server)
    const raw = await rawConnected(server)
    const socket = await socketPromise
    const errors = collector()
    socket.on("error", errors.push)
    const unsubscribes = record(server, ["unsubscription"])
    await ask(raw, { event: "#subscribe", data: "foo" }, 2)
    await ask(raw, { event: "#subscribe", data: "bar" }, 3)
    socket.kickOut("foo", "msg")
    assert.deepStrictEqual(JSON.parse(await raw.waitFor((f) => f.includes("#kickOut"))), {
      event: "#kickOut",
      data: { message: "msg", channel: "foo" }
    })
    assert.deepStrictEqual(socket.channelSubscriptions, { bar: true })
    await ask(raw, { event: "#subscribe", data: "foo" }, 4)
    await new Promise<void>((resolve) => socket.kickOut(undefined, undefined, () => resolve()))
    assert.strictEqual(socket.channelSubscriptionsCount, 0)
    // A round trip: its answer is written after the #kickOut packets.
    await ask(raw, { event: "#subscribe", data: "later" }, 5)
    assert.strictEqual(raw.frames.filter((f) => f.includes("#kickOut")).length, 3)
    assert.strictEqual(errors.items.length, 0)
    assert.strictEqual(unsubscribes.length, 0)
  })

  it("B156/B188: on close, socket unsubscribe events come first, then server and socket close events", async () => {
    const server = await startServer()
    const order: Array<string> = []
    server.on("connection", (socket: SCServerSocket) => {
      socket.on("unsubscribe", (ch) => order.push(`socket unsubscribe ${String(ch)}`))
      socket.on("disconnect", () => order.push("socket disconnect"))
      socket.on("close", () => order.push("socket close"))
    })
    server.on("disconnection", () => order.push("server disconnection"))
    server.on("closure", (socket: SCServerSocket) => order.push(`server closure ${socket.state}`))
    const client = await connectClient(server)
    await subscribe(client, "foo")
    const closed = once(server, "closure")
    client.disconnect()
    await closed
    assert.deepStrictEqual(order, [
      "socket unsubscribe foo",
      "server disconnection",
      "server closure closed",
      "socket disconnect",
      "socket close"
    ])
  })
})
