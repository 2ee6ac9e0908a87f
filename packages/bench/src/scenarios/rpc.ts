/**
 * RPC: 100 connections, each keeping 10 `echo` emits outstanding (a new one is sent as
 * soon as one is answered). After a warm-up (`phaseTiming`), requests/s, latency p50/p99 and server CPU
 * per request over a fixed window. Each answer must carry the data sent with its cid;
 * unanswered requests count as lost, answers to unknown cids as duplicated. Answers
 * arriving out of cid order are reported but allowed: acks are not ordered by protocol.
 */
import { Samples } from "../loadgen/percentile.js"
import { openClients, readInteger, type ScClient, ScProtocolError } from "../loadgen/sc-client.js"
import { emptyIntegrity } from "../loadgen/sequence-tracker.js"
import { Countdown, delay, phaseTiming, type Scenario } from "./scenario.js"

const connections = 100
const outstandingPerConnection = 10
const echoedKey = Buffer.from('"n":')

export const rpcScenario: Scenario = {
  id: "rpc",
  title: `RPC ${connections} connections × ${outstandingPerConnection} outstanding echo acks`,
  figures: [
    { key: "requestsPerSecond", label: "requests/s", unit: "/s", better: "higher" },
    { key: "latencyP50Ms", label: "latency p50", unit: "ms", better: "lower" },
    { key: "latencyP99Ms", label: "latency p99", unit: "ms", better: "lower" },
    { key: "cpuPerRequestMicros", label: "server CPU per request", unit: "µs", better: "lower" }
  ],
  run: async (target, { quick, protocol }) => {
    const clients = await openClients(target.port, target.path, connections, connections, protocol)
    const latencies = new Samples()
    const answered = new Countdown()
    let sent = 0
    let open = true
    let measuring = false
    let completedInWindow = 0
    let wrongData = 0
    let outOfOrder = 0

    const fire = (client: ScClient, order: { lastRid: number }): void => {
      const sentAt = performance.now()
      sent++
      client.request(
        "echo",
        (cid) => `{"n":${cid}}`,
        (payload, failed) => {
          const rid = readInteger(payload, 7)
          const echoedAt = payload.lastIndexOf(echoedKey)
          if (failed || echoedAt === -1 || readInteger(payload, echoedAt + echoedKey.length) !== rid) wrongData++
          if (rid < order.lastRid) outOfOrder++
          order.lastRid = rid
          if (measuring) {
            completedInWindow++
            latencies.add(performance.now() - sentAt)
          }
          answered.add()
          if (open) fire(client, order)
        }
      )
    }
    for (const client of clients) {
      const order = { lastRid: 0 }
      for (let k = 0; k < outstandingPerConnection; k++) fire(client, order)
    }

    const { warmUpMs, windowMs } = phaseTiming(quick)
    await delay(warmUpMs)
    const cpuBefore = await target.cpuMicros()
    measuring = true
    const started = performance.now()
    await delay(windowMs)
    measuring = false
    const seconds = (performance.now() - started) / 1000
    const cpuAfter = await target.cpuMicros()
    open = false
    await answered.reach(sent, 10000)

    if (wrongData > 0) throw new ScProtocolError(`${wrongData} echo answers failed or carried another request's data`)
    const integrity = emptyIntegrity()
    integrity.lost = sent - answered.count
    for (const client of clients) client.close()
    return {
      metrics: {
        requestsPerSecond: completedInWindow / seconds,
        latencyP50Ms: latencies.quantile(0.5),
        latencyP99Ms: latencies.quantile(0.99),
        cpuPerRequestMicros: (cpuAfter - cpuBefore) / completedInWindow
      },
      integrity,
      notes: outOfOrder > 0 ? [`${outOfOrder} answers arrived out of cid order`] : []
    }
  }
}
