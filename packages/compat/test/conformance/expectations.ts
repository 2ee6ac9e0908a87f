/**
 * What each socketcluster-server v14 suite must give on the compat facade: its test
 * count and the tests expected to fail, each with the reason (repeated in the compat
 * README). Anything else failing, or an expected failure passing, fails the harness.
 */
export interface SuiteExpectation {
  /** The number of tests in the suite's `test/integration.js`. */
  readonly total: number
  /** Full mocha titles of the tests expected to fail, with why. */
  readonly expectedFailures: Readonly<Record<string, string>>
}

export const suites = ["14.7.2", "14.3.1"] as const
export type SuiteVersion = (typeof suites)[number]

export const expectations: Record<SuiteVersion, SuiteExpectation> = {
  "14.7.2": {
    total: 46,
    expectedFailures: {}
  },
  "14.3.1": {
    total: 43,
    expectedFailures: {
      "Integration tests Socket pub/sub Client should not be able to subscribe to a channel before the handshake has completed":
        "14.3.1 had no strictHandshake and answered an early #subscribe with InvalidActionError; the facade defaults to 14.7.2's strictHandshake: true, which closes the socket with 4009 (the 14.7.2 suite's version of this test expects that, BadConnectionError on the client)"
    }
  }
}
