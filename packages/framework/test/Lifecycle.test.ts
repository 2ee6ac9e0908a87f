/**
 * The probe app (test/apps/probe: workers 1, brokers 2, `ipcAckTimeout` 1 s,
 * `crashWorkerOnError: false`, `rebootWorkerOnCrash: false`, `forceKillTimeout` 1 s,
 * `environment: 'dev'`, started with `--inspect-brokers`/`--inspect-workers`): IPC and
 * `send` timeouts, `noAck`, the error paths of `exec`, broker middleware, the singletons,
 * the health check failing, the debugger flags; then, in order, `killWorkers()` with a
 * worker that does not exit (force kill, no respawn), `destroy(cb)` and a new master in
 * the same process, and SIGUSR2 in `dev` with `killMasterOnSignal`. One master for the
 * file; the independent checks run concurrently so the 10 s timeouts overlap.
 */
import * as Fs from "node:fs"
import * as Path from "node:path"
import { beforeAll, describe, expect, it } from "vitest"
import { type App, type ClientSocket, connect, freePortPair, invoke, type Line, startApp } from "./apps.js"

const timeout = (message: string) => ({ name: "TimeoutError", message })
const httpGet = async (port: number, path: string) => {
  const response = await fetch(`http://127.0.0.1:${port}${path}`)
  return { status: response.status, body: await response.text() }
}
const reply = (line: Line) => {
  const { event: _e, n: _n, ...rest } = line
  return rest
}

describe("framework: the probe app", () => {
  let app: App
  let client: ClientSocket
  let brokerInspect: number
  let workerInspect: number

  beforeAll(async () => {
    brokerInspect = await freePortPair()
    workerInspect = await freePortPair()
    app = await startApp("probe", {
      modules: ["express", "sc-framework-health-check"],
      args: [`--inspect-brokers=${brokerInspect}`, `--inspect-workers=${workerInspect}`]
    })
    client = await connect(app.port)
  }, 90_000)

  const call = async (...args: Array<unknown>) => (await invoke(client, "call", args))[1]
  const probe = async (event: string, data?: unknown) => (await invoke(client, event, data))[1]

  describe.concurrent("while running", () => {
    it("unanswered sendToWorker, sendToBroker and sendToMaster time out after ipcAckTimeout (FW-16)", async ({
      expect
    }) => {
      const error = timeout("IPC response timed out")
      const [toWorker, toBroker, toMaster] = await Promise.all([
        app.master.command("sendToWorker", 0, "silent"),
        app.master.command("sendToBroker", 1, "silent"),
        probe("askMaster", "silent")
      ])
      expect(reply(toWorker)).toEqual({ error, extra: 0 })
      expect(reply(toBroker)).toEqual({ error, extra: 1 })
      expect(toMaster).toEqual({ error })
      // Answered ones are not affected.
      expect(reply(await app.master.command("sendToWorker", 0, "hi"))).toEqual({
        error: null,
        data: { worker: 0, got: "hi" },
        extra: 0
      })
      expect(await probe("askMaster", "hi")).toEqual({ error: null, answer: { workerId: 0, echo: "hi" } })
    })

    it("send to a broker without a message listener times out after 10 s (FW-36); noAck remove too (FW-51)", async ({
      expect
    }) => {
      expect(await call("set", "foo", "v")).toEqual({ error: null })
      const started = Date.now()
      const [toOne, toZero, removed] = await Promise.all([
        call("send", "hello", 1),
        call("send", "hello", 0),
        call("remove", "foo", { noAck: true })
      ])
      expect(Date.now() - started).toBeGreaterThanOrEqual(9_500)
      expect(toOne).toEqual({ error: timeout("Broker Error - The send action timed out") })
      expect(toZero).toEqual({ error: null, value: [{ broker: 0, got: "hello" }] })
      expect(removed).toEqual({ error: timeout("Broker Error - The remove action timed out") })
      // The broker did remove it; it only sent no answer.
      expect(await call("get", "foo")).toEqual({ error: null })
    }, 20_000)

    it("a broker subscribe middleware's error fails the exchange subscription with its name and properties (FW-40)", async ({
      expect
    }) => {
      const error = { name: "MyBlock", message: "Blocked blockedRoom", extra: 42 }
      expect(await probe("trySubscribe", "blockedRoom")).toEqual({
        state: "pending",
        after: "unsubscribed",
        fromChannel: error,
        fromExchange: error
      })
      expect(await probe("trySubscribe", "openRoom")).toEqual({ state: "pending", after: "subscribed" })
    })

    it("a broker publishIn middleware changes what is delivered and echoed (FW-41)", async ({ expect }) => {
      expect(await probe("publishWatched", "mutateRoom")).toEqual({ watched: "mutated", echoed: "mutated" })
      expect(await probe("publishWatched", "plainRoom")).toEqual({ watched: "original", echoed: "original" })
    })

    it("broker ids, instanceId, unknown middleware types and the broker singleton (FW-33, FW-42)", async ({
      expect
    }) => {
      const infos = await Promise.all([0, 1].map((id) => app.master.command("sendToBroker", id, "info")))
      const instanceIds = new Set<unknown>()
      for (const [id, line] of infos.entries()) {
        const data = Object(reply(line).data)
        instanceIds.add(data.instanceId)
        expect(data).toMatchObject({
          id,
          brokers: 2,
          bogus: { name: "InvalidArgumentsError", message: 'Middleware type "bogus" is not supported' },
          second: {
            name: "BrokerError",
            message: "Attempted to instantiate a broker which has already been instantiated"
          }
        })
      }
      expect(instanceIds.size).toBe(1)
      expect([...instanceIds][0]).toMatch(/^[0-9a-f-]{36}$/)
    })

    it("the master and worker singletons throw InvalidActionError (FW-01, FW-30)", async ({ expect }) => {
      expect(await app.master.waitFor((l) => l.event === "singleton")).toEqual({
        event: "singleton",
        name: "InvalidActionError",
        message: "The SocketCluster master object is a singleton; it can only be instantiated once per process"
      })
      expect(Object(await probe("whoami")).second).toEqual({
        name: "InvalidActionError",
        message: "Attempted to instantiate a worker which has already been instantiated"
      })
    })

    it("exec: variables only in `function (` sources, exceptions prefixed, '*' on every broker (FW-55..FW-58)", async ({
      expect
    }) => {
      const notDefined = { name: "Error", message: "Exception at exec(): greeting is not defined" }
      expect(await probe("exec", "greet")).toEqual({ error: null, value: "hi!" })
      expect(await probe("exec", "namedGreet")).toMatchObject({ error: notDefined })
      expect(await probe("exec", "arrowGreet")).toMatchObject({ error: notDefined })
      expect(await probe("exec", "typeError")).toMatchObject({
        error: { name: "Error", message: "Exception at exec(): bad" }
      })
      expect(await probe("exec", "string")).toEqual({ error: "Exception at exec(): oops" })
      expect(await probe("exec", "everywhere")).toEqual({
        error: null,
        value: ["functionfunctionobject", "functionfunctionobject"]
      })
      expect(await probe("badVariable")).toEqual({
        thrown: { name: "BrokerError", message: "The variable name 'a-b' is invalid" }
      })
    })

    it("with crashWorkerOnError: false a worker error is reported and the worker lives on (FW-25)", async ({
      expect
    }) => {
      const from = app.master.lines.length
      const { pid } = Object(await probe("emitError", "boom"))
      const fail = await app.master.waitFor((l) => l.event === "fail" && l.message === "boom", from)
      expect(fail.origin).toEqual({ type: "Worker", pid })
      expect(Object(await probe("whoami")).pid).toBe(pid)
      expect(app.master.lines.slice(from).filter((l) => l.event === "workerExit")).toEqual([])
    })

    it("--inspect-brokers and --inspect-workers open the children's inspectors (broker i on port + i)", async ({
      expect
    }) => {
      for (const id of [0, 1]) {
        const data = Object(reply(await app.master.command("sendToBroker", id, "info")).data)
        expect(data).toMatchObject({ debugPort: brokerInspect + id, processDebugPort: brokerInspect + id })
        expect((await httpGet(brokerInspect + id, "/json/version")).status).toBe(200)
      }
      // The worker cluster listens on the port; Node's cluster gives its first worker the next one.
      expect(Object(await probe("whoami")).debugPort).toBe(workerInspect + 1)
      expect((await httpGet(workerInspect, "/json/version")).status).toBe(200)
    })
  })

  describe("then, in order", () => {
    it("setMapper routes the data methods only; map() names the brokers (FW-61, FW-62)", async () => {
      expect(await probe("mapper")).toEqual({
        before: { foo: ["0"], bar: ["1"], all: ["0", "1"] },
        after: { foo: ["1"], chanB: ["0"], same: true },
        error: null,
        value: "mapped"
      })
      // "foo" hashes to broker 0, but the mapper put it on broker 1.
      expect(reply(await app.master.command("sendToBroker", 1, { get: "foo" })).data).toEqual({ value: "mapped" })
      expect(reply(await app.master.command("sendToBroker", 0, { get: "foo" })).data).toEqual({})
      expect(await call("get", "foo")).toEqual({ error: null })
    })

    it("the health check answers 500 Failed while one broker's exec fails (FW-65)", async () => {
      expect(await httpGet(app.port, "/health-check")).toEqual({ status: 200, body: "OK" })
      await app.master.command("sendToBroker", 1, "failExec")
      expect(await httpGet(app.port, "/health-check")).toEqual({ status: 500, body: "Failed" })
      await app.master.command("sendToBroker", 1, "fixExec")
      expect(await httpGet(app.port, "/health-check")).toEqual({ status: 200, body: "OK" })
    })

    it("failed connections to a broker are warnings up to brokerConnectRetryErrorThreshold (2), then errors", async () => {
      Fs.writeFileSync(Path.join(app.dir, "hold-b1"), "")
      const started = app.master.lines.filter((l) => l.event === "brokerStart" && l.id === 1)
      const from = app.master.lines.length
      process.kill(Number(started[started.length - 1]?.pid), "SIGKILL")
      const refused = (l: Line) => l.code === "ECONNREFUSED" && Object(l.origin).type === "Worker"
      await app.master.waitFor((l) => l.event === "fail" && refused(l), from)
      const seen = app.master.lines.slice(from).filter(refused)
      expect(seen.map((l) => l.event).slice(0, 3)).toEqual(["warning", "warning", "fail"])
      expect(seen[0]?.message).toMatch(/ECONNREFUSED .*b1$/)
      // Released, the broker listens; the worker reconnects and its counter starts again.
      await app.master.command("sendToBroker", 1, "release")
      await app.master.waitFor((l) => l.event === "brokerStart" && l.id === 1 && l.respawn === true, from)
      expect(await call("set", "bar", "back")).toEqual({ error: null })
      expect(await call("get", "bar")).toEqual({ error: null, value: "back" })
    }, 30_000)

    it("killWorkers(): a worker that does not exit gets forceKillSignal after forceKillTimeout; with rebootWorkerOnCrash: false it stays down (FW-23)", async () => {
      await app.master.command("sendToWorker", 0, "hang")
      const from = app.master.lines.length
      await app.master.command("killWorkers", {})
      const fail = await app.master.waitFor((l) => l.event === "fail" && l.name === "ProcessExitError", from)
      expect(fail.message).toMatch(
        /^No exit signal was received by worker with id 0 \(PID: \d+\) before forceKillTimeout of 1000 ms was reached - As a result, kill signal SIGHUP was sent to worker$/
      )
      expect(Object(fail.origin).type).toBe("WorkerCluster")
      await app.master.waitFor((l) => l.event === "workerExit" && l.id === 0 && l.signal === "SIGHUP", from)
      expect(reply(await app.master.command("sendToWorker", 0, "anyone?"))).toMatchObject({
        error: { message: "Cannot send message to worker with id 0 because the worker does not exist" },
        extra: 0
      })
      expect(app.master.lines.slice(from).filter((l) => l.event === "workerStart")).toEqual([])
    })

    it("destroy(cb) stops everything without relaunching, removes the listeners, and frees the singleton (FW-28, FW-01)", async () => {
      const from = app.master.lines.length
      const answer = await app.master.command("destroyAndRestart", { killMasterOnSignal: true, brokers: 1 })
      expect(reply(answer)).toEqual({ listeners: 0, restarted: true })
      const during = app.master.lines.slice(from, app.master.lines.indexOf(answer))
      expect(during.filter((l) => l.event === "workerClusterExit")).toHaveLength(1)
      expect(
        during
          .filter((l) => l.event === "brokerExit")
          .map((l) => l.id)
          .sort()
      ).toEqual([0, 1])
      expect(during.filter((l) => l.event === "brokerStart" || l.event === "workerStart")).toEqual([])
      // The new master boots a whole cluster again.
      const ready = await app.master.waitFor((l) => l.event === "ready", app.master.lines.indexOf(answer), 60_000)
      expect(ready.killMasterOnSignal).toBe(true)
    }, 90_000)

    it("SIGUSR2 in dev kills the workers immediately; killMasterOnSignal makes the master exit (FW-20, FW-22)", async () => {
      const from = app.master.lines.length
      const exited = new Promise<number | null>((resolve) => app.master.child.once("exit", (code) => resolve(code)))
      app.master.child.kill("SIGUSR2")
      const warning = await app.master.waitFor((l) => l.event === "warning", from)
      expect(warning).toMatchObject({
        name: "ProcessExitError",
        message: "Master received SIGUSR2 signal - Shutting down all workers immediately",
        signal: "SIGUSR2",
        origin: { type: "Master" }
      })
      expect(await exited).toBe(0)
    }, 30_000)
  })
})
