/**
 * socketcluster-server's own integration suites (`test/integration.js` of the 14.7.2 and
 * 14.3.1 npm packages), run unchanged under mocha against this facade with the real
 * socketcluster-client@14 (see `conformance/`). Each suite must fail exactly the tests
 * listed in `conformance/expectations.ts` and pass all the others.
 */
import { assert, beforeAll, describe, it } from "vitest"
import { expectations, type SuiteVersion, suites } from "./conformance/expectations.js"
import { mismatches, runSuite, type SuiteResult } from "./conformance/suite.js"

const results = new Map<SuiteVersion, SuiteResult>()

beforeAll(async () => {
  // Both suites at once: they mostly wait on their own timers.
  for (const result of await Promise.all(
    suites.map((version) => runSuite(version, "compat", Object.keys(expectations[version].expectedFailures)))
  )) {
    results.set(result.version, result)
  }
}, 120_000)

describe.each(suites)("socketcluster-server@%s integration suite", (version) => {
  const expectation = expectations[version]
  const failures = Object.keys(expectation.expectedFailures).length

  it(`passes ${expectation.total - failures} of ${expectation.total} tests and fails only the listed ones`, () => {
    const result = results.get(version)
    assert.isDefined(result)
    assert.deepStrictEqual(mismatches(result, expectation), [])
    assert.strictEqual(result.passed.length + result.failed.size, expectation.total)
  })
})
