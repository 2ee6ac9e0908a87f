/**
 * The demo page end to end in headless Chromium (Debian's `chromium`, driven by
 * playwright-core) against the app on a real port, with the real v14 browser bundle.
 */
import { mkdirSync } from "node:fs"
import { fileURLToPath } from "node:url"
import { type Browser, chromium, type Page } from "playwright-core"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { startApp, type TestApp } from "./harness.js"

const chromiumPath = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium"
const artifacts = fileURLToPath(new URL("../../../.artifacts/", import.meta.url))

let app: TestApp
let browser: Browser

beforeAll(async () => {
  app = await startApp()
  browser = await chromium.launch({
    executablePath: chromiumPath,
    args: [
      "--no-sandbox",
      "--headless",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--disable-quic",
      "--no-first-run"
    ]
  })
})
afterAll(async () => {
  await browser?.close()
  await app?.stop()
})

// Each page in its own context: the v14 client keeps its auth token in localStorage.
const openPage = async (viewport: { width: number; height: number }): Promise<Page> => {
  const context = await browser.newContext({ viewport })
  const page = await context.newPage()
  const errors: Array<string> = []
  page.on("pageerror", (error) => errors.push(error.message))
  await page.goto(`${app.baseUrl}/`)
  await page.locator("#status", { hasText: "connected" }).waitFor()
  expect(errors).toEqual([])
  return page
}

const join = async (page: Page, nick: string, room: string) => {
  await page.fill("#nick", nick)
  await page.fill("#room", room)
  await page.click("#join")
  await page.locator("#room-title", { hasText: `# ${room}` }).waitFor()
  await page.locator("#send:enabled").waitFor()
}

const say = async (page: Page, text: string) => {
  await page.fill("#message-input", text)
  await page.click("#send")
}

describe("demo page", () => {
  it("chat, rejected messages, login and the private channel, live counters", async () => {
    const alice = await openPage({ width: 390, height: 844 }) // a phone-sized window
    const bob = await openPage({ width: 1100, height: 800 })

    await join(alice, "Alice", "lobby")
    await join(bob, "Bob", "lobby")

    // Two pages in one room see each other's messages, with who sent them.
    await say(alice, "hello from alice")
    const atBob = bob.locator("#messages li", { hasText: "hello from alice" })
    await atBob.waitFor()
    expect(await atBob.locator(".from").textContent()).toBe("Alice")
    await say(bob, "hi alice, bob here")
    const atAlice = alice.locator("#messages li", { hasText: "hi alice, bob here" })
    await atAlice.waitFor()
    expect(await atAlice.locator(".from").textContent()).toBe("Bob")

    // The publishIn middleware rejects an empty message; the page shows the error.
    await say(alice, "   ")
    await alice.locator("#error", { hasText: "EmptyMessageError: Message is empty" }).waitFor()
    await say(alice, "x".repeat(501))
    await alice.locator("#error", { hasText: "MessageTooLongError" }).waitFor()
    mkdirSync(artifacts, { recursive: true })
    await alice.screenshot({ path: `${artifacts}demo-phone-error.png`, fullPage: true })
    expect(await bob.locator("#messages li").count()).toBe(2)

    // Login issues an auth token; only then does the private channel open.
    expect(await alice.locator("#private-panel").isHidden()).toBe(true)
    await alice.fill("#login-name", "alice")
    await alice.click("#login")
    await alice.locator("#private-panel").waitFor({ state: "visible" })
    expect(await alice.locator("#username").textContent()).toBe("alice")
    await alice.fill("#private-input", "members only")
    await alice.click("#private-send")
    const privateMessage = alice.locator("#private-messages li", { hasText: "members only" })
    await privateMessage.waitFor()
    expect(await privateMessage.locator(".from.verified").textContent()).toBe("alice")
    // Bob never logged in: his private panel stays closed.
    expect(await bob.locator("#private-panel").isHidden()).toBe(true)
    expect(await bob.locator("#private-locked").isVisible()).toBe(true)

    // Live counters pushed by the server, and the echo round trip.
    await bob.locator("#stat-connections", { hasText: /^2$/ }).waitFor()
    await bob.locator("#stat-messages", { hasText: /^[3-9]$|^\d{2,}$/ }).waitFor()
    await alice.locator("#rtt", { hasText: "ms" }).waitFor()

    await alice.screenshot({ path: `${artifacts}demo-phone.png`, fullPage: true })
    await bob.screenshot({ path: `${artifacts}demo-desktop.png`, fullPage: true })
  })
})
