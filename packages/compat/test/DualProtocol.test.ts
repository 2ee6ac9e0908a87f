/**
 * The v14 module API serving socketcluster-client 14.3.2 (protocol v1) and 20.0.2
 * (protocol v2) at once: `socket.protocolVersion`, and the same listeners and middleware
 * for both.
 */
import { createRequire } from "node:module"
import { assert, describe, expect, it } from "vitest"
import type { SCServerSocket } from "../src/index.js"
import { connectClient, invoke, onCleanup, publish, startServer, subscribe } from "./helpers.js"

interface V20Socket {
  readonly id: string | null
  listener(event: string): AsyncIterable<Record<string, unknown>> & { once(): Promise<Record<string, unknown>> }
  invoke(event: string, data?: unknown): Promise<unknown>
  subscribe(channel: string): AsyncIterable<unknown> & { listener(event: string): { once(): Promise<unknown> } }
  invokePublish(channel: string, data: unknown): Promise<unknown>
  disconnect(): void
  closeAllListeners(): void
  closeAllChannels(): void
}
const v20: { create(options: Record<string, unknown>): V20Socket } = createRequire(import.meta.url)(
  "socketcluster-client-20"
)

describe("both protocols through the v14 API", () => {
  it("protocolVersion per socket; listeners, emit/subscribe/publishIn middleware and pub/sub work the same for both", async () => {
    // A short ping interval: detection rides on the first ping tick.
    const server = await startServer({ pingInterval: 500, pingTimeout: 2000 })
    const sockets = new Map<string, SCServerSocket>()
    server.on("connection", (socket: SCServerSocket) => {
      sockets.set(socket.id, socket)
      socket.on("whoami", (_data, respond) => respond(null, socket.protocolVersion))
    })
    const seen: Array<string> = []
    for (const type of ["emit", "subscribe", "publishIn"] as const) {
      server.addMiddleware(type, (req: { socket: SCServerSocket }, next: (error?: unknown) => void) => {
        seen.push(`${type}:${req.socket.protocolVersion}`)
        next()
      })
    }
    const old = await connectClient(server)
    const modern = v20.create({ hostname: "127.0.0.1", port: server.sourcePort })
    onCleanup(() => {
      modern.disconnect()
      modern.closeAllListeners()
      modern.closeAllChannels()
    })
    await modern.listener("connect").once()
    // Detected from the first pong, at the first tick (250–500 ms after the upgrade).
    await expect.poll(() => sockets.get(old.id!)?.protocolVersion, { timeout: 5000 }).toBe(1)
    await expect.poll(() => sockets.get(modern.id!)?.protocolVersion, { timeout: 5000 }).toBe(2)

    assert.deepStrictEqual(await invoke(old, "whoami"), [null, 1])
    assert.strictEqual(await modern.invoke("whoami"), 2)

    const oldInbox: Array<unknown> = []
    const modernInbox: Array<unknown> = []
    ;(await subscribe(old, "mixed")).watch((d) => oldInbox.push(d))
    const channel = modern.subscribe("mixed")
    void (async () => {
      for await (const d of channel) modernInbox.push(d)
    })()
    await channel.listener("subscribe").once()
    await publish(old, "mixed", "from v14")
    await modern.invokePublish("mixed", "from v20")
    await expect.poll(() => [oldInbox.length, modernInbox.length]).toEqual([2, 2])
    assert.deepStrictEqual(oldInbox, ["from v14", "from v20"])
    assert.deepStrictEqual(modernInbox, ["from v14", "from v20"])
    assert.sameMembers(seen, ["emit:1", "emit:2", "subscribe:1", "subscribe:2", "publishIn:1", "publishIn:2"])

    // A v14 disconnect with a reason: v2 clients read it from the close frame.
    const closed = modern.listener("disconnect").once()
    sockets.get(modern.id!)!.disconnect(4321, "bye")
    const { code, reason } = await closed
    assert.deepStrictEqual([code, reason], [4321, "bye"])
  })
})
