/**
 * A socket's outbound writer: every frame goes through `writeFrame`, which holds frames
 * while a `#setAuthToken` is being signed, coalesces the frames written to one socket
 * within one event-loop turn into one system call (`coalesceWrites`), and applies the
 * slow-consumer policy to publications (`writePublication`).
 */
import { type Cid, json } from "@effect-socketcluster/protocol"
import * as Congestion from "./Congestion.js"
import { EncodedText, type Frame } from "./Frame.js"
import { SLOW_CONSUMER_CLOSE_CODE } from "./SCSocket.js"
import { hasCid, type SocketCore } from "./SocketCore.js"
import { toWireError } from "./WireError.js"

const TEXT = { binary: false } as const
const BINARY = { binary: true } as const
export function writePublication(s: SocketCore, channel: string, frame: Frame | undefined): void {
  if (frame === undefined) return
  if (s.holds > 0 || s.replaying || s.ws.readyState !== 1) return writeFrame(s, frame)
  const buffered = s.ws.bufferedAmount
  if (buffered > s.host.options.outboundHighWaterMark) {
    // Congested but not stalled: written all the same, its publishers wait (see `Congestion`).
    if (buffered <= s.host.options.maxOutboundBuffer && Congestion.carry(s, channel)) return transmit(s, frame)
    if (s.host.options.slowConsumerPolicy === "disconnect") {
      // Over maxOutboundBuffer even the #disconnect frame does not fit: drop the connection (counted there).
      if (buffered > s.host.options.maxOutboundBuffer) return outboundOverflow(s)
      s.host.slowConsumerDisconnected(s)
      s.disconnectUnsafe(SLOW_CONSUMER_CLOSE_CODE, "Slow consumer: outbound buffer over limit")
    } else {
      s.host.droppedPublication(s)
      Congestion.dropped(s)
    }
    return
  }
  // Under the high-water mark, hence under maxOutboundBuffer: straight to the wire.
  transmit(s, frame)
}

export function respond(s: SocketCore, cid: Cid | undefined, error: unknown, data: unknown): void {
  if (!hasCid(cid)) return
  // The bare ack of a subscribe, publish or unsubscribe: what the JSON codec would make, without building an object to encode.
  if (
    (error === undefined || error === null) &&
    data === undefined &&
    typeof cid === "number" &&
    s.host.codec() === json
  ) {
    writeFrame(s, `{"rid":${cid}}`)
    return
  }
  if (error === undefined || error === null)
    return sendObject(s, data === undefined ? { rid: cid } : { rid: cid, data })
  const obj: Record<string, unknown> = { rid: cid, error: toWireError(error) }
  if (data !== undefined) obj.data = data
  sendObject(s, obj)
}

export function encode(s: SocketCore, obj: unknown): string | Uint8Array | undefined {
  try {
    return s.host.codec().encode(obj)
  } catch (error) {
    s.emitError(error)
    return undefined
  }
}

/** Encodes and writes one packet; an encode error is reported on the socket and nothing is sent. */
export function sendObject(s: SocketCore, obj: unknown): void {
  const frame = encode(s, obj)
  if (frame !== undefined) writeFrame(s, frame)
}

export function queueBatch(s: SocketCore, obj: object): void {
  if (s.batch === undefined) {
    s.batch = []
    const flush = () => {
      const batch = s.batch
      s.batch = undefined
      if (batch !== undefined && batch.length > 0) sendObject(s, batch)
    }
    const delay = s.host.options.pubSubBatchDuration
    if (delay === null || delay === 0) setImmediate(flush)
    else setTimeout(flush, delay)
  }
  s.batch.push(obj)
}

/** Writes one frame, holding it while a `#setAuthToken` is being signed. */
export function writeFrame(s: SocketCore, frame: Frame): void {
  if (s.holds > 0) {
    if (s.held === undefined) s.held = []
    s.held.push(frame)
    return
  }
  const ws = s.ws
  if (ws.readyState !== 1) return
  if (ws.bufferedAmount > s.host.options.maxOutboundBuffer) return outboundOverflow(s)
  transmit(s, frame)
}

// The write itself: cork on the first frame of this event-loop turn (coalescing), count, send.
export function transmit(s: SocketCore, frame: Frame): void {
  const ws = s.ws
  const options = s.host.options
  if (options.coalesceWrites && !s.corked) {
    const raw = ws.tcpSocket
    if (raw !== undefined) {
      raw.cork()
      s.corked = true
      s.host.scheduleUncork(s)
    }
  }
  const counters = s.host.counters
  counters.messagesOut++
  // Without permessage-deflate no extension can be negotiated, so what ws.send would
  // write for a text frame (an unmasked, uncompressed final frame) is exactly
  // `EncodedText.wire`: one buffer, one write. A publication's is shared by every
  // subscriber; a string (an answer, an event) is framed here in one allocation, where
  // ws.send would allocate a header and write it and the string separately.
  const raw = options.perMessageDeflate === false ? ws.tcpSocket : undefined
  if (typeof frame === "string") {
    if (raw !== undefined) {
      const text = EncodedText.of(frame)
      counters.bytesOut += text.bytes.length
      raw.write(text.wire)
    } else {
      counters.bytesOut += Buffer.byteLength(frame)
      ws.send(frame, TEXT)
    }
  } else if (frame instanceof EncodedText) {
    counters.bytesOut += frame.bytes.length
    if (raw !== undefined) raw.write(frame.wire)
    else ws.send(frame.bytes, TEXT)
  } else {
    counters.bytesOut += frame.byteLength
    ws.send(frame, BINARY)
  }
}

// The peer stopped reading and even frames that cannot be dropped (answers, emits) no
// longer fit: close at once (4010) and drop the connection, because a close frame queued
// behind the full buffer would keep it alive until ws's 30 s close timeout.
export function outboundOverflow(s: SocketCore): void {
  if (s.state === "closed") return
  s.host.slowConsumerDisconnected(s)
  s.closeUnsafe(SLOW_CONSUMER_CLOSE_CODE, "Slow consumer: outbound buffer over maxOutboundBuffer", false)
  s.ws.terminate()
}

/** @internal flushes corked writes. */
export function flush(s: SocketCore): void {
  if (!s.corked) return
  s.corked = false
  s.ws.tcpSocket?.uncork()
}

export function releaseHeld(s: SocketCore): void {
  if (s.holds > 0) return
  const held = s.held
  s.held = undefined
  if (held !== undefined) for (const frame of held) writeFrame(s, frame)
}
