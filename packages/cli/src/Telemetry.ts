/**
 * Trace export: with an OTLP endpoint configured, every span the server makes
 * (handshake, middleware, procedure, publish; see the server's `Tracing`) goes to the
 * collector over OTLP/HTTP (JSON), with effect's own `OtlpTracer`; without one, nothing.
 *
 * @example
 * ```ts
 * program.pipe(Effect.provide(Telemetry.layer("http://127.0.0.1:4318")))
 * ```
 */

import * as FetchHttpClient from "effect/http/FetchHttpClient"
import * as Layer from "effect/Layer"
import * as OtlpSerialization from "effect/observability/OtlpSerialization"
import * as OtlpTracer from "effect/observability/OtlpTracer"

/** The tracer for `endpoint` (its `/v1/traces`), or nothing when `undefined`. */
export const layer = (endpoint: string | undefined, serviceName = "effect-socketcluster"): Layer.Layer<never> =>
  endpoint === undefined
    ? Layer.empty
    : OtlpTracer.layer({ url: `${endpoint.replace(/\/+$/, "")}/v1/traces`, resource: { serviceName } }).pipe(
        Layer.provide(OtlpSerialization.layerJson),
        Layer.provide(FetchHttpClient.layer)
      )
