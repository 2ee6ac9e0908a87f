import { describe, expect, it } from "vitest"
import { targetsOf } from "../src/ClusterExchange.js"
import { querySource, runQuery } from "../src/Exec.js"
import { hash } from "../src/Hash.js"

describe("broker mapping (sc-hasher vectors, spec §6.7)", () => {
  it("hashes as v14", () => {
    expect(hash("sample", 2)).toBe(0)
    expect(hash("sample", 3)).toBe(1)
    expect(hash("foo", 2)).toBe(0)
    expect(hash("bar", 2)).toBe(1)
    expect(hash("chanA", 2)).toBe(1)
    expect(hash("chanB", 2)).toBe(0)
    expect(hash("abc", 5)).toBe(4)
    expect(hash(12, 5)).toBe(2)
    expect(hash(-7, 5)).toBe(2)
    expect(hash(["user", "42"], 3)).toBe(0)
    expect(hash("", 4)).toBe(0)
    expect(hash(() => 1, 4)).toBe(0)
  })

  it("routes send/exec by mapIndex (FW-35)", () => {
    expect(targetsOf(null, 2)).toEqual([0, 1])
    expect(targetsOf("*", 2)).toEqual([0, 1])
    expect(targetsOf(1, 2)).toEqual([1])
    expect(targetsOf(3, 2)).toEqual([1])
    expect(targetsOf(0, 2)).toEqual([0])
    expect(targetsOf("bar", 2)).toEqual([1])
    expect(targetsOf(["foo", "bar"], 2)).toEqual([0, 1])
  })
})

describe("exec queries (spec §6.5)", () => {
  it("injects data as variables into a plain function source only (FW-55)", () => {
    const source = querySource("function (dataMap) { return greeting + '!' }", { greeting: "hi" })
    expect(runQuery(source, {}, {}, {})).toBe("hi!")
    const arrow = querySource(() => 1, { greeting: "hi" })
    expect(arrow).toBe(String(() => 1))
  })

  it("refuses invalid variable names synchronously (FW-56)", () => {
    expect(() => querySource(() => {}, { "a-b": 1 })).toThrow("The variable name 'a-b' is invalid")
  })
})
