export { conformanceHistory, runBrokerConformance } from "./BrokerConformance.js"
export { runDataStoreConformance } from "./DataStoreConformance.js"
export {
  clientTcpSocket,
  droppedInEndedEpisodes,
  droppedReported,
  type SlowConsumerReport,
  slowConsumerEvents,
  wsTcpSocket
} from "./SlowConsumers.js"
export { startServer, testAuthKey } from "./StartServer.js"
