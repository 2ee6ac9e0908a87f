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
 * count of dropped publications when it ends). A publication with no publisher in this
 * process to hold back (a server publication, or one from a remote broker) that finds a
 * subscriber over the mark gets the policy at once, as before there was flow control.
 */
import type { Socket } from "node:net"
import { type CongestionEpisode, resumeIfDue, type SocketCore, type SocketHost } from "./SocketCore.js"

/**
 * The socket whose `#publish` is being handed to the broker right now (set around that
 * call by the publishing socket). With an in-process broker the deliveries happen inside
 * that call, so a congested subscriber knows whom to hold back.
 */
export const publishing: { socket: SocketCore | undefined } = { socket: undefined }

// The publishers each server holds back, created on the first hold.
const held = new WeakMap<SocketHost, Set<SocketCore>>()

/**
 * A publication for `s` found its buffer over the high-water mark. True: write it (the
 * socket is congested and its publisher now waits); false: the policy applies (it is
 * stalled, or there is no publisher in this process to hold back).
 */
export const carry = (s: SocketCore): boolean => {
  const episode = s.congestion ?? begin(s)
  if (episode === undefined || episode.stalled) return false
  const publisher = publishing.socket
  if (publisher === undefined) {
    stall(s)
    return false
  }
  hold(publisher)
  return true
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

const begin = (s: SocketCore): CongestionEpisode | undefined => {
  const raw = (s.ws as unknown as { readonly _socket?: Socket })._socket
  if (raw === undefined) return undefined
  const onDrain = () => finish(s, "CaughtUp")
  const episode: CongestionEpisode = {
    stalled: false,
    dropped: 0,
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
