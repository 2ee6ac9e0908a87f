/**
 * `./dev conformance [--original]`: runs socketcluster-server's own 14.7.2 and 14.3.1
 * suites against the compat facade (or, with `--original`, against the original
 * packages, as an oracle), prints every test's outcome and exits non-zero when a suite
 * differs from `expectations.ts`.
 */
import { expectations, suites } from "./expectations.js"
import { mismatches, runSuite, type SuiteResult } from "./suite.js"

const target = process.argv.includes("--original") ? "original" : "compat"

const print = (result: SuiteResult): void => {
  const expected = expectations[result.version].expectedFailures
  console.log(`\nsocketcluster-server@${result.version} suite on ${result.target}`)
  for (const title of result.passed) {
    const retries = result.retried.get(title)
    console.log(`  ✓ ${title}${retries === undefined ? "" : ` (passed on retry ${retries})`}`)
  }
  for (const [title, message] of result.failed) {
    const note = title in expected ? ` (expected: ${expected[title]})` : ""
    console.log(`  ✗ ${title}${note}\n      ${message}`)
  }
  console.log(`  ${result.passed.length} passed, ${result.failed.size} failed of ${expectations[result.version].total}`)
}

const results = await Promise.all(
  suites.map((version) => runSuite(version, target, Object.keys(expectations[version].expectedFailures)))
)
let ok = true
for (const result of results) {
  print(result)
  if (target === "compat") {
    const problems = mismatches(result, expectations[result.version])
    for (const problem of problems) console.log(`  ! ${problem}`)
    ok &&= problems.length === 0
  }
}
process.exitCode = ok ? 0 : 1
