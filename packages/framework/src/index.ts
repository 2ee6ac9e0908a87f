/**
 * `@effect-socketcluster/framework`: the SocketCluster 14.4.2 framework — the master
 * (`SocketCluster`), worker and broker base classes and the worker cluster — over the
 * compat facade and the Effect server. Installed under the alias `socketcluster` too, so
 * an app written for `socketcluster@14` runs unchanged.
 */
export { BrokerClient, layer as brokerClientLayer } from "./BrokerClient.js"
export { ClusterExchange, targetsOf } from "./ClusterExchange.js"
export * as fsutil from "./fsutil.js"
export { hash } from "./Hash.js"
export { SCBroker } from "./SCBroker.js"
export { SCWorker } from "./SCWorker.js"
export { SCWorkerCluster } from "./SCWorkerCluster.js"
export { SocketCluster } from "./SocketCluster.js"
