/** The master's options (FW-03..FW-06): defaults and generated values at once, checks as errors. */
import { describe, expect, it } from "vitest"
import { merge, validate } from "../src/Options.js"

const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/

describe("master options", () => {
  it("merges the 14.4.2 defaults and generates appName, instanceId, secretKey and authKey (FW-05)", () => {
    const o = merge({ workerController: "w.js", customThing: "hello" })
    expect(o).toMatchObject({
      environment: "dev",
      port: 8000,
      socketChannelLimit: 1000,
      path: "/socketcluster/",
      customThing: "hello"
    })
    expect(o.appName).toMatch(uuid)
    expect(o.instanceId).toMatch(uuid)
    expect(o.secretKey).toMatch(/^[0-9a-f]{64}$/)
    expect(o.authKey).toMatch(/^[0-9a-f]{64}$/)
  })

  it("keeps authKey null with a key pair (FW-06)", () => {
    expect(merge({ authPrivateKey: "a", authPublicKey: "b" }).authKey).toBeNull()
  })

  it("checks workerController, counts and limits (FW-02..FW-04)", () => {
    expect(() => validate(merge({}))).toThrow("Compulsory option 'workerController' was not specified")
    expect(() => validate(merge({ workerController: "w.js", brokers: "2" }))).toThrow(
      "The brokers option must be a number"
    )
    expect(() => validate(merge({ workerController: "w.js", ackTimeout: 2 ** 31 }))).toThrow(
      "The ackTimeout value provided exceeded the maximum amount allowed"
    )
    // Refused rather than ignored: the app would otherwise keep running as root.
    for (const user of ["nobody", 65534]) {
      expect(() => validate(merge({ workerController: "w.js", downgradeToUser: user }))).toThrow(
        "The downgradeToUser option is not supported"
      )
    }
    expect(() => validate(merge({ workerController: "w.js", downgradeToUser: false }))).not.toThrow()
    const zero = merge({ workerController: "w.js", workers: 0 })
    validate(zero)
    expect(zero.workers).toBe(1)
  })
})
