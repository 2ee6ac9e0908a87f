/**
 * First ping: open N sockets, then keep them idle for a fixed window of 9 s, in which
 * each answers its first heartbeat ping (50–100 % of the 8 s ping interval after the
 * handshake on our server, one interval on socketcluster-server). A ping within 2 s of
 * the handshake answer is not a heartbeat but a detection probe: answered too, not waited
 * for. Figures: server CPU per handshake, per socket over the idle window (the same length
 * for every target, so the idle baseline cancels in a ratio), and the two together: what a
 * connection costs the server through its first ping, wherever a server does its protocol
 * detection. Optional (run it by name).
 * A socket closed by the server, or not pinged within 15 s, counts as lost.
 */
import { openClients, type ScClient } from "../loadgen/sc-client.js"
import { emptyIntegrity } from "../loadgen/sequence-tracker.js"
import { Countdown, delay, type Scenario } from "./scenario.js"

const windowMs = 9_000
const firstPingTimeoutMs = 15_000
const probeWindowMs = 2_000

const heartbeatAnswered = (client: ScClient): boolean =>
  client.pongs > 0 && client.lastPongAt - client.handshakeAt >= probeWindowMs

export const firstPingScenario = (sockets: number): Scenario => ({
  id: `first-ping-${sockets}`,
  title: `${sockets.toLocaleString("en-US")} sockets through their first heartbeat ping`,
  optional: true,
  figures: [
    { key: "cpuPerHandshakeMicros", label: "server CPU per handshake", unit: "µs", better: "lower" },
    {
      key: "cpuPerFirstPingMicros",
      label: "server CPU per idle socket, 9 s with its first ping",
      unit: "µs",
      better: "lower"
    },
    { key: "cpuPerConnectionMicros", label: "server CPU per socket, both", unit: "µs", better: "lower" }
  ],
  run: async (target, { protocol }) => {
    const answered = new Countdown()
    const cpuBefore = await target.cpuMicros()
    const clients = await openClients(target.port, target.path, sockets, 200, protocol)
    const cpuConnected = await target.cpuMicros()
    const windowStart = performance.now()
    for (const client of clients) {
      if (heartbeatAnswered(client)) answered.add()
      else
        client.onPong = () => {
          if (!heartbeatAnswered(client)) return
          client.onPong = () => {}
          answered.add()
        }
    }
    const reached = await answered.reach(sockets, firstPingTimeoutMs)
    await delay(windowStart + windowMs - performance.now())
    const cpuAfter = await target.cpuMicros()
    const integrity = emptyIntegrity()
    integrity.lost = clients.filter((client) => client.connection.closed || !heartbeatAnswered(client)).length
    for (const client of clients) client.close()
    return {
      metrics: {
        cpuPerHandshakeMicros: (cpuConnected - cpuBefore) / sockets,
        cpuPerFirstPingMicros: (cpuAfter - cpuConnected) / sockets,
        cpuPerConnectionMicros: (cpuAfter - cpuBefore) / sockets
      },
      integrity,
      notes: reached ? [] : [`${sockets - answered.count} sockets not pinged within ${firstPingTimeoutMs} ms`]
    }
  }
})
