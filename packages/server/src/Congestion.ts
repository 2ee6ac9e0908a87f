/**
 * Flow control from subscribers back to publishers, within one process.
 *
 * A subscriber whose outbound buffer is over `outboundHighWaterMark` is *congested*: its
 * publications are still written (a burst is absorbed, nothing is lost), but a socket
 * whose `#publish` reached it is no longer read — TCP flow control pushes back to that
 * client — until every congested subscriber has drained its buffer. A subscriber that
 * stays congested for `slowConsumerTimeout` is *stalled*: it stops holding publishers
 * back, and its publications get `slowConsumerPolicy` (drop and count, or 4010) until it
 * drains. Each stall is reported with `SlowConsumer` events (when it starts, and with the
 * count of dropped publications when it ends).
 *
 * Which publisher to hold: with an in-process broker the deliveries happen inside the
 * publishing socket's `publish` call (`publishing`), so the publisher is known. A
 * publication with no publisher in this process (a server publication) that finds a
 * subscriber over the mark then gets the policy at once. With a remote broker (Redis)
 * every publication comes back asynchronously, from this process or another, so the
 * publisher is not known: the congested subscriber *marks* the channel instead, its
 * publications are still written (up to `maxOutboundBuffer`), and a local socket that
 * publishes to a marked channel is held at that publication (`publishingTo`) until the
 * congestion clears. Publishers elsewhere (other processes, `exchange.publish`) cannot
 * be held: the stall timeout and `maxOutboundBuffer` bound what they cost, then the policy.
 */
import { type CongestionEpisode, resumeIfDue, type SocketCore, type SocketHost } from "./SocketCore.js"

/**
 * The socket whose `#publish` is being handed to the broker right now (set around that
 * call by the publishing socket). With an in-process broker the deliveries happen inside
 * that call, so a congested subscriber knows whom to hold back.
 */
export const publishing: { socket: SocketCore | undefined } = { socket: undefined }

// The publishers each server holds back, created on the first hold.
const held = new WeakMap<SocketHost, Set<SocketCore>>()

// Per server, the channels marked by congested subscribers (remote broker), each with
// the number of episodes that marked it.
const marks = new WeakMap<SocketHost, Map<string, number>>()

/**
 * How many channels are marked, over every server in the process: the publish path
 * calls {@link publishingTo} only when this is not 0, so an uncongested server pays one
 * comparison per publication.
 */
export const marked = { channels: 0 }

/**
 * A publication on `channel` for `s` found its buffer over the high-water mark. True:
 * write it (the socket is congested and its publisher now waits, or with a remote broker
 * the channel is marked); false: the policy applies (it is stalled, or no publisher in
 * this process can be held back).
 */
export const carry = (s: SocketCore, channel: string): boolean => {
  const episode = s.congestion ?? begin(s)
  if (episode === undefined || episode.stalled) return false
  const publisher = publishing.socket
  if (publisher !== undefined) {
    hold(publisher)
    return true
  }
  // An in-process broker delivered it outside a socket's publish: no one to hold.
  if (s.host.broker.immediate !== undefined) {
    stall(s)
    return false
  }
  mark(s.host, episode, channel)
  return true
}

/**
 * `s` hands a publication on `channel` to a remote broker (called only while some
 * channel is {@link marked}): it is held when a congested local subscriber marked it.
 */
export const publishingTo = (s: SocketCore, channel: string): void => {
  if (marks.get(s.host)?.has(channel) === true) hold(s)
}

/** Counts a publication dropped for a stalled socket. */
export const dropped = (s: SocketCore): void => {
  if (s.congestion !== undefined) s.congestion.dropped++
}

/** The socket closed (called by its close sequence): its episode ends. */
export const closed = (s: SocketCore): void => finish(s, "Closed")

// Stops reading `publisher` until the congestion it ran into clears.
const hold = (publisher: SocketCore): void => {
  if (publisher.heldByCongestion || publisher.state === "closed") return
  publisher.heldByCongestion = true
  publisher.host.counters.publisherHolds++
  let waiting = held.get(publisher.host)
  if (waiting === undefined) {
    waiting = new Set()
    held.set(publisher.host, waiting)
  }
  waiting.add(publisher)
  if (!publisher.ws.isPaused) publisher.ws.pause()
}

const mark = (host: SocketHost, episode: CongestionEpisode, channel: string): void => {
  if (episode.channels === undefined) episode.channels = []
  else if (episode.channels.includes(channel)) return
  episode.channels.push(channel)
  let channels = marks.get(host)
  if (channels === undefined) {
    channels = new Map()
    marks.set(host, channels)
  }
  const n = channels.get(channel) ?? 0
  channels.set(channel, n + 1)
  if (n === 0) marked.channels++
}

const unmark = (host: SocketHost, episode: CongestionEpisode): void => {
  const mine = episode.channels
  const channels = marks.get(host)
  episode.channels = undefined
  if (mine === undefined || channels === undefined) return
  for (const channel of mine) {
    const n = (channels.get(channel) ?? 1) - 1
    if (n > 0) channels.set(channel, n)
    else if (channels.delete(channel)) marked.channels--
  }
}

const begin = (s: SocketCore): CongestionEpisode | undefined => {
  const raw = s.ws.tcpSocket
  if (raw === undefined) return undefined
  const onDrain = () => finish(s, "CaughtUp")
  const episode: CongestionEpisode = {
    stalled: false,
    dropped: 0,
    channels: undefined,
    timer: setTimeout(() => stall(s), s.host.options.slowConsumerTimeout),
    end: () => {
      clearTimeout(episode.timer)
      raw.off("drain", onDrain)
    }
  }
  raw.on("drain", onDrain)
  s.congestion = episode
  return episode
}

const stall = (s: SocketCore): void => {
  const episode = s.congestion
  if (episode === undefined || episode.stalled) return
  episode.stalled = true
  clearTimeout(episode.timer)
  unmark(s.host, episode)
  s.host.relay(s, { _tag: "SlowConsumer", phase: "Stalled", dropped: 0 })
  release(s.host)
}

const finish = (s: SocketCore, phase: "CaughtUp" | "Closed"): void => {
  const episode = s.congestion
  if (episode === undefined) return
  // `drain` also fires while still over the mark when a write left the buffer briefly
  // empty; only an emptied buffer ends the episode.
  if (phase === "CaughtUp" && s.ws.bufferedAmount > 0) return
  episode.end()
  unmark(s.host, episode)
  s.congestion = undefined
  if (episode.stalled) s.host.relay(s, { _tag: "SlowConsumer", phase, dropped: episode.dropped })
  release(s.host)
}

// Every waiting publisher reads again; one still running into congestion waits again
// after its next publication.
const release = (host: SocketHost): void => {
  const waiting = held.get(host)
  if (waiting === undefined || waiting.size === 0) return
  const publishers = Array.from(waiting)
  waiting.clear()
  for (const publisher of publishers) {
    publisher.heldByCongestion = false
    resumeIfDue(publisher)
  }
}
