/**
 * The server's metrics as Effect `Metric`s in a registry of their own, rendered in the
 * Prometheus text format by `PrometheusMetrics` (effect/observability).
 *
 * Gauges and the core's traffic counters are read when scraped (`Metric.registerUnsafe`);
 * events are counted from the server's synchronous event hub, so nothing is lost to a
 * buffer. Middleware rejections and RPC latency are measured around the middleware and
 * handlers the CLI installs ({@link ServerMetrics.countRejections}, {@link ServerMetrics.timeRpc}).
 */
import type { Middleware, SCServer, SCSocket } from "@effect-socketcluster/server"
import * as Cause from "effect/Cause"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Metric from "effect/Metric"
import * as PrometheusMetrics from "effect/observability/PrometheusMetrics"

/** Metric names start with this prefix (`socketcluster_connections`, ...). */
export const metricPrefix = "socketcluster"

const latencyBoundaries = [0.5, 1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000]

/**
 * A handler that answers at once (with an `Exit`) is timed for one request in this many;
 * each of the others counts in `rpc_duration_ms` as the last timed one. So the histogram's
 * `_count` is every request and its buckets and `_sum` are a 1-in-16 sample, while the two
 * clock reads around a few-microsecond answer (~3 % of the CLI's CPU under RPC load)
 * happen for one request in 16. A handler that answers later is timed every time.
 */
export const rpcTimingSample = 16

const connections = Metric.gauge("connections", { description: "Open sockets (handshake done)" })
const pendingHandshakes = Metric.gauge("pending_handshakes", { description: "Sockets still in the handshake" })
const subscriptions = Metric.gauge("subscriptions", { description: "Channel subscriptions of open sockets" })
const channels = Metric.gauge("channels", { description: "Channels with at least one local subscriber" })
const messagesIn = Metric.counter("messages_in_total", { description: "Inbound WebSocket messages", incremental: true })
const bytesIn = Metric.counter("bytes_in_total", { description: "Inbound bytes", incremental: true })
const messagesOut = Metric.counter("messages_out_total", {
  description: "Outbound WebSocket messages",
  incremental: true
})
const bytesOut = Metric.counter("bytes_out_total", { description: "Outbound bytes", incremental: true })
const ackTimeouts = Metric.counter("ack_timeouts_total", {
  description: "Server-to-client emits not acked within ackTimeout",
  incremental: true
})
const droppedPublications = Metric.counter("dropped_publications_total", {
  description: "Publications dropped for slow consumers",
  incremental: true
})
const slowConsumerDisconnects = Metric.counter("slow_consumer_disconnects_total", {
  description: "Sockets closed with 4010 for buffering too much outbound data",
  incremental: true
})
const publisherHolds = Metric.counter("publisher_holds_total", {
  description: "Times a publishing socket stopped being read because its publications reached a congested subscriber",
  incremental: true
})
const slowConsumersTotal = Metric.counter("slow_consumers_total", {
  description: "Subscribers that stayed congested for slowConsumerTimeout and got the slow-consumer policy",
  incremental: true
})
const slowConsumers = Metric.gauge("slow_consumers", {
  description: "Subscribers stalled now (the slow-consumer policy applies to them until they drain)"
})
const handshakesTotal = Metric.counter("handshakes_total", {
  description: "WebSocket connections accepted (handshakes started)",
  incremental: true
})
const rejectedUpgrades = Metric.counter("rejected_upgrades_total", {
  description: "Upgrades refused with HTTP 503 (maxConnections)",
  incremental: true
})
const connectionsTotal = Metric.counter("connections_total", {
  description: "Sockets that completed the handshake",
  incremental: true
})
const disconnectionsTotal = Metric.counter("disconnections_total", {
  description: "Sockets closed (after or during the handshake)",
  incremental: true
})
const historyAppends = Metric.counter("history_appends_total", {
  description: "Publications appended to a channel history stream by this process",
  incremental: true
})
const historyRecoveries = Metric.counter("history_recoveries_total", {
  description: "Channels caught up from history (after a broker reconnection, or for a subscriber that asked)",
  incremental: true
})
const historyReplayed = Metric.counter("history_replayed_total", {
  description: "Publications delivered from history rather than live",
  incremental: true
})
const historyGaps = Metric.counter("history_gaps_total", {
  description: "Recoveries where history could not cover what was missed (new epoch, trimmed, no history)",
  incremental: true
})
const publishes = Metric.counter("publishes_total", {
  description: "Publications accepted, by source (client or server)",
  incremental: true
})
const rejections = Metric.counter("middleware_rejections_total", {
  description: "Actions blocked by middleware, by middleware type",
  incremental: true
})
const authFailures = Metric.counter("auth_failures_total", {
  description: "Auth tokens refused, by error name",
  incremental: true
})
const handshakeLatency = Metric.histogram("handshake_duration_ms", {
  description: "From WebSocket upgrade to a completed SocketCluster handshake, in ms",
  boundaries: latencyBoundaries
})
const rpcLatency = Metric.histogram("rpc_duration_ms", {
  description: `Inbound RPC handler time, by event, in ms (a handler that answers at once is timed 1 request in ${rpcTimingSample}; the others count as the last timed one)`,
  boundaries: latencyBoundaries
})

const counterOf = (read: () => number): Metric.Metric.Hooks<number, Metric.CounterState<number>> => ({
  get: () => ({ count: read(), incremental: true }),
  update: () => {},
  modify: () => {}
})
const gaugeOf = (read: () => number): Metric.Metric.Hooks<number, Metric.GaugeState<number>> => ({
  get: () => ({ value: read() }),
  update: () => {},
  modify: () => {}
})

/**
 * A histogram series kept here and read when scraped, like the counters above: recording
 * a value is a bucket search and a few additions, with no registry lookup or closure per
 * value (the RPC and handshake timings are recorded per request and per connection).
 * `recordAgain` counts one more observation like the last recorded value, without a
 * value of its own (the requests the RPC timing does not time, {@link rpcTimingSample}).
 */
export const histogramOf = (boundaries: ReadonlyArray<number>) => {
  const bounds = [...boundaries].sort((a, b) => a - b)
  // counts[i]: values in (bounds[i-1], bounds[i]]; the last slot holds those above every bound.
  const counts = new Float64Array(bounds.length + 1)
  let count = 0
  let sum = 0
  let min = Number.MAX_VALUE
  let max = -Number.MAX_VALUE
  let lastIndex = -1
  let lastValue = 0
  const record = (value: number): void => {
    let i = 0
    while (i < bounds.length && value > bounds[i]!) i++
    counts[i]!++
    count++
    sum += value
    if (value < min) min = value
    if (value > max) max = value
    lastIndex = i
    lastValue = value
  }
  const recordAgain = (): void => {
    if (lastIndex === -1) return
    counts[lastIndex]!++
    count++
    sum += lastValue
  }
  const hooks: Metric.Metric.Hooks<number, Metric.HistogramState> = {
    get: () => {
      let cumulated = 0
      const buckets: Array<[number, number]> = []
      for (let i = 0; i < bounds.length; i++) {
        cumulated += counts[i]!
        buckets.push([bounds[i]!, cumulated])
      }
      return { buckets, count, min, max, sum }
    },
    update: record,
    modify: record
  }
  return { record, recordAgain, hooks }
}

const errorName = (error: unknown): string =>
  error instanceof Error
    ? error.name
    : typeof error === "object" && error !== null && "name" in error
      ? String(error.name)
      : "Error"

/**
 * The metrics of one server. `attach` wires them to the server's events; `render` is
 * the `/metrics` body.
 */
export class ServerMetrics {
  /** The context holding this instance's metric registry and the labels every series gets. */
  readonly context: Context.Context<never>

  /** @param labels added to every series (e.g. `{ worker: "2" }` under `--workers`). */
  constructor(labels: Readonly<Record<string, string>> = {}) {
    this.context = Context.make(Metric.MetricRegistry, new Map()).pipe(
      Context.add(Metric.CurrentMetricAttributes, labels)
    )
    for (const source of ["client", "server"] as const) {
      Metric.registerUnsafe(
        Metric.withAttributes(publishes, { source }),
        this.context,
        counterOf(() => this.publishCounts[source])
      )
    }
  }

  // One series per event, however often a handler for it is wrapped.
  private readonly rpcSeries = new Map<string, ReturnType<typeof histogramOf>>()

  // Counted here and read when scraped: a client publish costs an increment.
  private readonly publishCounts = { client: 0, server: 0 }

  /** Counts a publication accepted from `source`. */
  readonly countPublish = (source: "client" | "server"): void => {
    this.publishCounts[source]++
  }

  /**
   * Wraps a middleware so that its rejections are counted under its type. A middleware
   * that answers with a finished result (`Effect.void`, `Effect.fail(...)`: both are
   * `Exit`s) gets that same `Exit` back, so the server can finish the action without a fiber.
   */
  countRejections<T extends Middleware.MiddlewareType>(
    type: T,
    middleware: Middleware.Middleware<T>
  ): Middleware.Middleware<T> {
    const counter = Metric.withAttributes(rejections, { type })
    const count = () => counter.updateUnsafe(1, this.context)
    return (req) => {
      const result = middleware(req)
      // The common answer, the shared `Effect.void`, is told apart by identity.
      if (result === Effect.void) return result
      if (!Exit.isExit(result)) return result.pipe(Effect.tapError(() => Effect.sync(count)))
      if (Exit.isFailure(result) && Cause.hasFails(result.cause)) count()
      return result
    }
  }

  /**
   * Wraps an RPC handler to record how long it takes, by event. A handler that answers
   * at once (an `Exit`, like `Effect.succeed(data)`) gets its `Exit` returned as it is, so
   * the server can answer without a fiber, and is timed 1 request in {@link rpcTimingSample}
   * (the others count as the last timed one); any other handler is timed every time, to
   * the end of its effect: from the call, or, for a call among those not clocked, from the
   * handler's return (building an effect is not what this metric is for, and clocking the
   * call would put back the read the sampling saves).
   */
  timeRpc<A, E>(
    event: string,
    handler: (data: unknown, socket: SCSocket.SCSocket) => Effect.Effect<A, E>
  ): (data: unknown, socket: SCSocket.SCSocket) => Effect.Effect<A, E> {
    let series = this.rpcSeries.get(event)
    if (series === undefined) {
      series = histogramOf(latencyBoundaries)
      this.rpcSeries.set(event, series)
      Metric.registerUnsafe(Metric.withAttributes(rpcLatency, { event }), this.context, series.hooks)
    }
    const { record, recordAgain } = series
    const timed = (result: Effect.Effect<A, E>, start: number) =>
      result.pipe(Effect.ensuring(Effect.sync(() => record(performance.now() - start))))
    // Answers at once still to count as the last timed one before the next is timed.
    let untimed = 0
    return (data, socket) => {
      if (untimed > 0) {
        const result = handler(data, socket)
        if (!Exit.isExit(result)) return timed(result, performance.now())
        untimed--
        recordAgain()
        return result
      }
      const start = performance.now()
      const result = handler(data, socket)
      if (!Exit.isExit(result)) return timed(result, start)
      record(performance.now() - start)
      untimed = rpcTimingSample - 1
      return result
    }
  }

  /** Wires the metrics to `server`; returns the function that unwires them. */
  attach(server: SCServer.SCServerCore): () => void {
    const ctx = this.context
    // The sockets between a `SlowConsumer` "Stalled" event and the one that ends the episode.
    const stalled = new Set<string>()
    const registrations = [
      Metric.registerUnsafe(
        connections,
        ctx,
        gaugeOf(() => server.clientsCount)
      ),
      Metric.registerUnsafe(
        pendingHandshakes,
        ctx,
        gaugeOf(() => server.pendingClientsCount)
      ),
      Metric.registerUnsafe(
        subscriptions,
        ctx,
        gaugeOf(() => {
          let n = 0
          for (const socket of server.clients.values()) n += socket.channels.size
          return n
        })
      ),
      Metric.registerUnsafe(
        channels,
        ctx,
        gaugeOf(() => server.registry.channelCount)
      ),
      Metric.registerUnsafe(
        messagesIn,
        ctx,
        counterOf(() => server.counters.messagesIn)
      ),
      Metric.registerUnsafe(
        bytesIn,
        ctx,
        counterOf(() => server.counters.bytesIn)
      ),
      Metric.registerUnsafe(
        messagesOut,
        ctx,
        counterOf(() => server.counters.messagesOut)
      ),
      Metric.registerUnsafe(
        bytesOut,
        ctx,
        counterOf(() => server.counters.bytesOut)
      ),
      Metric.registerUnsafe(
        ackTimeouts,
        ctx,
        counterOf(() => server.counters.ackTimeouts)
      ),
      Metric.registerUnsafe(
        droppedPublications,
        ctx,
        counterOf(() => server.counters.droppedPublications)
      ),
      Metric.registerUnsafe(
        slowConsumerDisconnects,
        ctx,
        counterOf(() => server.counters.slowConsumerDisconnects)
      ),
      Metric.registerUnsafe(
        publisherHolds,
        ctx,
        counterOf(() => server.counters.publisherHolds)
      ),
      Metric.registerUnsafe(
        slowConsumers,
        ctx,
        gaugeOf(() => stalled.size)
      ),
      Metric.registerUnsafe(
        handshakesTotal,
        ctx,
        counterOf(() => server.counters.handshakes)
      ),
      Metric.registerUnsafe(
        rejectedUpgrades,
        ctx,
        counterOf(() => server.counters.rejectedUpgrades)
      ),
      Metric.registerUnsafe(
        historyAppends,
        ctx,
        counterOf(() => server.broker.stats?.appends ?? 0)
      ),
      Metric.registerUnsafe(
        historyRecoveries,
        ctx,
        counterOf(() => server.broker.stats?.recoveries ?? 0)
      ),
      Metric.registerUnsafe(
        historyReplayed,
        ctx,
        counterOf(() => server.broker.stats?.replayed ?? 0)
      ),
      Metric.registerUnsafe(
        historyGaps,
        ctx,
        counterOf(() => server.broker.stats?.gaps ?? 0)
      )
    ]
    // Counted here and read when scraped (exported as 0 before the first event). Slow
    // consumers are rare: counted in the registry.
    slowConsumersTotal.updateUnsafe(0, ctx)
    let connected = 0
    let disconnected = 0
    const handshakeTimes = histogramOf(latencyBoundaries)
    registrations.push(
      Metric.registerUnsafe(
        connectionsTotal,
        ctx,
        counterOf(() => connected)
      ),
      Metric.registerUnsafe(
        disconnectionsTotal,
        ctx,
        counterOf(() => disconnected)
      ),
      Metric.registerUnsafe(handshakeLatency, ctx, handshakeTimes.hooks)
    )
    const handshakeStarts = new Map<string, number>()
    const unlisten = server.hub.listen(
      (event) => {
        switch (event._tag) {
          case "Handshake":
            handshakeStarts.set(event.socket.id, performance.now())
            break
          case "Connection": {
            connected++
            const start = handshakeStarts.get(event.socket.id)
            handshakeStarts.delete(event.socket.id)
            if (start !== undefined) handshakeTimes.record(performance.now() - start)
            break
          }
          case "Closure":
            handshakeStarts.delete(event.socket.id)
            disconnected++
            break
          case "SlowConsumer":
            if (event.phase === "Stalled") {
              stalled.add(event.socket.id)
              slowConsumersTotal.updateUnsafe(1, ctx)
            } else stalled.delete(event.socket.id)
            break
          case "BadSocketAuthToken":
            Metric.withAttributes(authFailures, { error: errorName(event.info.authError) }).updateUnsafe(1, ctx)
            break
        }
      },
      ["Handshake", "Connection", "Closure", "SlowConsumer", "BadSocketAuthToken"]
    )
    return () => {
      unlisten()
      for (const registration of registrations) registration.remove()
    }
  }

  /** The Prometheus text exposition of every metric. */
  render(): string {
    return PrometheusMetrics.formatUnsafe(this.context, { prefix: metricPrefix })
  }
}
