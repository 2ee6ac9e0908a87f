/**
 * An app with workers: 2, brokers: 2 (test/apps/chat): v14 clients on different workers
 * chat through the exchange and share state with the data API; `exchange.send` reaches
 * every broker; a worker killed with SIGKILL is restarted and its clients reconnect;
 * SIGUSR2 restarts the workers one at a time while a client keeps being served.
 */
import { beforeAll, describe, expect, it } from "vitest"
import { type ClientSocket, clientPerWorker, invoke, type Master, startApp, subscribed } from "./apps.js"

interface Who {
  readonly id: number
  readonly pid: number
  readonly isLeader: boolean
  readonly customThing: string
}

const whoami = async (socket: ClientSocket): Promise<Who> => {
  const [error, who] = await invoke(socket, "whoami")
  expect(error).toBeNull()
  return who as Who
}

/** Calls a data method on the worker's exchange: `[error, value]` as its callback got them. */
const data = (socket: ClientSocket, ...call: Array<unknown>) => invoke(socket, "data", call)

describe("framework: workers 2, brokers 2", () => {
  let master: Master
  let port: number
  let byWorker = new Map<number, ClientSocket>()

  beforeAll(async () => {
    ;({ master, port } = await startApp("chat", { env: { WORKERS: "2", BROKERS: "2" } }))
    byWorker = await clientPerWorker(port, 2)
    expect([...byWorker.keys()].sort()).toEqual([0, 1])
  }, 90_000)

  it("boots brokers, then the worker cluster and the workers; options reach workers", async () => {
    const events = master.lines.map((l) => l.event).filter((e) => e !== undefined)
    expect(events.filter((e) => e === "brokerStart")).toHaveLength(2)
    expect(events.indexOf("workerClusterStart")).toBeGreaterThan(events.indexOf("brokerStart"))
    expect(events.indexOf("ready")).toBeGreaterThan(events.lastIndexOf("workerStart"))
    const zero = await whoami(byWorker.get(0) as ClientSocket)
    const one = await whoami(byWorker.get(1) as ClientSocket)
    expect(zero).toMatchObject({ id: 0, isLeader: true, customThing: "hello" })
    expect(one).toMatchObject({ id: 1, isLeader: false })
    expect(zero.pid).not.toBe(one.pid)
  })

  it("clients on different workers chat through the brokers", async () => {
    const a = byWorker.get(0) as ClientSocket
    const b = byWorker.get(1) as ClientSocket
    const gotA: Array<unknown> = []
    const gotB: Array<unknown> = []
    // Two rooms: their names hash to different brokers.
    for (const room of ["sample", "bar"]) {
      await subscribed(a, room, (m) => gotA.push(m))
      await subscribed(b, room, (m) => gotB.push(m))
    }
    await new Promise<void>((resolve, reject) =>
      a.publish("sample", { from: "a", text: "hi" }, (error) => (error ? reject(error) : resolve()))
    )
    await new Promise<void>((resolve, reject) =>
      b.publish("bar", { from: "b", text: "yo" }, (error) => (error ? reject(error) : resolve()))
    )
    await expect.poll(() => gotB.length).toBe(2)
    await expect.poll(() => gotA.length).toBe(2)
    expect(gotA).toEqual([
      { from: "a", text: "hi" },
      { from: "b", text: "yo" }
    ])
    expect(gotB).toEqual(gotA)
  })

  it("workers share state through exchange.set/get/add/remove/expire", async () => {
    const a = byWorker.get(0) as ClientSocket
    const b = byWorker.get(1) as ClientSocket
    expect(await data(a, "set", ["room", "topic"], "cats")).toEqual([null, undefined])
    expect(await data(b, "get", ["room"])).toEqual([null, { topic: "cats" }])
    expect(await data(b, "add", ["room", "members"], "ada")).toEqual([null, 0])
    expect(await data(a, "add", ["room", "members"], "bob")).toEqual([null, 1])
    expect(await data(b, "get", ["room", "members"])).toEqual([null, ["ada", "bob"]])
    expect(await data(a, "remove", ["room", "members", 0], true)).toEqual([null, "ada"])
    expect(await data(b, "count", ["room", "members"])).toEqual([null, 1])
    // "foo" and "bar" live on different brokers: removeAll answers one entry per broker.
    await data(a, "set", "foo", 1)
    await data(a, "set", "bar", 2)
    expect(await data(b, "getAll")).toEqual([null, expect.objectContaining({ foo: 1, bar: 2 })])
    expect(await data(a, "expire", [["foo"], ["bar"]], 1)).toEqual([null, [null, null]])
    expect(await data(b, "get", "foo")).toEqual([null, 1])
    // Each broker sweeps its own expiries.
    for (const key of ["foo", "bar"]) {
      await expect.poll(async () => (await data(b, "hasKey", key))[1], { timeout: 6000, interval: 100 }).toBe(false)
    }
    expect(await data(a, "get", ["room", "topic"])).toEqual([null, "cats"])
  })

  it("exchange.send reaches every broker's message listener; sendToMaster is answered", async () => {
    const a = byWorker.get(0) as ClientSocket
    const [error, results] = await invoke(a, "askBrokers", { q: 1 })
    expect(error).toBeNull()
    expect(results).toEqual([
      { broker: 0, got: { q: 1 }, custom: "hello" },
      { broker: 1, got: { q: 1 }, custom: "hello" }
    ])
    expect(await invoke(a, "askMaster", "ping")).toEqual([null, { workerId: 0, echo: "ping" }])
  })

  it("the master's sendToWorker and sendToBroker are answered; unknown ids fail (FW-13, FW-14, FW-17, FW-18)", async () => {
    const a = byWorker.get(0) as ClientSocket
    const relay = (to: "worker" | "broker", id: number) => invoke(a, "askMaster", { relay: to, to: id, payload: "hi" })
    expect(await relay("worker", 1)).toEqual([null, { error: null, answer: { worker: 1, got: "hi" }, id: 1 }])
    expect(await relay("broker", 1)).toEqual([null, { error: null, answer: { broker: 1, got: "hi" }, id: 1 }])
    expect(await relay("worker", 7)).toEqual([
      null,
      { error: "Cannot send message to worker with id 7 because the worker does not exist", answer: null, id: 7 }
    ])
    expect(await relay("broker", 5)).toEqual([null, { error: "Broker with id 5 does not exist", id: 5 }])
    await master.waitFor((l) => l.event === "fail" && l.message === "Broker with id 5 does not exist")
  })

  it("a worker killed with SIGKILL is restarted and its clients reconnect", async () => {
    const b = byWorker.get(1) as ClientSocket
    const before = await whoami(b)
    const from = master.lines.length
    const reconnected = new Promise<void>((resolve) => b.once("connect", () => resolve()))
    process.kill(before.pid, "SIGKILL")
    await master.waitFor((l) => l.event === "workerExit" && l.id === 1 && l.signal === "SIGKILL", from)
    await master.waitFor((l) => l.event === "workerStart" && l.id === 1 && l.respawn === true, from, 40_000)
    await reconnected
    const after = await whoami(b)
    expect(after.pid).not.toBe(before.pid)
  }, 60_000)

  it("a broker killed with SIGKILL is relaunched; workers reconnect and resubscribe; its data is gone (FW-26, FW-27)", async () => {
    const a = byWorker.get(0) as ClientSocket
    const b = byWorker.get(1) as ClientSocket
    // "bar" lives on broker 1.
    const got: Array<unknown> = []
    await subscribed(b, "bar-room", (m) => got.push(m))
    await data(a, "set", "bar", "before")
    const started = master.lines.filter((l) => l.event === "brokerStart" && l.id === 1)
    const pid = Number(started[started.length - 1]?.pid)
    const from = master.lines.length
    process.kill(pid, "SIGKILL")
    await master.waitFor((l) => l.event === "brokerExit" && l.id === 1 && l.signal === "SIGKILL", from)
    await master.waitFor((l) => l.event === "brokerStart" && l.id === 1 && l.respawn === true, from, 40_000)
    expect(
      master.lines
        .slice(from)
        .some((l) => l.event === "fail" && Reflect.get(Object(l.origin), "type") === "BrokerEngine")
    ).toBe(true)
    // Publish until the resubscription is in place (the worker reconnects on its own schedule).
    await expect
      .poll(
        async () => {
          await new Promise<void>((resolve) => a.publish("bar-room", "after", () => resolve()))
          return got.includes("after")
        },
        { timeout: 15_000, interval: 200 }
      )
      .toBe(true)
    expect(await data(a, "get", "bar")).toEqual([null, undefined])
  }, 60_000)

  it("SIGUSR2 restarts the workers one at a time while clients keep being served", async () => {
    const clients = [byWorker.get(0), byWorker.get(1)] as Array<ClientSocket>
    const from = master.lines.length
    let served = 0
    const lost: Array<unknown> = []
    let running = true
    // Each client keeps asking; a request lost with its worker's connection is asked again
    // (the client reconnects to a live worker), so every request must end up answered.
    const load = clients.map(async (client) => {
      while (running) {
        const [error] = await invoke(client, "whoami")
        if (error === null) served++
        else lost.push(error)
      }
    })
    master.child.kill("SIGUSR2")
    await master.waitFor((l) => l.event === "workerStart" && l.id === 1 && l.respawn === true, from, 60_000)
    const servedDuringRestart = served
    running = false
    await Promise.all(load)
    const order = master.lines
      .slice(from)
      .filter((l) => l.event === "workerExit" || l.event === "workerStart")
      .map((l) => `${String(l.event)}:${String(l.id)}`)
    expect(order).toEqual(["workerExit:0", "workerStart:0", "workerExit:1", "workerStart:1"])
    expect(master.lines.slice(from).find((l) => l.event === "warning")?.message).toBe(
      "Master received SIGUSR2 signal - Shutting down all workers gracefully within processTermTimeout limit"
    )
    expect(servedDuringRestart).toBeGreaterThan(10)
    // At most the request in flight on each client when its worker closed.
    expect(lost.length).toBeLessThanOrEqual(clients.length * 2)
    for (const error of lost) expect(error).toMatchObject({ name: "BadConnectionError" })
    for (const client of clients) expect((await invoke(client, "whoami"))[0]).toBeNull()
  }, 90_000)
})
