/**
 * The embedded in-memory broker: one process, no I/O. It is what the server uses when
 * no broker layer is provided. Publications are delivered synchronously, inside
 * `publish`, so a publisher's ack follows the deliveries to local subscribers (as with
 * v14's default broker).
 */
import { Effect, Layer, Stream } from "effect"
import { Broker, type BrokerShape, type PublicationHandler } from "./Broker.js"

/** Builds an in-memory broker. */
export const make: Effect.Effect<BrokerShape> = Effect.sync(() => {
  const subscribed = new Set<string>()
  const handlers = new Set<PublicationHandler>()
  return {
    subscribe: (channel) =>
      Effect.sync(() => {
        subscribed.add(channel)
      }),
    unsubscribe: (channel) =>
      Effect.sync(() => {
        subscribed.delete(channel)
      }),
    publish: (channel, data) =>
      Effect.sync(() => {
        if (!subscribed.has(channel)) return
        for (const handler of handlers) handler(channel, data)
      }),
    onPublication: (handler) =>
      Effect.acquireRelease(
        Effect.sync(() => {
          handlers.add(handler)
        }),
        () =>
          Effect.sync(() => {
            handlers.delete(handler)
          })
      ),
    ready: Effect.void,
    notices: Stream.empty
  }
})

/** The in-memory broker as a layer. */
export const layer: Layer.Layer<Broker> = Layer.effect(Broker, make)
