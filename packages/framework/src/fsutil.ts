/**
 * `socketcluster/fsutil`: waiting for controller files (the sample app uses it to wait
 * for Docker volumes).
 */
import * as Fs from "node:fs"
import { TimeoutError } from "@effect-socketcluster/protocol"

/** `callback(true)` when `filePath` exists. */
export const fileExists = (filePath: string, callback: (exists: boolean) => void): void => {
  Fs.access(filePath, Fs.constants.F_OK, (error) => callback(!error))
}

/**
 * Resolves once `filePath` exists (at once for a falsy path), checking every
 * `checkInterval` ms; rejects with `TimeoutError` after `maxWaitDuration` ms from `startTime`.
 */
export const waitForFile = (
  filePath: string | null | undefined,
  checkInterval: number,
  startTime: number,
  maxWaitDuration: number,
  timeoutErrorMessage?: string
): Promise<void> => {
  if (!filePath) return Promise.resolve()
  return new Promise((resolve, reject) => {
    const check = () =>
      fileExists(filePath, (exists) => {
        if (exists) return resolve()
        if (Date.now() - startTime >= maxWaitDuration) {
          return reject(
            new TimeoutError({
              message: timeoutErrorMessage ?? `Could not find a file at path ${filePath} before the timeout was reached`
            })
          )
        }
        setTimeout(check, checkInterval)
      })
    check()
  })
}
