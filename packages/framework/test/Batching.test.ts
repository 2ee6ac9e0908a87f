/**
 * `pubSubBatchDuration` on the worker→broker wire: commands issued within the duration
 * leave in one write (v14 batched its broker socket the same way), in order. The broker
 * here is a plain Unix socket server that records what arrives in each chunk.
 */
import * as Fs from "node:fs"
import * as Net from "node:net"
import * as Os from "node:os"
import * as Path from "node:path"
import { Effect } from "effect"
import { afterAll, describe, expect, it } from "vitest"
import { BrokerClient } from "../src/BrokerClient.js"

const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "sc-batch-"))
afterAll(() => Fs.rmSync(dir, { recursive: true, force: true }))

/** A broker that answers every request and records the requests of each chunk it reads. */
const recordingBroker = async (name: string) => {
  const chunks: Array<Array<{ action: string; channel?: string }>> = []
  const server = Net.createServer((socket) => {
    socket.setEncoding("utf8")
    socket.on("data", (chunk: string) => {
      const requests = chunk
        .split("\n")
        .filter((l) => l.length > 0)
        .map((l) => JSON.parse(l))
      chunks.push(requests)
      for (const r of requests) socket.write(`${JSON.stringify({ type: "response", id: r.id })}\n`)
    })
  })
  const path = Path.join(dir, name)
  await new Promise<void>((resolve) => server.listen(path, resolve))
  return { path, chunks, close: () => new Promise<void>((resolve) => server.close(() => resolve())) }
}

describe("pubSubBatchDuration", () => {
  it("sends the commands of one batch window in one write, in order", async () => {
    const broker = await recordingBroker("b0")
    const client = new BrokerClient([broker.path], "secret", undefined, 40)
    await new Promise<void>((resolve) => client.whenReady(resolve))
    const before = broker.chunks.length
    const pubsub = client.broker()
    // Two commands now and two 10 ms later: unbatched they would arrive as separate chunks.
    const later = Effect.andThen(
      Effect.sleep("10 millis"),
      Effect.all([pubsub.publish("b", 2), pubsub.unsubscribe("a")], { concurrency: "unbounded" })
    )
    await Effect.runPromise(
      Effect.all([pubsub.subscribe("a"), pubsub.publish("a", 1), later], { concurrency: "unbounded" })
    )
    expect(broker.chunks.slice(before)).toEqual([
      [
        expect.objectContaining({ action: "subscribe", channel: "a" }),
        expect.objectContaining({ action: "publish", channel: "a" }),
        expect.objectContaining({ action: "publish", channel: "b" }),
        expect.objectContaining({ action: "unsubscribe", channel: "a" })
      ]
    ])
    client.close()
    await broker.close()
  })
})
