/**
 * `@effect-socketcluster/cli`: the runnable server (`pnpm start`) as modules, for
 * embedding or testing: settings, the app (HTTP + SocketCluster + demo + metrics), the
 * broker choice and the multi-process mode.
 */
export * as App from "./App.js"
export * as BrokerChoice from "./BrokerChoice.js"
export * as Config from "./Config.js"
export * as DemoApp from "./DemoApp.js"
export * as HttpRoutes from "./HttpRoutes.js"
export * as Logging from "./Logging.js"
export { serve } from "./Serve.js"
export * as ServerMetrics from "./ServerMetrics.js"
export * as SmokeHandlers from "./SmokeHandlers.js"
export * as Workers from "./Workers.js"
