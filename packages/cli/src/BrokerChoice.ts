/**
 * Picks the pub/sub broker from the `--broker` setting: the embedded in-memory broker
 * when unset (or `memory`), the Redis broker for a `redis://` / `rediss://` URL.
 */
import { Broker, BrokerMemory } from "@effect-socketcluster/server"
import { Data, Effect, Layer } from "effect"

/** The broker could not be set up. */
export class BrokerUnavailable extends Data.TaggedError("BrokerUnavailable")<{ readonly message: string }> {}

/** The broker layer for `url` (`undefined`: memory). */
export const layer = (url: string | undefined): Layer.Layer<Broker.Broker, BrokerUnavailable> =>
  url === undefined
    ? BrokerMemory.layer
    : Layer.effect(
        Broker.Broker,
        Effect.fail(
          new BrokerUnavailable({ message: `The Redis broker is not available in this build (${redact(url)})` })
        )
      )

/** The URL without its password, for logs and errors. */
export const redact = (url: string): string => url.replace(/\/\/([^:@/]*):[^@/]*@/, "//$1:***@")
