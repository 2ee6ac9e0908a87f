/** The broker controller used when the master has no `brokerController`: a bare broker. */
import { SCBroker } from "../SCBroker.js"

new SCBroker()
