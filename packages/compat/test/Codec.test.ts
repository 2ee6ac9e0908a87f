/**
 * A codec engine published for SocketCluster 14 — `sc-codec-min-bin` from npm (MessagePack,
 * binary frames, compressed publish/emit/response packets) — installed unchanged with
 * `setCodecEngine` on the facade and the real client's `codecEngine` option.
 */
import { createRequire } from "node:module"
import type { CodecEngine } from "@effect-socketcluster/protocol"
import { assert, describe, it } from "vitest"
import type { SCServerSocket } from "../src/index.js"
import { connectClient, invoke, publish, startServer, subscribe } from "./helpers.js"

const minBin: CodecEngine = createRequire(import.meta.url)("sc-codec-min-bin")

describe("sc-codec-min-bin through setCodecEngine and the client's codecEngine", () => {
  it("carries RPCs, errors, auth tokens and publications in both directions as binary frames", async () => {
    const server = await startServer()
    server.setCodecEngine(minBin)
    const frames: Array<unknown> = []
    server.on("connection", (socket: SCServerSocket) => {
      socket.on("message", (message: unknown) => frames.push(message))
      socket.on("echo", (data: unknown, respond: (error: unknown, data?: unknown) => void) => respond(null, data))
      socket.on("fail", (_data: unknown, respond: (error: unknown) => void) => {
        const error = new Error("No luck")
        error.name = "LuckError"
        respond(error)
      })
      socket.on("login", (data: unknown, respond: () => void) => {
        socket.setAuthToken({ username: data })
        respond()
      })
    })
    const client = await connectClient(server, { codecEngine: minBin })

    const payload = { text: "héllo", list: [1, 2.5, null, true], nested: { bytes: 3 } }
    assert.deepStrictEqual(await invoke(client, "echo", payload), [null, payload])

    const [error] = await invoke(client, "fail")
    assert.instanceOf(error, Error)
    assert.strictEqual((error as Error).name, "LuckError")
    assert.strictEqual((error as Error).message, "No luck")

    const tokenSet = new Promise<void>((resolve) => client.once("authenticate", () => resolve()))
    await invoke(client, "login", "alice")
    await tokenSet
    assert.strictEqual(client.authToken?.username, "alice")

    const channel = await subscribe(client, "news")
    const received: Array<unknown> = []
    const two = new Promise<void>((resolve) =>
      channel.watch((data) => {
        received.push(data)
        if (received.length === 2) resolve()
      })
    )
    server.exchange.publish("news", { from: "server" })
    const [publishError] = await publish(client, "news", { from: "client" })
    assert.isNull(publishError)
    await two
    assert.deepStrictEqual(received, [{ from: "server" }, { from: "client" }])

    assert.isAbove(frames.length, 4)
    for (const frame of frames) assert.isTrue(Buffer.isBuffer(frame), "every client frame is binary")
  })
})
