/**
 * Picks the pub/sub broker from the `--broker` setting: the embedded in-memory broker
 * when unset (or `memory`), the Redis broker (`@effect-socketcluster/broker-redis`) for
 * a `redis://` / `rediss://` URL.
 */
import { type Broker, BrokerMemory } from "@effect-socketcluster/server"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"

/**
 * The broker layer for `url` (`undefined`: memory); `prefix` namespaces channels in Redis.
 * The Redis broker's package (and its Redis client) is loaded only when it is chosen: on
 * the memory broker it would be ~6 MiB of live heap that every major GC marks for nothing.
 */
export const layer = (url: string | undefined, prefix = "sc:"): Layer.Layer<Broker.Broker> =>
  url === undefined
    ? BrokerMemory.layer
    : Layer.unwrap(
        Effect.map(
          Effect.promise(() => import("@effect-socketcluster/broker-redis")),
          ({ BrokerRedis }) => BrokerRedis.layer({ url: Redacted.make(url), prefix })
        )
      )
