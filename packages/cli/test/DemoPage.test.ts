/**
 * The demo page end to end in headless Chromium (Debian's `chromium`, driven by
 * playwright-core) against the app on a real port, with the real v14 browser bundle;
 * and the socketcluster-client 20 browser bundle (protocol v2) on the same server.
 */
import { mkdirSync, readFileSync } from "node:fs"
import { createRequire } from "node:module"
import { fileURLToPath } from "node:url"
import { type Browser, chromium, type Page } from "playwright-core"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { startApp, type TestApp } from "./harness.js"

const chromiumPath = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium"
const artifacts = fileURLToPath(new URL("../../../.artifacts/", import.meta.url))

let app: TestApp
let browser: Browser

beforeAll(async () => {
  // A short ping interval: the v20 page is detected (and sees the v1 ping once) within the test.
  app = await startApp(["--ping-interval", "500", "--ping-timeout", "5000"])
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

  it("the v20 browser client next to the demo page: chat both ways, login, the private channel, detected as v2", async () => {
    const demo = await openPage({ width: 1100, height: 800 })
    await join(demo, "Dana", "mixed")
    const context = await browser.newContext()
    const page = await context.newPage()
    const errors: Array<string> = []
    page.on("pageerror", (error) => errors.push(error.message))
    // The app ships the v14 bundle only: the test serves the ES module bundle that
    // socketcluster-client 20 publishes. The page itself is a real response of the app (its
    // 404 page): Chromium lets only a page loaded from a local address open local sockets.
    const bundle = readFileSync(
      createRequire(import.meta.url).resolve("socketcluster-client-20/socketcluster-client.min.js")
    )
    await page.route("**/socketcluster-client-20.js", (route) =>
      route.fulfill({ contentType: "text/javascript", body: bundle })
    )
    await page.goto(`${app.baseUrl}/no-such-page`)
    // A module script (a string, so the test runner leaves its import alone) puts `create` on the page.
    await page.addScriptTag({
      type: "module",
      content: 'import { create } from "/socketcluster-client-20.js"; globalThis.sc20 = { create }'
    })
    await page.waitForFunction(() => "sc20" in globalThis)
    const { hostname, port } = new URL(app.baseUrl)
    const started = await page.evaluate(
      async (target) => {
        const g = globalThis as unknown as V20Page
        const socket = g.sc20.create(target)
        g.v20 = socket
        g.raw = []
        g.received = []
        void (async () => {
          for await (const { message } of socket.listener("raw")) g.raw.push(message)
        })()
        const status = (await socket.listener("connect").once()) as { id: string }
        const room = socket.subscribe("room/mixed")
        void (async () => {
          for await (const data of room) g.received.push(data as { text?: string })
        })()
        await room.listener("subscribe").once()
        return { id: status.id, echo: await socket.invoke("echo", "round trip") }
      },
      { hostname, port: Number(port) }
    )
    expect(started.echo).toBe("round trip")
    await expect.poll(() => app.server.clients.get(started.id)?.protocolVersion, { timeout: 5000 }).toBe(2)

    // v14 page → v20 client.
    await say(demo, "hello v20")
    await page.waitForFunction(() => (globalThis as unknown as V20Page).received.some((d) => d.text === "hello v20"))
    // v20 client → v14 page, through the same publishIn middleware.
    await page.evaluate(() =>
      (globalThis as unknown as V20Page).v20.invokePublish("room/mixed", { text: "hi from v20", nick: "Vera" })
    )
    const fromV20 = demo.locator("#messages li", { hasText: "hi from v20" })
    await fromV20.waitFor()
    expect(await fromV20.locator(".from").textContent()).toBe("Vera")
    const rejected = await page.evaluate(() =>
      (globalThis as unknown as V20Page).v20.invokePublish("room/mixed", { text: "   ", nick: "Vera" }).then(
        () => "published",
        (error: Error) => error.name
      )
    )
    expect(rejected).toBe("EmptyMessageError")

    // Login (setAuthToken before the answer) and the private channel it opens.
    const auth = await page.evaluate(async () => {
      const socket = (globalThis as unknown as V20Page).v20
      await socket.invoke("login", { username: "vera" })
      const lounge = socket.subscribe("private/lounge")
      await lounge.listener("subscribe").once()
      return { state: socket.authState, username: socket.authToken?.username }
    })
    expect(auth).toEqual({ state: "authenticated", username: "vera" })
    // The v1 ping of the first tick (the socket is not detected before it), seen once as
    // `raw` by this v2 client; every later tick has only its own ping.
    await page.waitForFunction(() => (globalThis as unknown as V20Page).raw.length > 0)
    expect(await page.evaluate(() => (globalThis as unknown as V20Page).raw)).toEqual(["#1"])
    expect(errors).toEqual([])
    await context.close()
  })
})

/** What the page script keeps on the page's global object. */
interface V20Page {
  readonly sc20: { create(options: Record<string, unknown>): V20Socket }
  v20: V20Socket
  raw: Array<unknown>
  received: Array<{ readonly text?: string }>
}

/** The part of the socketcluster-client 20 socket the page script uses. */
interface V20Socket {
  readonly authState: string
  readonly authToken: { readonly username?: string } | null
  listener(event: string): AsyncIterable<Record<string, unknown>> & { once(): Promise<unknown> }
  subscribe(channel: string): AsyncIterable<unknown> & { listener(event: string): { once(): Promise<unknown> } }
  invoke(event: string, data?: unknown): Promise<unknown>
  invokePublish(channel: string, data: unknown): Promise<unknown>
}
