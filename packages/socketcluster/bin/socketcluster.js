#!/usr/bin/env node
// `socketcluster create <appname> [--force] [--no-install]`, `-v`, `--help`: creates an app
// of the socketcluster@14 shape (server.js, worker.js, broker.js, public/) from this
// package's own sample, runs `npm install` in it and copies the client bundle to
// public/socketcluster.js.
const childProcess = require("node:child_process")
const fs = require("node:fs")
const path = require("node:path")

const packageDir = path.resolve(__dirname, "..")
const version = require(path.join(packageDir, "package.json")).version
const sampleDir = path.join(packageDir, "sample")

const usage = `Usage: socketcluster [options] [command]

Options:
  -v, --version    Print the version of socketcluster
  --help           Print this help

Commands:
  create <appname> [--force] [--no-install]
                   Create a new app in ./<appname> (--force: into an existing directory;
                   --no-install: without running npm install)
`

const fail = (message) => {
  process.stderr.write(`${message}\n`)
  process.exit(1)
}

const copyTree = (from, to) => {
  fs.mkdirSync(to, { recursive: true })
  for (const entry of fs.readdirSync(from, { withFileTypes: true })) {
    const source = path.join(from, entry.name)
    const target = path.join(to, entry.name)
    if (entry.isDirectory()) copyTree(source, target)
    else fs.copyFileSync(source, target)
  }
}

const create = (appName, flags) => {
  if (!appName || appName.startsWith("-")) fail("The create command needs an app name: socketcluster create <appname>")
  const dest = path.resolve(appName)
  if (fs.existsSync(dest) && !flags.has("--force")) {
    fail(`There is already a directory at ${dest}; pass --force to create the app in it anyway`)
  }
  copyTree(sampleDir, dest)
  const manifest = {
    name: path.basename(dest),
    version: "1.0.0",
    description: "A SocketCluster app",
    main: "server.js",
    scripts: { start: "node server.js" },
    dependencies: { socketcluster: `^${version}`, "socketcluster-client": "^14.3.1" }
  }
  fs.writeFileSync(path.join(dest, "package.json"), `${JSON.stringify(manifest, null, 2)}\n`)
  if (!flags.has("--no-install")) {
    const npm = process.platform === "win32" ? "npm.cmd" : "npm"
    const result = childProcess.spawnSync(npm, ["install"], { cwd: dest, stdio: "inherit" })
    if (result.status !== 0) fail(`npm install failed in ${dest}`)
  }
  const bundle = path.join(dest, "node_modules", "socketcluster-client", "socketcluster.js")
  if (fs.existsSync(bundle)) fs.copyFileSync(bundle, path.join(dest, "public", "socketcluster.js"))
  process.stdout.write(`Created the app ${path.basename(dest)} in ${dest}\nRun it: cd ${appName} && node server.js\n`)
}

const [command, ...rest] = process.argv.slice(2)
if (command === "-v" || command === "--version") process.stdout.write(`${version}\n`)
else if (command === "create") {
  const flags = new Set(rest.filter((a) => a.startsWith("--")))
  create(
    rest.find((a) => !a.startsWith("--")),
    flags
  )
} else if (command === undefined || command === "--help" || command === "-h") process.stdout.write(usage)
else fail(`Unknown command ${command}\n\n${usage}`)
