/**
 * Runs examples/chat-app.js, an app written for socketcluster-server@14, on the compat
 * facade and — with only its import line changed — on the original
 * socketcluster-server@14.7.2, drives both with real v14 clients, and checks that both
 * produce the same transcript.
 */
import { readFileSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath, pathToFileURL } from "node:url"
import { assert, describe, it } from "vitest"
import { type ClientSocket, connectClient, invoke, onCleanup, once, publish, subscribe } from "./helpers.js"

/** What the test needs of either server (the compat SCServer or the v14 original). */
interface ChatServer {
  readonly httpServer: { address(): unknown; close(callback: () => void): void }
  close(callback?: () => void): void
}
interface ChatAppModule {
  startChatApp(port: number): Promise<ChatServer>
}

const appPath = fileURLToPath(new URL("../examples/chat-app.js", import.meta.url))
const originalServer = fileURLToPath(new URL("../../bench/node_modules/socketcluster-server/index.js", import.meta.url))

const loadCompatApp = async (): Promise<ChatAppModule> => import(pathToFileURL(appPath).href)

// The same file with its import pointed at socketcluster-server@14.7.2.
const loadOriginalApp = async (): Promise<ChatAppModule> => {
  const source = readFileSync(appPath, "utf8").replace(
    'import * as socketClusterServer from "@effect-socketcluster/compat"',
    `import socketClusterServer from ${JSON.stringify(pathToFileURL(originalServer).href)}`
  )
  assert.include(source, "socketcluster-server/index.js")
  const copy = join(tmpdir(), `chat-app-v14-${process.pid}-${Date.now()}.mjs`)
  writeFileSync(copy, source)
  return import(pathToFileURL(copy).href)
}

const start = async (app: ChatAppModule): Promise<number> => {
  const server = await app.startChatApp(0)
  onCleanup(
    () =>
      new Promise<void>((resolve) => {
        const dispose = Reflect.get(server, "dispose")
        if (typeof dispose === "function")
          return void Promise.resolve(Reflect.apply(dispose, server, [])).then(() => resolve())
        server.close()
        server.httpServer.close(() => resolve())
      })
  )
  const address = server.httpServer.address()
  return typeof address === "object" && address !== null ? Number(Reflect.get(address, "port")) : 0
}

const errorName = (error: unknown): unknown =>
  error === null || error === undefined ? error : typeof error === "object" ? Reflect.get(error, "name") : error

const login = (client: ClientSocket, username: string, password: string) =>
  new Promise<Array<unknown>>((resolve) =>
    client.emit("login", { username, password }, (error, data) =>
      resolve([errorName(error), data, client.authState, client.authToken?.username])
    )
  )

/** The scenario; every observable outcome goes into the transcript. */
const runScenario = async (port: number): Promise<Array<unknown>> => {
  const transcript: Array<unknown> = []
  const note = (step: string, value: unknown) => transcript.push([step, value])
  const alice = await connectClient(port)
  note("online before login", errorName((await invoke(alice, "online"))[0]))
  note(
    "subscribe before login",
    await subscribe(alice, "room:lobby").then(
      () => "subscribed",
      (e: unknown) => errorName(e)
    )
  )
  alice.unsubscribe("room:lobby")
  note("wrong password", await login(alice, "alice", "nope"))
  note("login", await login(alice, "alice", "alice-password"))
  const bob = await connectClient(port)
  note("bob login", await login(bob, "bob", "bob-password"))
  await subscribe(alice, "room:lobby")
  const bobLobby = await subscribe(bob, "room:lobby")
  const bobReceived: Array<unknown> = []
  const bobGot = (n: number) =>
    new Promise<void>((resolve) => {
      if (bobReceived.length >= n) return resolve()
      const check = () => bobReceived.length >= n && resolve()
      bobLobby.watch(check)
    })
  bobLobby.watch((message) => bobReceived.push(message))
  note(
    "unknown room",
    await subscribe(bob, "other").then(
      () => "subscribed",
      (e: unknown) => errorName(e)
    )
  )
  const [pubError, ack] = await publish(alice, "room:lobby", { text: "hi bob" })
  note("publish", [errorName(pubError), ack])
  await bobGot(1)
  note("bob received", bobReceived[0])
  note("empty message", errorName((await publish(alice, "room:lobby", { text: "" }))[0]))
  note("spam", errorName((await publish(alice, "room:lobby", { text: "buy spam now" }))[0]))
  const [announceError] = await invoke(bob, "announce", "hello")
  note("announce", errorName(announceError))
  await bobGot(2)
  note("bob received announce", bobReceived[1])
  note("history", await invoke(alice, "history", "room:lobby"))
  note("online", await invoke(bob, "online"))
  const kicked = once(alice, "kickOut")
  note("logout", await invoke(alice, "logout"))
  note("kickOut", await kicked)
  note("alice after logout", [alice.authState, alice.isSubscribed("room:lobby")])
  note("online after logout", errorName((await invoke(alice, "online"))[0]))
  bob.disconnect()
  const reconnected = once(bob, "connect")
  bob.connect()
  const [status] = (await reconnected) as [{ isAuthenticated: boolean }]
  note("bob reconnect", status.isAuthenticated)
  note("online after reconnect", await invoke(bob, "online"))
  return transcript
}

describe("examples/chat-app.js (written for socketcluster-server@14)", () => {
  it("runs on the compat facade", async () => {
    const transcript = await runScenario(await start(await loadCompatApp()))
    assert.deepStrictEqual(transcript, [
      ["online before login", "NotAuthenticatedError"],
      ["subscribe before login", "NotAuthenticatedError"],
      ["wrong password", ["LoginFailedError", undefined, "unauthenticated", undefined]],
      ["login", [null, { username: "alice" }, "authenticated", "alice"]],
      ["bob login", [null, { username: "bob" }, "authenticated", "bob"]],
      ["unknown room", "UnknownChannelError"],
      ["publish", [null, { accepted: true }]],
      ["bob received", { from: "alice", text: "hi bob" }],
      ["empty message", "InvalidMessageError"],
      ["spam", "SilentMiddlewareBlockedError"],
      ["announce", null],
      ["bob received announce", { from: "server", text: "bob: hello" }],
      [
        "history",
        [
          null,
          [
            { from: "alice", text: "hi bob" },
            { from: "server", text: "bob: hello" }
          ]
        ]
      ],
      ["online", [null, ["alice", "bob"]]],
      ["logout", [null, undefined]],
      ["kickOut", ["Logged out", "room:lobby"]],
      ["alice after logout", ["unauthenticated", false]],
      ["online after logout", "NotAuthenticatedError"],
      ["bob reconnect", true],
      ["online after reconnect", [null, ["bob"]]]
    ])
  })

  it("gives the same transcript on socketcluster-server@14.7.2", async () => {
    const compat = await runScenario(await start(await loadCompatApp()))
    const original = await runScenario(await start(await loadOriginalApp()))
    assert.deepStrictEqual(compat, original)
  })
})
