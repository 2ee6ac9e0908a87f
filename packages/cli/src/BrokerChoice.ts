/**
 * Picks what the exchange runs on from the `--broker` setting: the embedded in-memory
 * broker and data store when unset (or `memory`), Redis (`@effect-socketcluster/broker-redis`)
 * for both pub/sub and the data API for a `redis://` / `rediss://` URL, so every worker
 * and host behind one Redis sees the same `exchange.set/get/…` data as well as the same
 * publications.
 */
import { type Broker, BrokerMemory, type DataStore, DataStoreMemory } from "@effect-socketcluster/server"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"

/**
 * The broker and data-store layers for `url` (`undefined`: memory); `prefix` namespaces
 * channels and keys in Redis. The Redis package (and its Redis client) is loaded only when
 * it is chosen: on the memory broker it would be ~6 MiB of live heap that every major GC
 * marks for nothing.
 */
export const layer = (url: string | undefined, prefix = "sc:"): Layer.Layer<Broker.Broker | DataStore.DataStore> =>
  url === undefined
    ? Layer.merge(BrokerMemory.layer, DataStoreMemory.layer())
    : Layer.unwrap(
        Effect.map(
          Effect.promise(() => import("@effect-socketcluster/broker-redis")),
          ({ BrokerRedis, DataStoreRedis }) => {
            const options = { url: Redacted.make(url), prefix }
            return Layer.merge(BrokerRedis.layer(options), DataStoreRedis.layer(options))
          }
        )
      )
