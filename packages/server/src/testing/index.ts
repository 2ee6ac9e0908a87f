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
export { type StoppableServer, startServer, startStoppableServer, testAuthKey } from "./StartServer.js"
