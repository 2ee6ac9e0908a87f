/**
 * What a user gets from npm: every package packed (`scripts/pack.sh`, as `./dev pack`
 * does), installed with plain npm into a new project outside the workspace (no pnpm, no
 * workspace links), then used with plain `node` from there: a CommonJS v14 app, a
 * TypeScript Effect app type-checked against the installed .d.ts only, and the CLI bin.
 * One install is shared by every test.
 */
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { createRequire } from "node:module"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest"
import { appPort, type Child, cliPort, portIsFree, processTree, repoRoot, run, start, stop, userEnv } from "./child.js"

const fixtures = new URL("../fixtures/", import.meta.url)
// The client the CommonJS app and the Effect app answer (installed in the project too).
const client = "socketcluster-client@14.3.2"
// Every package `./dev pack` packs: the workspace's packages that are not private.
const published = readdirSync(join(repoRoot, "packages"))
  .map((dir) => JSON.parse(readFileSync(join(repoRoot, "packages", dir, "package.json"), "utf8")))
  .filter((manifest) => manifest.private !== true)
  .map(
    (manifest): { readonly name: string; readonly version: string; readonly files: ReadonlyArray<string> } => manifest
  )

/** Whether a top-level `entry` of a package matches one of its `files` patterns (`*` within a name). */
const listedIn = (files: ReadonlyArray<string>, entry: string): boolean =>
  files.some((pattern) => {
    const source = pattern.replace(/[.+?^$(){}|[\]\\]/g, "\\$&").replace(/\*/g, "[^/]*")
    return new RegExp(`^${source}$`).test(entry)
  })

let project = ""
let child: Child | undefined

/** Spawn options for the project directory (set in beforeAll). */
const inProject = () => ({ cwd: project })
const node = (file: string, ...args: Array<string>) =>
  run(process.execPath, [join(project, file), ...args], inProject())

/** Runs the client-14 driver against `port`: its answer to `echo`. */
const drive = async (port: number): Promise<unknown> => {
  const { code, output } = await node("drive.cjs", String(port))
  expect(code, output).toBe(0)
  return JSON.parse(output)
}

beforeAll(async () => {
  project = mkdtempSync(join(tmpdir(), "effect-socketcluster-tarballs-"))
  const packs = join(project, "tarballs")
  const packed = await run("bash", [join(repoRoot, "scripts/pack.sh"), packs], { cwd: repoRoot })
  expect(packed.code, packed.output).toBe(0)
  cpSync(fixtures, project, { recursive: true })
  // Our packages come from their tarballs only, also where they depend on each other
  // (`^0.2.0` after packing): without the overrides npm asks the registry for them first,
  // which fails slowly wherever the registry is unreachable or its TLS is not trusted.
  const ours = Object.fromEntries(
    readdirSync(packs).map((file) => {
      const manifest = published.find((p) => file === `${p.name.replace("@", "").replace("/", "-")}-${p.version}.tgz`)
      if (manifest === undefined) throw new Error(`a tarball of no published package: ${file}`)
      return [manifest.name, `file:tarballs/${file}`]
    })
  )
  writeFileSync(
    join(project, "package.json"),
    JSON.stringify({ name: "tarball-app", private: true, dependencies: ours, overrides: ours })
  )
  const installed = await run(
    "npm",
    ["install", "--no-audit", "--no-fund", "--prefer-offline", "--loglevel=error", client, "@types/node@24"],
    inProject()
  )
  expect(installed.code, installed.output).toBe(0)
})

afterEach(() => stop(child))
afterAll(() => {
  if (project !== "") rmSync(project, { recursive: true, force: true })
})

describe("the packed packages installed with npm into a new project", () => {
  it("packs every published package, and the project has them from the tarballs (no workspace links)", () => {
    expect(published.map((p) => p.name)).toContain("@effect-socketcluster/compat")
    expect(readdirSync(join(project, "tarballs"))).toHaveLength(published.length)
    for (const { name, version, files } of published) {
      const manifest = JSON.parse(readFileSync(join(project, "node_modules", name, "package.json"), "utf8"))
      expect(manifest.version, name).toBe(version)
      expect(JSON.stringify(manifest), name).not.toContain("workspace:")
      if (name.startsWith("@effect-socketcluster/")) expect(version, name).toBe("0.2.0")
      // Only what `files` lets in (no tests, benches, configs or build info), with the license.
      const entries = readdirSync(join(project, "node_modules", name)).filter((entry) => entry !== "node_modules")
      expect(entries, name).toEqual(expect.arrayContaining(["LICENSE", "README.md", "package.json"]))
      for (const entry of entries)
        expect(entry === "package.json" || listedIn(files, entry), `${name}: ${entry}`).toBe(true)
      expect(existsSync(join(project, "node_modules", name, "dist/.tsbuildinfo")), name).toBe(false)
    }
    // One copy of Effect: the peer dependency, installed at the top of the project.
    expect(existsSync(join(project, "node_modules/effect/package.json"))).toBe(true)
    expect(existsSync(join(project, "node_modules/@effect-socketcluster/server/node_modules/effect"))).toBe(false)
  })

  it("every package loads with require() from CommonJS (no top-level await in any import graph)", async () => {
    const names = published.map((p) => p.name)
    // The socketcluster@14 module paths besides the main one, from the alias package.
    const v14Classes = ["socketcluster/scworker", "socketcluster/scbroker", "socketcluster/scworkercluster"]
    const { code, output } = await node("require-all.cjs", ...names, ...v14Classes, "socketcluster/fsutil")
    expect(code, output).toBe(0)
    const loaded: Record<string, { readonly type: string; readonly exports: ReadonlyArray<string> }> =
      JSON.parse(output)
    for (const name of names) {
      const module = loaded[name]
      expect(module?.type === "function" || (module?.exports.length ?? 0) > 0, name).toBe(true)
    }
    for (const path of ["socketcluster", ...v14Classes]) expect(loaded[path]?.type, path).toBe("function")
    expect(loaded["socketcluster/fsutil"]?.exports).toContain("waitForFile")
  })

  it("(a) a CommonJS v14 app: require('@effect-socketcluster/compat').listen(port), connection + echo, with client 14", async () => {
    child = start(process.execPath, [join(project, "v14-app.cjs")], inProject())
    const { plainObject, shape } = JSON.parse((await child.waitFor(/shape (.*)\n/))[1] ?? "")
    // The same names and kinds as socketcluster-server@14.7.2's module.exports (and more).
    const v14: Record<string, unknown> = createRequire(import.meta.url)("socketcluster-server-14.7.2")
    for (const [name, value] of Object.entries(v14)) expect(shape[name], name).toBe(typeof value)
    expect(plainObject).toBe(true)
    const port = await appPort(child)
    expect(await drive(port)).toEqual({
      error: null,
      data: { echoed: { hello: "from client 14" }, connections: 1, isSCServer: true }
    })
  })

  it("(b) a TypeScript Effect app type-checks against the installed .d.ts, runs on node and answers client 14", async () => {
    // One tsc run over the app and a file with a deliberate mistake; skipLibCheck is off,
    // so every installed .d.ts (ours, effect's) is checked too.
    const checked = await run(join(repoRoot, "node_modules/.bin/tsc"), ["-p", project, "--listFiles"], inProject())
    expect(checked.code).not.toBe(0)
    const errors = checked.output.split("\n").filter((line) => line.includes("error TS"))
    expect(errors).toEqual([expect.stringMatching(/^effect-app-wrong\.ts\(\d+,\d+\): error TS2322: /)])
    // Our packages' types came from the installed .d.ts, never from the shipped sources.
    const ours = checked.output.split("\n").filter((line) => line.includes("/node_modules/@effect-socketcluster/"))
    expect(ours.length).toBeGreaterThan(0)
    for (const file of ours) expect(file).toMatch(/\/dist\/.*\.d\.ts$/)

    child = start(process.execPath, [join(project, "dist/effect-app.js")], inProject())
    const port = await appPort(child)
    expect(await drive(port)).toEqual({ error: null, data: { echoed: { hello: "from client 14" } } })
    child.proc.kill("SIGTERM")
    expect(await child.exited).toEqual({ code: 0, signal: null })
  })

  it("(c) the effect-socketcluster bin: --help, start, GET /health and the demo page, SIGTERM, exit 0, port free", async () => {
    const bin = join(project, "node_modules/.bin/effect-socketcluster")
    const help = await run(bin, ["--help"], inProject())
    expect(help.code).toBe(0)
    expect(help.output).toMatch(/^Usage: effect-socketcluster \[options\]/m)
    // Nothing in the project could load TypeScript.
    expect(existsSync(join(project, "node_modules/tsx"))).toBe(false)

    child = start(bin, ["--host", "127.0.0.1"], { cwd: project, env: userEnv({ PORT: "0" }) })
    const port = await cliPort(child)
    // The bin's shebang runs node itself on the built JavaScript.
    const [server] = processTree(child.pid)
    expect(server?.commandLine).toMatch(/^\S*node \S*node_modules\/\.bin\/effect-socketcluster --host 127\.0\.0\.1$/)
    const health = await fetch(`http://127.0.0.1:${port}/health`)
    expect(health.status).toBe(200)
    // The demo page's files come from the installed package.
    const page = await fetch(`http://127.0.0.1:${port}/`)
    expect(page.status).toBe(200)
    expect(await page.text()).toContain("/socketcluster/")
    expect((await fetch(`http://127.0.0.1:${port}/socketcluster.js`)).status).toBe(200)

    child.proc.kill("SIGTERM")
    expect(await child.exited).toEqual({ code: 0, signal: null })
    expect(await portIsFree(port)).toBe(true)
  })
})
