/** Every scenario, in the order they run. */
import { connectScenario } from "./connect.js"
import { fanOutScenario } from "./fan-out.js"
import { firstPingScenario } from "./first-ping.js"
import { manyChannelsScenario } from "./many-channels.js"
import { manyClientsScenario } from "./many-clients.js"
import { rpcScenario } from "./rpc.js"
import type { Scenario } from "./scenario.js"

export const scenarios: ReadonlyArray<Scenario> = [
  connectScenario(1000),
  connectScenario(5000),
  connectScenario(10000),
  fanOutScenario(1000, 20),
  fanOutScenario(5000, 4),
  rpcScenario,
  manyChannelsScenario,
  manyClientsScenario,
  firstPingScenario(5000)
]
