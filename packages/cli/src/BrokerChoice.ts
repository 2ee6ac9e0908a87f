/**
 * Picks the pub/sub broker from the `--broker` setting: the embedded in-memory broker
 * when unset (or `memory`), the Redis broker (`@effect-socketcluster/broker-redis`) for
 * a `redis://` / `rediss://` URL.
 */
import { BrokerRedis } from "@effect-socketcluster/broker-redis"
import { type Broker, BrokerMemory } from "@effect-socketcluster/server"
import type * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"

/** The broker layer for `url` (`undefined`: memory); `prefix` namespaces channels in Redis. */
export const layer = (url: string | undefined, prefix = "sc:"): Layer.Layer<Broker.Broker> =>
  url === undefined ? BrokerMemory.layer : BrokerRedis.layer({ url: Redacted.make(url), prefix })
