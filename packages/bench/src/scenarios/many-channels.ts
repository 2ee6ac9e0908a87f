/**
 * Many channels: 1,000 sockets each subscribe to 10 distinct channels (10,000 channels,
 * one subscriber each), at most 1,000 subscribes in flight. The first pass gives heap and
 * RSS per channel (full GC before and after); every channel is then unsubscribed and the
 * passes after it, on warm code (see `phaseTiming` and `timeSubscribePasses`), give
 * subscribes/s and server CPU per subscribe. Then one publisher
 * publishes round-robin over all channels, a closed loop keeping 2,000 deliveries in
 * flight: publish→delivery/s and server CPU per delivery. Each channel checks its
 * sequence numbers, and a delivery reaching a socket not subscribed to its channel
 * counts as duplicated.
 */

import { inFlightPool } from "../loadgen/in-flight-pool.js"
import { openClient, openClients, type ScClient } from "../loadgen/sc-client.js"
import { addTracker, emptyIntegrity, SequenceTracker } from "../loadgen/sequence-tracker.js"
import { ClosedLoop, Countdown, gcNote, loadNote, type Scenario, syscallNote, timeSubscribePasses } from "./scenario.js"

const sockets = 1000
const channelsPerSocket = 10
const channels = sockets * channelsPerSocket
const deliveriesInFlight = 2000

export const manyChannelsScenario: Scenario = {
  id: "many-channels",
  title: `${channels.toLocaleString("en-US")} channels, one subscriber each`,
  figures: [
    { key: "subscribesPerSecond", label: "subscribes/s", unit: "/s", better: "higher" },
    { key: "cpuPerSubscribeMicros", label: "server CPU per subscribe", unit: "µs", better: "lower" },
    { key: "heapPerChannelBytes", label: "heap per channel", unit: "B", better: "lower" },
    { key: "rssPerChannelBytes", label: "RSS per channel", unit: "B", better: "lower" },
    { key: "deliveriesPerSecond", label: "publish→delivery/s", unit: "/s", better: "higher" },
    { key: "cpuPerDeliveryMicros", label: "server CPU per delivery", unit: "µs", better: "lower" }
  ],
  run: async (target, { quick, protocol }) => {
    const clients = await openClients(target.port, target.path, sockets, 200, protocol)
    const publisher = await openClient(target.port, target.path, protocol)
    const trackers = Array.from({ length: channels }, () => new SequenceTracker())
    const deliveries = new Countdown()
    let misrouted = 0
    const maxRate = new ClosedLoop(() => {
      while (published - deliveries.count < deliveriesInFlight) {
        const channel = cursor
        cursor = (cursor + 1) % channels
        publisher.publish(`ch${channel}`, `{"c":${channel},"s":${publishedPerChannel[channel]!++}}`)
        published++
      }
    })
    clients.forEach((client, index) => {
      client.onDelivery = (channel, sequence) => {
        if (Math.floor(channel / channelsPerSocket) === index) trackers[channel]?.accept(sequence)
        else misrouted++
        deliveries.add()
        maxRate.pump()
      }
    })

    const clientOf = (channel: number): ScClient => clients[Math.floor(channel / channelsPerSocket)]!
    const subscribeAll = () => inFlightPool(channels, 1000, (channel) => clientOf(channel).subscribe(`ch${channel}`))
    const unsubscribeAll = () =>
      inFlightPool(channels, 1000, (channel) => clientOf(channel).unsubscribe(`ch${channel}`))
    const memoryBefore = await target.memory()
    await subscribeAll()
    const memoryAfter = await target.memory()
    await unsubscribeAll()
    const subscribed = await timeSubscribePasses(target, quick, subscribeAll, unsubscribeAll)
    const subscribes = subscribed.passes * channels

    const publishedPerChannel = new Uint32Array(channels)
    let published = 0
    let cursor = 0
    const {
      delivered,
      seconds: publishSeconds,
      cpuMicros: publishCpu,
      loadMicros: publishLoad,
      syscallsBefore,
      syscallsAfter
    } = await maxRate.measure(target, deliveries, quick, () => published)

    const integrity = emptyIntegrity()
    for (const [channel, tracker] of trackers.entries()) addTracker(integrity, tracker, publishedPerChannel[channel]!)
    integrity.duplicated += misrouted
    publisher.close()
    for (const client of clients) client.close()
    return {
      metrics: {
        subscribesPerSecond: subscribes / subscribed.seconds,
        cpuPerSubscribeMicros: subscribed.cpuMicros / subscribes,
        heapPerChannelBytes: (memoryAfter.heapUsed - memoryBefore.heapUsed) / channels,
        rssPerChannelBytes: (memoryAfter.rss - memoryBefore.rss) / channels,
        deliveriesPerSecond: delivered / publishSeconds,
        cpuPerDeliveryMicros: publishCpu / delivered
      },
      integrity,
      notes: [
        loadNote("subscribe", subscribed.loadMicros, subscribed.seconds, subscribes, "subscribe"),
        loadNote("publish", publishLoad, publishSeconds, delivered, "delivery"),
        gcNote("subscribe", subscribed.gc.before, subscribed.gc.after, subscribes, "subscribe"),
        syscallNote("subscribe", subscribed.syscalls?.before, subscribed.syscalls?.after, subscribes, "subscribe"),
        syscallNote("publish", syscallsBefore, syscallsAfter, delivered, "delivery")
      ].filter((note) => note !== undefined)
    }
  }
}
