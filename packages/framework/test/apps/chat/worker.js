// Test app worker: a chat room over the exchange, shared state with the data API, and probes.
const SCWorker = require("socketcluster/scworker")

class Worker extends SCWorker {
  run() {
    const exchange = this.exchange
    this.on("masterMessage", (data, respond) => respond(null, { worker: this.id, got: data }))
    this.scServer.on("connection", (socket) => {
      socket.on("whoami", (_, respond) =>
        respond(null, { id: this.id, pid: process.pid, isLeader: this.isLeader, customThing: this.options.customThing })
      )
      // Data API calls straight through: [method, ...args] -> the callback's arguments.
      socket.on("data", ([method, ...args], respond) => {
        exchange[method](...args, (error, value) => respond(error ? error.message : null, value))
      })
      socket.on("askBrokers", (data, respond) => exchange.send(data, null, (error, results) => respond(error, results)))
      socket.on("askMaster", (data, respond) => this.sendToMaster(data, (error, answer) => respond(error, answer)))
    })
  }
}

new Worker()
