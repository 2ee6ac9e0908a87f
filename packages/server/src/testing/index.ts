export { conformanceHistory, runBrokerConformance } from "./BrokerConformance.js"
export { runDataStoreConformance } from "./DataStoreConformance.js"
