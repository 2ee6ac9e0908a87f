/**
 * Options of `SCClient.connect` and their defaults.
 *
 * @since 0.1.0
 */
import { type CodecEngine, json } from "@effect-socketcluster/protocol"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Schedule from "effect/Schedule"

/**
 * @since 0.1.0
 */
export interface ClientOptions {
  /**
   * `1` (socketcluster-client 14: pings `#1`/`#2`, a `#disconnect` packet before closing)
   * or `2` (clients 15–20: empty-frame pings, the close frame only). Default `1`, which
   * SocketCluster 14 servers and this project's server understand; use `2` for
   * socketcluster-server 15–20.
   */
  readonly protocolVersion?: 1 | 2 | undefined
  /** How long `invoke`, `publish` and `authenticate` wait for an answer. Default 10 s. */
  readonly ackTimeout?: Duration.Input | undefined
  /** How long opening the WebSocket and the handshake may take. Default 20 s. */
  readonly connectTimeout?: Duration.Input | undefined
  /**
   * When to reconnect after a connection drops (or a connection attempt fails); its input
   * is the {@link Disconnect} that ended the last attempt. The schedule starts over after
   * each successful handshake. `false` never reconnects. Default: exponential from
   * 250 ms, doubling, capped at 30 s, with jitter.
   */
  readonly reconnect?: Schedule.Schedule<unknown, Disconnect> | false | undefined
  /** The codec (must match the server's). Default: the JSON codec of sc-formatter 3. */
  readonly codec?: CodecEngine | undefined
  /** Headers for the upgrade request (Node and Bun constructors only; browsers refuse them). */
  readonly headers?: Readonly<Record<string, string>> | undefined
}

/**
 * How a connection (or an attempt) ended.
 *
 * @since 0.1.0
 */
export interface Disconnect {
  readonly code: number
  readonly reason: string
}

/** @since 0.1.0 */
export interface ResolvedOptions {
  readonly protocolVersion: 1 | 2
  readonly ackTimeout: Duration.Duration
  readonly connectTimeout: Duration.Duration
  readonly reconnect: Schedule.Schedule<unknown, Disconnect> | false
  readonly codec: CodecEngine
  readonly headers: Readonly<Record<string, string>> | undefined
}

/**
 * The default reconnect schedule: 250 ms, 500 ms, 1 s, … up to 30 s between attempts,
 * each delay scaled by a random factor in [0.8, 1.2].
 *
 * @since 0.1.0
 */
export const defaultReconnect: Schedule.Schedule<unknown, Disconnect> = Schedule.exponential("250 millis", 2).pipe(
  Schedule.modifyDelay(({ duration }) => Effect.succeed(Duration.min(duration, Duration.seconds(30)))),
  Schedule.jittered
)

/** @since 0.1.0 */
export const resolve = (options: ClientOptions = {}): ResolvedOptions => ({
  protocolVersion: options.protocolVersion ?? 1,
  ackTimeout: Duration.fromInputUnsafe(options.ackTimeout ?? Duration.seconds(10)),
  connectTimeout: Duration.fromInputUnsafe(options.connectTimeout ?? Duration.seconds(20)),
  reconnect: options.reconnect ?? defaultReconnect,
  codec: options.codec ?? json,
  headers: options.headers
})
