/**
 * What the socket writer takes: a text frame, a binary frame, or text already encoded to
 * UTF-8 (fan-out encodes a publication once and hands the same bytes to every subscriber).
 */

/**
 * A text frame already encoded to UTF-8: fan-out encodes a publication once and hands
 * the same bytes to every subscriber, so `ws` does not re-encode the string per socket.
 */
export class EncodedText {
  constructor(readonly bytes: Buffer) {}
}

/** What the socket writer takes: a text frame, a binary frame, or pre-encoded text. */
export type Frame = string | Uint8Array | EncodedText
