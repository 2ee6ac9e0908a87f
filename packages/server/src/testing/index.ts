export { runBrokerConformance } from "./BrokerConformance.js"
