import { layerWith } from "../src/BrokerMemory.js"
import { conformanceHistory, runBrokerConformance } from "../src/testing/index.js"

runBrokerConformance("BrokerMemory", layerWith({ history: conformanceHistory }))
