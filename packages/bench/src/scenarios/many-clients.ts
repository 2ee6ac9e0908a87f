/**
 * Many clients, many channels: 2,000 sockets, 10,000 channels, every channel with two
 * subscribers and one publishing socket, all spread over the sockets (each socket holds
 * 10 subscriptions and publishes on 5 channels), so subscriptions, publications and
 * deliveries all come from and go to many sockets at once.
 *
 * Phase 1: 20,000 subscribes, at most 1,000 in flight: subscribes/s, server CPU per subscribe
 *   (timed on the passes after the same subscribes and their unsubscribes untimed: see
 *   `timeSubscribePasses`).
 * Phase 2, fixed rate: 2,500 publications/s round-robin over the channels (5,000
 *   deliveries/s, below every target's capacity), latency p50/p99 from the publish write
 *   to each delivery.
 * Phase 3, max rate: a closed loop keeping 4,000 deliveries in flight: publish→delivery/s
 *   and server CPU per delivery.
 *
 * A channel is published by one socket only, so its publications have one order to keep:
 * each subscription checks its channel's sequence numbers, and a delivery reaching a
 * socket not subscribed to its channel counts as duplicated.
 */

import { inFlightPool } from "../loadgen/in-flight-pool.js"
import { Samples } from "../loadgen/percentile.js"
import { openClients, type ScClient } from "../loadgen/sc-client.js"
import { addTracker, emptyIntegrity, SequenceTracker } from "../loadgen/sequence-tracker.js"
import {
  ClosedLoop,
  Countdown,
  delay,
  gcNote,
  loadCpuMicros,
  loadNote,
  type Scenario,
  syscallNote,
  timeSubscribePasses
} from "./scenario.js"

const sockets = 2000
const channels = 10000
const subscribesInFlight = 1000
const fixedRate = 2500
const deliveriesInFlight = 4000

// Who subscribes to and publishes on channel c. Each map is 5-to-1 onto the sockets
// (multipliers coprime with 2,000), and the two subscribers differ (6c + 1 is odd).
const firstSubscriber = (c: number): number => c % sockets
const secondSubscriber = (c: number): number => (7 * c + 1) % sockets
const publisherOf = (c: number): number => (3 * c + 5) % sockets

export const manyClientsScenario: Scenario = {
  id: "many-clients",
  title: `${sockets.toLocaleString("en-US")} clients × ${channels.toLocaleString("en-US")} channels, subscriptions and publications spread`,
  figures: [
    { key: "subscribesPerSecond", label: "subscribes/s", unit: "/s", better: "higher" },
    { key: "cpuPerSubscribeMicros", label: "server CPU per subscribe", unit: "µs", better: "lower" },
    { key: "latencyP50Ms", label: `latency p50 at ${fixedRate} pub/s`, unit: "ms", better: "lower" },
    { key: "latencyP99Ms", label: `latency p99 at ${fixedRate} pub/s`, unit: "ms", better: "lower" },
    { key: "deliveriesPerSecond", label: "publish→delivery/s", unit: "/s", better: "higher" },
    { key: "cpuPerDeliveryMicros", label: "server CPU per delivery", unit: "µs", better: "lower" }
  ],
  run: async (target, { quick, protocol }) => {
    const clients = await openClients(target.port, target.path, sockets, 200, protocol)
    // Two trackers per channel: [2c] for its first subscriber, [2c + 1] for its second.
    const trackers = Array.from({ length: 2 * channels }, () => new SequenceTracker())
    const deliveries = new Countdown()
    const latencies = new Samples()
    const fixedPublications = fixedRate * (quick ? 2 : 4)
    const fixedPerChannel = Math.ceil(fixedPublications / channels)
    const sentAt = new Float64Array(channels * fixedPerChannel)
    let misrouted = 0
    const maxRate = new ClosedLoop(() => {
      while (2 * published - deliveries.count < deliveriesInFlight) publishNext()
    })
    clients.forEach((client, index) => {
      client.onDelivery = (channel, sequence) => {
        const replica = firstSubscriber(channel) === index ? 0 : secondSubscriber(channel) === index ? 1 : -1
        if (replica === -1) misrouted++
        else trackers[2 * channel + replica]?.accept(sequence)
        if (sequence < fixedPerChannel) latencies.add(performance.now() - sentAt[channel * fixedPerChannel + sequence]!)
        deliveries.add()
        maxRate.pump()
      }
    })

    // k-th subscription: channel k >> 1, its first subscriber for even k, its second for odd.
    const subscriberOf = (k: number): ScClient =>
      clients[(k & 1) === 0 ? firstSubscriber(k >> 1) : secondSubscriber(k >> 1)]!
    // An untimed pass first (subscribe everything, unsubscribe everything): the timed passes
    // run on warm code (see `phaseTiming`).
    await inFlightPool(2 * channels, subscribesInFlight, (k) => subscriberOf(k).subscribe(`mc${k >> 1}`))
    await inFlightPool(2 * channels, subscribesInFlight, (k) => subscriberOf(k).unsubscribe(`mc${k >> 1}`))
    const subscribed = await timeSubscribePasses(
      target,
      quick,
      () => inFlightPool(2 * channels, subscribesInFlight, (k) => subscriberOf(k).subscribe(`mc${k >> 1}`)),
      () => inFlightPool(2 * channels, subscribesInFlight, (k) => subscriberOf(k).unsubscribe(`mc${k >> 1}`))
    )
    const subscribes = subscribed.passes * 2 * channels

    const publishedPerChannel = new Uint32Array(channels)
    let published = 0
    let cursor = 0
    const publishNext = (): void => {
      const channel = cursor
      cursor = (cursor + 1) % channels
      const sequence = publishedPerChannel[channel]!++
      if (sequence < fixedPerChannel) sentAt[channel * fixedPerChannel + sequence] = performance.now()
      clients[publisherOf(channel)]!.publish(`mc${channel}`, `{"c":${channel},"s":${sequence}}`)
      published++
    }

    // Fixed rate: every millisecond or so, catch up with the publications due by now.
    // The server's CPU per delivery here (nothing to batch) is what each delivery's latency
    // pays on the server side, noted per round; with --cpu-prof this phase is profiled too.
    const gcBefore = await target.gcPauses()
    const fixedCpuBefore = await target.cpuMicros()
    const fixedSyscalls = target.syscalls()
    const fixedLoadBefore = loadCpuMicros()
    const fixedStart = performance.now()
    while (published < fixedPublications) {
      const due = Math.min(fixedPublications, Math.floor(((performance.now() - fixedStart) / 1000) * fixedRate))
      while (published < due) publishNext()
      await delay(1)
    }
    await deliveries.reach(2 * published, 10000)
    const fixedSeconds = (performance.now() - fixedStart) / 1000
    const fixedLoad = loadCpuMicros() - fixedLoadBefore
    const fixedDoneSyscalls = target.syscalls()
    const fixedCpu = (await target.cpuMicros()) - fixedCpuBefore
    const gcAfter = await target.gcPauses()

    const {
      delivered,
      seconds: publishSeconds,
      cpuMicros: publishCpu,
      loadMicros: publishLoad,
      syscallsBefore,
      syscallsAfter
    } = await maxRate.measure(target, deliveries, quick, () => 2 * published)

    const integrity = emptyIntegrity()
    for (const [k, tracker] of trackers.entries()) addTracker(integrity, tracker, publishedPerChannel[k >> 1]!)
    integrity.duplicated += misrouted
    for (const client of clients) client.close()
    return {
      metrics: {
        subscribesPerSecond: subscribes / subscribed.seconds,
        cpuPerSubscribeMicros: subscribed.cpuMicros / subscribes,
        latencyP50Ms: latencies.quantile(0.5),
        latencyP99Ms: latencies.quantile(0.99),
        deliveriesPerSecond: delivered / publishSeconds,
        cpuPerDeliveryMicros: publishCpu / delivered
      },
      integrity,
      notes: [
        loadNote("subscribe", subscribed.loadMicros, subscribed.seconds, subscribes, "subscribe"),
        loadNote("fixed-rate", fixedLoad, fixedSeconds, 2 * fixedPublications, "delivery"),
        // A diagnostic of the latency, not a figure (so not one of the targets).
        `server CPU ${(fixedCpu / (2 * fixedPublications)).toFixed(2)} µs per delivery in the fixed-rate phase`,
        gcNote("fixed-rate", gcBefore, gcAfter, 2 * fixedPublications, "delivery"),
        loadNote("publish", publishLoad, publishSeconds, delivered, "delivery"),
        gcNote("subscribe", subscribed.gc.before, subscribed.gc.after, subscribes, "subscribe"),
        syscallNote("subscribe", subscribed.syscalls?.before, subscribed.syscalls?.after, subscribes, "subscribe"),
        syscallNote("fixed-rate", fixedSyscalls, fixedDoneSyscalls, 2 * fixedPublications, "delivery"),
        syscallNote("publish", syscallsBefore, syscallsAfter, delivered, "delivery")
      ].filter((note) => note !== undefined)
    }
  }
}
