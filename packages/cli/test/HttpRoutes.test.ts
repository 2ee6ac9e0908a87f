import { readFileSync } from "node:fs"
import { afterEach, beforeEach, describe, expect, it } from "vitest"
import { clientBundlePath } from "../src/DemoAssets.js"
import { startApp, type TestApp } from "./harness.js"

let app: TestApp
beforeEach(async () => {
  app = await startApp(["--path", "/ws"])
})
afterEach(() => app.stop())

describe("HTTP routes", () => {
  it("serves the demo page with the endpoint path and the real v14 browser bundle", async () => {
    const page = await fetch(`${app.baseUrl}/`)
    expect(page.status).toBe(200)
    expect(page.headers.get("content-type")).toMatch(/^text\/html/)
    const html = await page.text()
    expect(html).toContain('data-sc-path="/ws/"')
    expect(html).toContain('<script src="/socketcluster.js">')
    const bundle = await fetch(`${app.baseUrl}/socketcluster.js`)
    expect(bundle.status).toBe(200)
    expect(Buffer.from(await bundle.arrayBuffer()).equals(readFileSync(clientBundlePath()))).toBe(true)
    expect((await fetch(`${app.baseUrl}/demo.js`)).status).toBe(200)
    expect((await fetch(`${app.baseUrl}/demo.css`)).status).toBe(200)
  })

  it("answers /health with 200 ready, unknown paths with 404 and other methods with 405", async () => {
    const health = await fetch(`${app.baseUrl}/health`)
    expect(health.status).toBe(200)
    expect(await health.text()).toBe("ready\n")
    expect((await fetch(`${app.baseUrl}/nope`)).status).toBe(404)
    expect((await fetch(`${app.baseUrl}/health`, { method: "POST" })).status).toBe(405)
  })
})
