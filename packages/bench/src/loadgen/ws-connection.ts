/**
 * A minimal WebSocket client over a raw TCP socket, just enough for load: the HTTP
 * upgrade, unfragmented text frames in, masked text frames out. It exists because the
 * load generator must stay cheaper than the servers it measures; `ws` and the real
 * client allocate far more per socket and per frame.
 *
 * Writes are corked per socket and uncorked on the next tick, so the frames a handler
 * sends in reaction to one read leave in one write system call.
 *
 * Reads bypass the stream machinery (`net.connect`'s `onread`): every socket reads into
 * one shared buffer, parsed synchronously in the read callback, so a read costs a
 * callback instead of a chunk allocation, a `Readable.push` and a `data` event. With
 * thousands of sockets each getting one frame (fan-out at a fixed rate), the generator's
 * per-read cost otherwise adds up to most of the measured latency of a fast server.
 */
import { createHash } from "node:crypto"
import * as net from "node:net"

/** Fails the run: a target broke the WebSocket framing or the upgrade. */
export class WsProtocolError extends Error {
  override readonly name = "WsProtocolError"
}

const key = "ZWZmZWN0LWJlbmNoLWtleQ=="
const expectedAccept = createHash("sha1").update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest("base64")

/** Framing errors seen since the last reset; a scenario fails when it is not empty. */
export const framingErrors: Array<string> = []

const corked: Array<WsConnection> = []
let uncorkScheduled = false
const uncorkAll = (): void => {
  uncorkScheduled = false
  for (const connection of corked) {
    connection.corked = false
    connection.socket.uncork()
  }
  corked.length = 0
}

/** One client WebSocket. `onText` receives each text frame's payload (a view, valid during the call). */
export class WsConnection {
  corked = false
  onText: (payload: Buffer) => void = () => {}
  onClose: () => void = () => {}
  private pending: Buffer | null = null
  closed = false

  constructor(readonly socket: net.Socket) {
    socket.on("close", () => {
      this.closed = true
      this.onClose()
    })
  }

  /** Sends one text frame, masked with a zero key (valid per RFC 6455 and free to apply). */
  sendText(text: string): void {
    if (this.closed) return
    const length = Buffer.byteLength(text)
    const header = length < 126 ? 6 : length < 65536 ? 8 : 14
    const frame = Buffer.allocUnsafe(header + length)
    frame[0] = 0x81
    if (length < 126) {
      frame[1] = 0x80 | length
    } else if (length < 65536) {
      frame[1] = 0x80 | 126
      frame.writeUInt16BE(length, 2)
    } else {
      frame[1] = 0x80 | 127
      frame.writeUInt32BE(Math.floor(length / 2 ** 32), 2)
      frame.writeUInt32BE(length >>> 0, 6)
    }
    frame.writeUInt32BE(0, header - 4)
    frame.write(text, header)
    this.write(frame)
  }

  close(): void {
    this.closed = true
    this.socket.destroy()
  }

  private write(frame: Buffer): void {
    if (!this.corked) {
      this.corked = true
      this.socket.cork()
      corked.push(this)
      if (!uncorkScheduled) {
        uncorkScheduled = true
        process.nextTick(uncorkAll)
      }
    }
    this.socket.write(frame)
  }

  /** Takes one read: `chunk` is a view of the shared read buffer, valid during the call only. */
  read(chunk: Buffer): void {
    try {
      this.receive(chunk)
    } catch (error) {
      framingErrors.push(String(error))
      this.close()
    }
  }

  private receive(chunk: Buffer): void {
    const buffer = this.pending === null ? chunk : Buffer.concat([this.pending, chunk])
    let offset = 0
    while (buffer.length - offset >= 2) {
      const b0 = buffer[offset]!
      const b1 = buffer[offset + 1]!
      let length = b1 & 0x7f
      let header = 2
      if (length === 126) {
        if (buffer.length - offset < 4) break
        length = buffer.readUInt16BE(offset + 2)
        header = 4
      } else if (length === 127) {
        if (buffer.length - offset < 10) break
        length = buffer.readUInt32BE(offset + 2) * 2 ** 32 + buffer.readUInt32BE(offset + 6)
        header = 10
      }
      if ((b1 & 0x80) !== 0) throw new WsProtocolError("server sent a masked frame")
      if (buffer.length - offset < header + length) break
      const payload = buffer.subarray(offset + header, offset + header + length)
      offset += header + length
      const opcode = b0 & 0x0f
      if ((b0 & 0x80) === 0 || opcode === 0) throw new WsProtocolError("fragmented frames are not expected")
      if (opcode === 1 || opcode === 2) this.onText(payload)
      else if (opcode === 8) {
        this.close()
        return
      } else if (opcode === 9) this.sendControl(0x8a, payload)
    }
    // A partial frame is kept as a copy: it is small and must outlive this chunk.
    this.pending = offset === buffer.length ? null : Buffer.from(buffer.subarray(offset))
  }

  private sendControl(firstByte: number, payload: Buffer): void {
    const frame = Buffer.allocUnsafe(6 + payload.length)
    frame[0] = firstByte
    frame[1] = 0x80 | payload.length
    frame.writeUInt32BE(0, 2)
    payload.copy(frame, 6)
    this.write(frame)
  }
}

// One buffer for every socket's reads: each read is parsed before the next one starts.
const readBuffer = Buffer.allocUnsafe(256 * 1024)

/**
 * Where a connection comes from: another loopback address (127.0.0.x), for more
 * connections than one address has ephemeral ports, and the source port to bind.
 *
 * The port is chosen by the caller because binding to an address with port 0 makes the
 * kernel search its bind table for a free port on every connect, a search that grows with
 * the sockets already bound there: 16,000 connections from one address took 34 s (31 s of
 * it system CPU in the load process) with kernel-chosen ports and 2 s with explicit ones.
 */
export interface Source {
  readonly address: string
  readonly port: number
}

/**
 * Opens a TCP connection to 127.0.0.1:`port` and performs the WebSocket upgrade on `path`,
 * from `source` when given (else from 127.0.0.1 and a port the kernel picks at connect).
 */
export const connectWebSocket = (port: number, path: string, source?: Source): Promise<WsConnection> =>
  new Promise((resolve, reject) => {
    let connection: WsConnection | undefined
    let head = Buffer.alloc(0)
    let failed = false
    const fail = (error: Error): void => {
      failed = true
      socket.destroy()
      reject(error)
    }
    // The HTTP response, then (once upgraded) frames: both arrive through `onread`.
    const onRead = (length: number, buffer: Buffer): boolean => {
      const chunk = buffer.subarray(0, length)
      if (connection !== undefined) {
        connection.read(chunk)
        return true
      }
      if (failed) return false
      head = Buffer.concat([head, chunk])
      const end = head.indexOf("\r\n\r\n")
      if (end === -1) return true
      socket.off("error", fail)
      const response = head.subarray(0, end).toString("latin1")
      if (!response.startsWith("HTTP/1.1 101") || !response.includes(expectedAccept)) {
        fail(new WsProtocolError(`upgrade refused: ${response.split("\r\n")[0]}`))
        return false
      }
      socket.on("error", () => {})
      const upgraded = new WsConnection(socket)
      resolve(upgraded)
      const rest = Buffer.from(head.subarray(end + 4))
      // Frames that arrived with the 101 are replayed once the caller has installed its
      // handlers; later reads wait behind them (the socket is paused until then).
      if (rest.length === 0) connection = upgraded
      else {
        socket.pause()
        setImmediate(() => {
          connection = upgraded
          upgraded.read(rest)
          socket.resume()
        })
      }
      return true
    }
    const socket = net.connect({
      port,
      host: "127.0.0.1",
      noDelay: true,
      onread: { buffer: readBuffer, callback: onRead },
      ...(source === undefined ? {} : { localAddress: source.address, localPort: source.port })
    })
    socket.on("error", fail)
    socket.on("connect", () => {
      socket.write(
        `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`
      )
    })
  })
