/**
 * Small shared pieces of the hardening scripts: flags, the load child process, units.
 */
import type { ChildProcess, fork as forkFn } from "node:child_process"

/** `--name <number>` from argv, else `fallback`. */
export const argNumber = (name: string, fallback: number): number => {
  const i = process.argv.indexOf(`--${name}`)
  const value = i >= 0 ? Number(process.argv[i + 1]) : Number.NaN
  return Number.isFinite(value) ? value : fallback
}

/** `--name <text>` from argv, else `fallback`. */
export const argString = (name: string, fallback: string): string => {
  const i = process.argv.indexOf(`--${name}`)
  return i >= 0 ? (process.argv[i + 1] ?? fallback) : fallback
}

/** Forks `script` under tsx with IPC. */
export const startChild = (fork: typeof forkFn, script: URL): ChildProcess =>
  fork(script.pathname, [], {
    execArgv: ["--conditions=@effect-socketcluster/source", "--import", "tsx"],
    stdio: ["ignore", "inherit", "inherit", "ipc"]
  })

/** The next IPC message of `type` from `child`. */
export const childMessage = <A = Record<string, unknown>>(child: ChildProcess, type: string): Promise<A> =>
  new Promise((resolve, reject) => {
    const onMessage = (message: { readonly type?: string }) => {
      if (message.type !== type) return
      child.off("message", onMessage)
      child.off("exit", onExit)
      resolve(message as A)
    }
    const onExit = (code: number | null) => reject(new Error(`load child exited with ${String(code)}`))
    child.on("message", onMessage)
    child.once("exit", onExit)
  })

/** Bytes as MiB with one decimal. */
export const mib = (bytes: number): string => (bytes / 1024 / 1024).toFixed(1)
