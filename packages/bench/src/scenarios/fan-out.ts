/**
 * Fan-out: S subscribers on one channel, one publisher (a separate socket).
 * Phase 1, fixed rate: `rate` publications/s (well below every target's capacity),
 *   latency from the publish write to each delivery, p50 and p99 over all deliveries.
 * Phase 2, max rate: a closed loop keeping 20 publications in flight (20 × S deliveries);
 *   deliveries/s from the first publish to the last delivery, server CPU per delivery.
 *   (A window of ~20,000 deliveries, i.e. 4 publications at 5,000 subscribers, left too
 *   little for any server to coalesce: the bare ws reference with coalesced writes reached
 *   353k there against the 0.9M, and 963k with 20 publications in flight.)
 * Every subscriber checks the sequence numbers of both phases.
 */
import { Samples } from "../loadgen/percentile.js"
import { openClient, openClients } from "../loadgen/sc-client.js"
import { addTracker, emptyIntegrity, SequenceTracker } from "../loadgen/sequence-tracker.js"
import { ClosedLoop, Countdown, delay, gcNote, loadNote, type Scenario } from "./scenario.js"

/** `window`: publications kept in flight in the max-rate phase (20 in the main benchmark). */
export const fanOutScenario = (subscribers: number, ratePerSecond: number, window = 20): Scenario => ({
  id: `fan-out-${subscribers}`,
  title: `Fan-out to ${subscribers.toLocaleString("en-US")} subscribers`,
  figures: [
    { key: "latencyP50Ms", label: `latency p50 at ${ratePerSecond} pub/s`, unit: "ms", better: "lower" },
    { key: "latencyP99Ms", label: `latency p99 at ${ratePerSecond} pub/s`, unit: "ms", better: "lower" },
    { key: "deliveriesPerSecond", label: "max deliveries/s", unit: "/s", better: "higher" },
    { key: "cpuPerDeliveryMicros", label: "server CPU per delivery", unit: "µs", better: "lower" }
  ],
  run: async (target, { quick, protocol }) => {
    const clients = await openClients(target.port, target.path, subscribers, 200, protocol)
    const publisher = await openClient(target.port, target.path, protocol)
    const trackers = clients.map(() => new SequenceTracker())
    const deliveries = new Countdown()
    const latencies = new Samples()
    const sentAt: Array<number> = []
    let recordLatency = true
    const maxRate = new ClosedLoop(() => {
      while (published * subscribers - deliveries.count < window * subscribers) publish()
    })
    clients.forEach((client, index) => {
      const tracker = trackers[index]!
      client.onDelivery = (_channel, sequence) => {
        tracker.accept(sequence)
        if (recordLatency) latencies.add(performance.now() - (sentAt[sequence] ?? Number.NaN))
        deliveries.add()
        maxRate.pump()
      }
    })
    await Promise.all(clients.map((client) => client.subscribe("fan")))

    let published = 0
    const publish = (): void => {
      sentAt[published] = performance.now()
      publisher.publish("fan", `{"c":0,"s":${published}}`)
      published++
    }

    const fixedSeconds = quick ? 2 : 4
    const interval = 1000 / ratePerSecond
    const gcBefore = await target.gcPauses()
    const fixedStart = performance.now()
    for (let k = 0; k < ratePerSecond * fixedSeconds; k++) {
      const wait = fixedStart + k * interval - performance.now()
      if (wait > 0) await delay(wait)
      publish()
    }
    await deliveries.reach(published * subscribers, 10000)
    recordLatency = false
    const gcAfter = await target.gcPauses()

    const {
      delivered,
      seconds,
      cpuMicros,
      loadMicros: load
    } = await maxRate.measure(target, deliveries, quick, () => published * subscribers)

    const integrity = emptyIntegrity()
    for (const tracker of trackers) addTracker(integrity, tracker, published)
    publisher.close()
    for (const client of clients) client.close()
    return {
      metrics: {
        latencyP50Ms: latencies.quantile(0.5),
        latencyP99Ms: latencies.quantile(0.99),
        deliveriesPerSecond: delivered / seconds,
        cpuPerDeliveryMicros: cpuMicros / delivered,
        loadCpuPerDeliveryMicros: load / delivered
      },
      integrity,
      notes: [
        // The p99 of the fixed-rate phase is as long as its longest server pause.
        gcNote("fixed-rate", gcBefore, gcAfter, published * subscribers, "delivery"),
        loadNote("max-rate", load, seconds, delivered, "delivery")
      ]
    }
  }
})
