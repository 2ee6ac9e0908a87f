/** The worker-cluster controller used when the master has no `workerClusterController`. */
import { SCWorkerCluster } from "../SCWorkerCluster.js"

new SCWorkerCluster()
