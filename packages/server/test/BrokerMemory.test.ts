import { layer } from "../src/BrokerMemory.js"
import { runBrokerConformance } from "../src/testing/index.js"

runBrokerConformance("BrokerMemory", layer)
