/**
 * A v14 EventEmitter broker engine (the sc-simple-broker interface: `subscribeSocket`,
 * `unsubscribeSocket`, `publish`, a `ready` event; sc-broker-cluster's client has the
 * same shape) as a `Broker` layer.
 *
 * The core's broker contract is per channel, not per socket: the core keeps one broker
 * subscription per channel and fans publications out to its own sockets. So the adapter
 * subscribes one stand-in socket per server to the engine; the engine delivers to it with
 * `emit('#publish', {channel, data})`, as it would to a v14 socket.
 */
import { randomUUID } from "node:crypto"
import { Broker } from "@effect-socketcluster/server"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Stream from "effect/Stream"

type Callback = (error?: unknown) => void

/** What the engine sees of the server: one socket subscribed to every channel the server needs. */
export interface StandInSocket {
  readonly id: string
  emit(event: string, packet: unknown): void
}

/** The v14 broker engine interface (spec server-api.md §2, `brokerEngine`). */
export interface V14BrokerEngine {
  subscribeSocket(socket: StandInSocket, channel: string, callback?: Callback): unknown
  unsubscribeSocket(socket: StandInSocket, channel: string, callback?: Callback): unknown
  publish(channel: string, data: unknown, callback?: Callback): unknown
  once(event: "ready", listener: () => void): unknown
}

const hasMethod = (value: object, name: string): boolean => typeof Reflect.get(value, name) === "function"

/** Whether `value` has the v14 broker engine methods. */
export const isV14BrokerEngine = (value: unknown): value is V14BrokerEngine =>
  typeof value === "object" &&
  value !== null &&
  ["subscribeSocket", "unsubscribeSocket", "publish", "once"].every((name) => hasMethod(value, name))

const messageOf = (error: unknown): string =>
  typeof error === "object" && error !== null && "message" in error ? String(error.message) : String(error)

/** Calls a callback-style engine method as an Effect failing with `BrokerError`. */
const call = (run: (callback: Callback) => unknown): Effect.Effect<void, Broker.BrokerError> =>
  Effect.callback<void, Broker.BrokerError>((resume) => {
    const callback: Callback = (error) => {
      if (error === undefined || error === null) resume(Effect.void)
      else resume(Effect.fail(new Broker.BrokerError({ message: messageOf(error) })))
    }
    try {
      run(callback)
    } catch (error) {
      callback(error instanceof Error ? error : new Error(String(error)))
    }
  })

/**
 * The engine as a `Broker` layer. Its `ready` waits for the engine's `ready` event,
 * which the adapter starts listening for when the layer is built (v14 engines emit it
 * on the tick after their construction).
 */
export const layer = (engine: V14BrokerEngine): Layer.Layer<Broker.Broker> =>
  Layer.effect(
    Broker.Broker,
    Effect.gen(function* () {
      const ready = yield* Deferred.make<void>()
      engine.once("ready", () => Deferred.doneUnsafe(ready, Effect.void))
      const handlers = new Set<Broker.PublicationHandler>()
      const standIn: StandInSocket = {
        id: `broker-${randomUUID()}`,
        emit: (event, packet) => {
          if (event !== "#publish" || typeof packet !== "object" || packet === null) return
          const channel: unknown = Reflect.get(packet, "channel")
          if (typeof channel !== "string") return
          const data: unknown = Reflect.get(packet, "data")
          for (const handler of handlers) handler(channel, data)
        }
      }
      return Broker.Broker.of({
        subscribe: (channel) => call((callback) => engine.subscribeSocket(standIn, channel, callback)),
        unsubscribe: (channel) => call((callback) => engine.unsubscribeSocket(standIn, channel, callback)),
        publish: (channel, data) => call((callback) => engine.publish(channel, data, callback)),
        onPublication: (handler) => Broker.addHandler(handlers, handler),
        ready: Deferred.await(ready),
        notices: Stream.empty
      })
    })
  )
