/**
 * Connect: open N sockets (at most 200 handshakes in flight), then leave them idle.
 * A tenth of N (at most 1,000) are opened and closed first, untimed, so the timed ramp is
 * every target's steady state (see `phaseTiming`); the memory baseline is taken before.
 * Figures: handshakes/s over the whole ramp, server CPU per handshake, and heap and
 * RSS per idle socket (after a full GC, against the freshly started server).
 * A socket the server closes while idle counts as lost.
 */
import { openClients } from "../loadgen/sc-client.js"
import { emptyIntegrity } from "../loadgen/sequence-tracker.js"
import { delay, type Scenario } from "./scenario.js"

export const connectScenario = (sockets: number): Scenario => ({
  id: `connect-${sockets}`,
  title: `Connect ${sockets.toLocaleString("en-US")} sockets`,
  figures: [
    { key: "handshakesPerSecond", label: "handshakes/s", unit: "/s", better: "higher" },
    { key: "cpuPerHandshakeMicros", label: "server CPU per handshake", unit: "µs", better: "lower" },
    { key: "heapPerSocketBytes", label: "heap per idle socket", unit: "B", better: "lower" },
    { key: "rssPerSocketBytes", label: "RSS per idle socket", unit: "B", better: "lower" }
  ],
  run: async (target, { protocol }) => {
    const before = await target.memory()
    const warmUp = await openClients(target.port, target.path, Math.min(1000, Math.ceil(sockets / 10)), 200, protocol)
    for (const client of warmUp) client.close()
    // The load client closes one-sidedly (it destroys its TCP socket) and nothing answers
    // that, so the server's teardown of the warm-up sockets gets a fixed moment.
    await delay(300)
    const cpuBefore = await target.cpuMicros()
    const started = performance.now()
    const clients = await openClients(target.port, target.path, sockets, 200, protocol)
    const seconds = (performance.now() - started) / 1000
    const cpuAfter = await target.cpuMicros()
    // Idle for a moment so deferred per-socket work (timers, lazily built state) is counted.
    await delay(500)
    const after = await target.memory()
    const integrity = emptyIntegrity()
    integrity.lost = clients.filter((client) => client.connection.closed).length
    for (const client of clients) client.close()
    return {
      metrics: {
        handshakesPerSecond: sockets / seconds,
        cpuPerHandshakeMicros: (cpuAfter - cpuBefore) / sockets,
        heapPerSocketBytes: (after.heapUsed - before.heapUsed) / sockets,
        rssPerSocketBytes: (after.rss - before.rss) / sockets
      },
      integrity,
      notes: []
    }
  }
})
