/**
 * One open WebSocket of a client, after its handshake: packets are encoded once and
 * written straight to the socket.
 */
import type { CodecEngine } from "@effect-socketcluster/protocol"
import type * as Socket from "effect/socket/Socket"

export class Link {
  /** `#disconnect` packet (v1) seen just before the close frame. */
  disconnectPacket: { readonly code: number | undefined; readonly data: unknown } | undefined
  /** How long the link may stay silent before the client closes it with 4000. */
  pingTimeoutMillis: number

  constructor(
    readonly ws: Socket.WebSocketLike,
    readonly codec: CodecEngine,
    readonly protocolVersion: 1 | 2,
    connectTimeoutMillis: number
  ) {
    this.pingTimeoutMillis = connectTimeoutMillis
  }

  /** Writes one packet; `false` when it could not be encoded or the socket refused it. */
  send(packet: unknown): boolean {
    try {
      this.ws.send(this.codec.encode(packet) as string | Uint8Array<ArrayBuffer>)
      return true
    } catch {
      return false
    }
  }

  /** Writes a frame as is (pongs). */
  sendRaw(frame: string): void {
    try {
      this.ws.send(frame)
    } catch {
      // a closing socket: the read side reports the close
    }
  }

  /** Closes the way the protocol version does: v1 sends `#disconnect` first (spec §11.2). */
  close(code: number, reason?: string): void {
    if (this.protocolVersion === 1 && this.ws.readyState === 1) {
      this.send(
        reason === undefined
          ? { event: "#disconnect", data: { code } }
          : { event: "#disconnect", data: { code, data: reason } }
      )
    }
    try {
      this.ws.close(code, reason)
    } catch {
      this.ws.close()
    }
  }
}
