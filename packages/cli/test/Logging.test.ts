import { Effect } from "effect"
import { afterEach, beforeEach, describe, expect, it } from "vitest"
import * as Logging from "../src/Logging.js"
import { captureLogs, connectClient, invoke, startApp, subscribe, type TestApp, logText as text } from "./harness.js"

describe("logging", () => {
  let logs: ReturnType<typeof captureLogs>
  beforeEach(() => {
    logs = captureLogs()
  })
  afterEach(() => logs.restore())

  it("honours the minimum level", async () => {
    await Effect.runPromise(
      Effect.all([Effect.logDebug("d"), Effect.logInfo("i"), Effect.logWarning("w"), Effect.logError("e")]).pipe(
        Effect.provide(Logging.layer("json", "Warn"))
      )
    )
    expect(logs.lines.map((l) => [l.level, text(l)])).toEqual([
      ["WARN", "w"],
      ["ERROR", "e"]
    ])
  })

  describe("server events", () => {
    let app: TestApp
    beforeEach(async () => {
      app = await startApp(["--log-level", "debug"])
    })
    afterEach(() => app.stop())

    it("carry socketId and channel annotations, and never an auth token", async () => {
      expect(app.server.hub.listens("Subscription")).toBe(true)
      const client = await connectClient(app.port)
      await subscribe(client, "room/logs")
      const line = await logs.waitFor((l) => text(l) === "subscribe" && l.annotations.channel === "room/logs")
      expect(line.annotations.socketId).toBe(client.id)

      await invoke(client, "login", { username: "carol" })
      await logs.waitFor((l) => text(l) === "auth state" && l.annotations.socketId === client.id)
      const token = client.getSignedAuthToken() ?? ""
      expect(token.length).toBeGreaterThan(20)
      for (const raw of logs.raw) expect(raw).not.toContain(token)
      for (const raw of logs.raw) expect(raw).not.toContain("carol")
      client.destroy()
    })
  })

  describe("at the default info level", () => {
    let app: TestApp
    beforeEach(async () => {
      app = await startApp(["--log-level", "info"])
    })
    afterEach(() => app.stop())

    it("logs warnings but no per-socket debug events", async () => {
      // Nobody in the CLI listens to subscribes then, so the server builds no event for them;
      // the metrics still hear connections and closures.
      expect(app.server.hub.listens("Subscription")).toBe(false)
      expect(app.server.hub.listens("Unsubscription")).toBe(false)
      expect(app.server.hub.listens("Connection")).toBe(true)
      expect(app.server.hub.listens("Closure")).toBe(true)
      const client = await connectClient(app.port)
      await subscribe(client, "room/quiet")
      // Lines keep their order, so once the later warning is out, no earlier debug line can follow.
      app.server.hub.emit({ _tag: "Warning", error: new Error("marker warning") })
      const warning = await logs.waitFor((l) => text(l).includes("marker warning"))
      expect(warning.level).toBe("WARN")
      expect(logs.lines.filter((l) => ["connection", "subscribe"].includes(text(l)))).toEqual([])
      client.destroy()
    })
  })
})
