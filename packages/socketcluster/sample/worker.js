// A worker: serves public/ and answers its sockets; every worker runs this file.
const fs = require("node:fs")
const path = require("node:path")
const SCWorker = require("socketcluster/scworker")

const types = { ".html": "text/html", ".js": "text/javascript", ".css": "text/css", ".png": "image/png" }
const publicDir = path.join(__dirname, "public")

class Worker extends SCWorker {
  run() {
    console.log(`   >> Worker PID: ${process.pid}`)
    this.httpServer.on("request", (req, res) => {
      const name = req.url === "/" ? "index.html" : decodeURIComponent(req.url.split("?")[0]).slice(1)
      const file = path.join(publicDir, name)
      if (!file.startsWith(publicDir) || !fs.existsSync(file) || fs.statSync(file).isDirectory()) {
        res.writeHead(404).end("Not found")
        return
      }
      res.writeHead(200, { "Content-Type": types[path.extname(file)] || "application/octet-stream" })
      fs.createReadStream(file).pipe(res)
    })
    this.scServer.on("connection", (socket) => {
      // A client's `visit` counts visits in the brokers, shared by every worker.
      socket.on("visit", (_, respond) => this.exchange.add("visits", Date.now(), respond))
    })
  }
}

new Worker()
