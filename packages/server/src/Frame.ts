/**
 * What the socket writer takes: a text frame, a binary frame, or text already encoded to
 * UTF-8 (fan-out encodes a publication once and hands the same bytes to every subscriber).
 */

/**
 * A text frame already encoded to UTF-8: fan-out encodes a publication once and hands
 * the same bytes to every subscriber, so `ws` does not re-encode the string per socket.
 *
 * The bytes sit behind a complete, unmasked WebSocket text frame header (RFC 6455 §5.2)
 * in one allocation: `wire` is the frame as it goes on the TCP socket, so a subscriber's
 * delivery can be one write of the shared buffer instead of `ws.send` framing it again
 * (a header allocation and two writes per subscriber).
 */
export class EncodedText {
  /** The payload: the UTF-8 text. */
  readonly bytes: Buffer
  /** The whole frame: header and payload. */
  readonly wire: Buffer

  private constructor(wire: Buffer, headerLength: number) {
    this.wire = wire
    this.bytes = wire.subarray(headerLength)
  }

  /** Encodes `text` once, framed as a final, unmasked text frame. */
  static of(text: string): EncodedText {
    const length = Buffer.byteLength(text)
    const header = headerLength(length)
    const wire = Buffer.allocUnsafe(header + length)
    writeHeader(wire, length)
    wire.write(text, header, "utf8")
    return new EncodedText(wire, header)
  }

  /**
   * The `#publish` frame of data whose JSON is at hand (`Payload.plainJson`, which the memory
   * broker keeps as history, or the publisher's text through Redis): the envelope is written
   * around it and the data is not encoded again. Byte for byte what the default codec writes
   * for `{ event: "#publish", data: { channel, data } }`, or with `offset` (a safe integer,
   * as history offsets are) `{ event: "#publish", data: { channel, data, offset, epoch } }`.
   */
  static publication(channel: string, dataJson: string, offset?: number, epoch?: string): EncodedText {
    const channelJson = JSON.stringify(channel)
    // The position's keys in the order the codec would write them; `epoch: undefined` it leaves out.
    const tail =
      offset === undefined
        ? ""
        : epoch === undefined
          ? `,"offset":${offset}`
          : `,"offset":${offset},"epoch":${JSON.stringify(epoch)}`
    const length =
      publishHead.length +
      Buffer.byteLength(channelJson) +
      dataKey.length +
      Buffer.byteLength(dataJson) +
      Buffer.byteLength(tail) +
      2
    const header = headerLength(length)
    const wire = Buffer.allocUnsafe(header + length)
    writeHeader(wire, length)
    let at = header + publishHead.copy(wire, header)
    at += wire.write(channelJson, at, "utf8")
    at += dataKey.copy(wire, at)
    at += wire.write(dataJson, at, "utf8")
    if (tail !== "") at += wire.write(tail, at, "utf8")
    wire[at] = 125 // "}" closes data, then the packet
    wire[at + 1] = 125
    return new EncodedText(wire, header)
  }
}

const headerLength = (length: number): number => (length < 126 ? 2 : length < 65536 ? 4 : 10)

// A final, unmasked text frame's header (RFC 6455 §5.2) for a payload of `length` bytes.
const writeHeader = (wire: Buffer, length: number): void => {
  wire[0] = 0x81 // FIN, opcode 1 (text)
  if (length < 126) {
    wire[1] = length
  } else if (length < 65536) {
    wire[1] = 126
    wire.writeUInt16BE(length, 2)
  } else {
    wire[1] = 127
    wire.writeUInt32BE(Math.floor(length / 2 ** 32), 2)
    wire.writeUInt32BE(length >>> 0, 6)
  }
}

const publishHead = Buffer.from('{"event":"#publish","data":{"channel":')
const dataKey = Buffer.from(',"data":')

/** What the socket writer takes: a text frame, a binary frame, or pre-encoded text. */
export type Frame = string | Uint8Array | EncodedText
