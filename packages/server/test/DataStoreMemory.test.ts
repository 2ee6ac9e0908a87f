import { DataStoreMemory } from "@effect-socketcluster/server"
import { runDataStoreConformance } from "@effect-socketcluster/server/testing"

runDataStoreConformance("memory", DataStoreMemory.layer({ expiryAccuracy: "100 millis" }))
