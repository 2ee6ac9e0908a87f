/**
 * The client in headless Chromium (Debian's `chromium`, driven by playwright-core): the
 * package bundled for the page by esbuild, the browser's WebSocket and localStorage,
 * against this project's server on a real port.
 */
import * as Http from "node:http"
import { fileURLToPath } from "node:url"
import { assert, describe, it } from "@effect/vitest"
import { ApplicationError } from "@effect-socketcluster/protocol"
import { SCServer } from "@effect-socketcluster/server"
import { Effect, Layer } from "effect"
import { build } from "esbuild"
import { chromium } from "playwright-core"
import { TestServer } from "../src/testing/index.js"

const chromiumPath = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium"
const entry = fileURLToPath(new URL("./browser/entry.ts", import.meta.url))

/** The page script: the client and its entry as one browser bundle. */
const bundle = Effect.promise(() =>
  build({
    entryPoints: [entry],
    bundle: true,
    write: false,
    format: "iife",
    platform: "browser",
    target: "es2022",
    conditions: ["@effect-socketcluster/source"],
    logLevel: "silent"
  })
).pipe(Effect.map((result) => result.outputFiles[0]?.text ?? ""))

/** An HTTP server for the page (the page needs an origin for localStorage). */
const pageServer = (script: string) =>
  Effect.acquireRelease(
    Effect.callback<Http.Server>((resume) => {
      const server = Http.createServer((req, res) => {
        if (req.url === "/client.js") {
          res.writeHead(200, { "content-type": "text/javascript" })
          return res.end(script)
        }
        res.writeHead(200, { "content-type": "text/html" })
        res.end('<!doctype html><title>client</title><script src="/client.js"></script>')
      })
      server.listen(0, "127.0.0.1", () => resume(Effect.succeed(server)))
    }),
    (server) =>
      Effect.callback<void>((resume) => {
        server.close(() => resume(Effect.void))
      })
  )

const browser = Effect.acquireRelease(
  Effect.promise(() =>
    chromium.launch({
      executablePath: chromiumPath,
      args: ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking", "--no-first-run"]
    })
  ),
  (b) => Effect.promise(() => b.close())
)

const App = Layer.effectDiscard(
  Effect.gen(function* () {
    const server = yield* SCServer.SCServer
    yield* server.handle("echo", (data) => Effect.succeed(data))
    yield* server.handle("refuse", () => Effect.fail(new ApplicationError({ name: "LoginError", message: "no" })))
    yield* server.handle("login", (data, socket) => socket.setAuthToken(data).pipe(Effect.as("ok")))
    yield* server.handle("whoami", (_data, socket) => Effect.succeed(socket.getAuthToken() ?? null))
  })
).pipe(Layer.provideMerge(TestServer.layer()))

describe("in Chromium", () => {
  it.live(
    "invoke, pub/sub, a named error, login kept in localStorage across page loads",
    () =>
      Effect.gen(function* () {
        const { url } = yield* TestServer.TestServer
        const script = yield* bundle
        const http = yield* pageServer(script)
        const address = http.address()
        const pageUrl = `http://127.0.0.1:${typeof address === "object" && address !== null ? address.port : 0}/`
        const chrome = yield* browser
        const context = yield* Effect.promise(() => chrome.newContext())
        const page = yield* Effect.promise(() => context.newPage())
        const errors: Array<string> = []
        page.on("pageerror", (error) => errors.push(error.message))
        yield* Effect.promise(() => page.goto(pageUrl))

        const seen = yield* Effect.promise(() =>
          page.evaluate(
            (wsUrl) => (Reflect.get(globalThis, "runClient") as (u: string) => Promise<unknown>)(wsUrl),
            url
          )
        )
        const result = seen as {
          echoed: unknown
          publication: unknown
          refused: { name: string; message: string }
          stored: string | null
          whoami: { username: string }
        }
        assert.deepStrictEqual(result.echoed, { from: "the browser" })
        assert.strictEqual(result.publication, "from the page")
        assert.deepStrictEqual(result.refused, { name: "LoginError", message: "no" })
        assert.isString(result.stored)
        assert.strictEqual(result.stored?.split(".").length, 3)
        assert.strictEqual(result.whoami.username, "page")

        // A new page load of the same origin: the handshake offers the stored token.
        yield* Effect.promise(() => page.reload())
        const again = (yield* Effect.promise(() =>
          page.evaluate(
            (wsUrl) => (Reflect.get(globalThis, "reconnectClient") as (u: string) => Promise<unknown>)(wsUrl),
            url
          )
        )) as { isAuthenticated: boolean; whoami: { username: string } }
        assert.isTrue(again.isAuthenticated)
        assert.strictEqual(again.whoami.username, "page")
        assert.deepStrictEqual(errors, [])
      }).pipe(Effect.scoped, Effect.provide(App)),
    30_000
  )
})
