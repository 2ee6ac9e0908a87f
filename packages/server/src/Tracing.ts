/**
 * Spans and log annotations for the server's units of work (handshake, middleware,
 * procedures, publish), paid for only when a tracer is installed: with effect's default
 * `Tracer.nativeTracer` (no backend) `span` returns the effect untouched, so a server
 * without tracing runs exactly the code it ran before (`bench/tracing.ts` measures it).
 *
 * @example
 * ```ts
 * // Any effect tracer layer provided to the server's layer turns them on, e.g. OTLP:
 * const Traced = App.pipe(Layer.provide(Otlp.layerJson({ baseUrl: "http://collector:4318" })))
 * ```
 */
import * as Effect from "effect/Effect"
import * as Tracer from "effect/Tracer"

/** Span attributes, also used as log annotations. */
export interface SpanAttributes {
  readonly "sc.socket.id"?: string | undefined
  readonly "sc.event"?: string | undefined
  readonly "sc.channel"?: string | undefined
  readonly "sc.middleware"?: string | undefined
}

/** Whether spans are worth making: a tracer other than effect's in-memory default is installed. */
export const enabled: Effect.Effect<boolean> = Effect.gen(function* () {
  return (yield* Tracer.Tracer) !== Tracer.nativeTracer
})

/**
 * `effect` inside a span `name` with `attributes` (and its logs annotated with them) when
 * `on`; `effect` itself otherwise. `attributes` is only called when `on`.
 */
export const span = <A, E, R>(
  on: boolean,
  name: string,
  attributes: () => SpanAttributes,
  effect: Effect.Effect<A, E, R>
): Effect.Effect<A, E, R> => {
  if (!on) return effect
  const attrs = defined(attributes())
  return effect.pipe(Effect.annotateLogs(attrs), Effect.withSpan(name, { attributes: attrs }))
}

const defined = (attributes: SpanAttributes): Record<string, string> => {
  const out: Record<string, string> = {}
  for (const [key, value] of Object.entries(attributes)) if (value !== undefined) out[key] = value
  return out
}
