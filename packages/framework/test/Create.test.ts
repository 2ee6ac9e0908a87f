/**
 * `socketcluster create <appname>` (the alias package's bin): it writes an app of the
 * socketcluster@14 shape from the package's own sample, refuses an existing directory
 * without `--force`, copies the client bundle to public/socketcluster.js, and the app it
 * makes runs: its page is served and v14 clients on two workers share the brokers' data.
 */
import { spawnSync } from "node:child_process"
import * as Fs from "node:fs"
import { createRequire } from "node:module"
import * as Path from "node:path"
import { describe, expect, it } from "vitest"
import { aliasPackage, connect, freePort, invoke, makeAppDir, startMaster, waitForHttp } from "./apps.js"

const require = createRequire(import.meta.url)
const bin = Path.join(aliasPackage, "bin", "socketcluster.js")
const run = (cwd: string, ...args: Array<string>) =>
  spawnSync(process.execPath, [bin, ...args], { cwd, encoding: "utf8" })

describe("socketcluster create", () => {
  it("prints its version and help", () => {
    const dir = makeAppDir({}, [])
    expect(run(dir, "-v").stdout.trim()).toBe(require(Path.join(aliasPackage, "package.json")).version)
    expect(run(dir, "--help").stdout).toContain("create <appname>")
    const unknown = run(dir, "frobnicate")
    expect(unknown.status).toBe(1)
    expect(unknown.stderr).toContain("Unknown command frobnicate")
  })

  it("creates an app that serves its page and shares data across workers", async () => {
    const parent = makeAppDir({}, [])
    const made = run(parent, "create", "myapp", "--no-install")
    expect(made.status).toBe(0)
    const app = Path.join(parent, "myapp")
    for (const file of ["server.js", "worker.js", "broker.js", "public/index.html"]) {
      expect(Fs.existsSync(Path.join(app, file))).toBe(true)
    }
    expect(JSON.parse(Fs.readFileSync(Path.join(app, "package.json"), "utf8"))).toMatchObject({
      name: "myapp",
      dependencies: { socketcluster: expect.stringMatching(/^\^\d/) }
    })
    const again = run(parent, "create", "myapp", "--no-install")
    expect(again.status).toBe(1)
    expect(again.stderr).toContain("There is already a directory at")

    // As after `npm install`: the dependencies in node_modules; --force writes into the dir
    // and copies the client bundle.
    const dir = makeAppDir({}, ["socketcluster", "socketcluster-client"])
    expect(run(dir, "create", dir, "--force", "--no-install").status).toBe(0)
    const bundle = Fs.readFileSync(Path.join(dir, "node_modules/socketcluster-client/socketcluster.js"), "utf8")
    expect(Fs.readFileSync(Path.join(dir, "public/socketcluster.js"), "utf8")).toBe(bundle)

    const port = await freePort()
    const master = startMaster(dir, "server.js", {
      SOCKETCLUSTER_PORT: String(port),
      SOCKETCLUSTER_WORKERS: "2",
      ENV: "prod"
    })
    await master.waitFor((l) => String(l.text).includes(">> Serving"), 0, 60_000)
    await waitForHttp(port, "/", 200)
    const page = await fetch(`http://127.0.0.1:${port}/`).then((r) => r.text())
    expect(page).toBe(Fs.readFileSync(Path.join(dir, "public/index.html"), "utf8"))
    expect(await fetch(`http://127.0.0.1:${port}/socketcluster.js`).then((r) => r.text())).toBe(bundle)
    expect((await fetch(`http://127.0.0.1:${port}/../package.json`)).status).toBe(404)
    const visits: Array<unknown> = []
    for (let i = 0; i < 4; i++) visits.push((await invoke(await connect(port), "visit"))[1])
    expect(visits).toEqual([0, 1, 2, 3])
    expect(master.output().match(/>> Worker PID: \d+/g)).toHaveLength(2)
  }, 90_000)
})
