import { assert, describe, it } from "@effect/vitest"
import {
  CloseCode,
  closeCodeMessage,
  isIgnoredCloseCode,
  isSendableCloseCode,
  socketProtocolErrorMessage
} from "../src/index.js"

describe("CloseCodes", () => {
  it("names the codes of spec §11.4", () => {
    assert.strictEqual(CloseCode.PongTimeout, 4001)
    assert.strictEqual(CloseCode.FailedToSignToken, 4002)
    assert.strictEqual(CloseCode.HandshakeTimeout, 4005)
    assert.strictEqual(CloseCode.HandshakeRejected, 4008)
    assert.strictEqual(CloseCode.MessageBeforeHandshake, 4009)
    assert.strictEqual(CloseCode.MessageTooBig, 1009)
  })

  it("gives the sc-errors texts", () => {
    assert.strictEqual(closeCodeMessage(4001), "Client pong timed out")
    assert.strictEqual(closeCodeMessage(4005), "Did not receive #handshake from client before timeout")
    assert.strictEqual(closeCodeMessage(4009), "Server received a message before the client handshake")
    assert.strictEqual(closeCodeMessage(1006), "Socket hung up")
    assert.isUndefined(closeCodeMessage(1000))
    assert.isUndefined(closeCodeMessage(4501))
  })

  it("builds SocketProtocolError messages as v14 does (spec §11.3)", () => {
    assert.strictEqual(socketProtocolErrorMessage(4008), "Server rejected handshake from client")
    assert.strictEqual(socketProtocolErrorMessage(4008, "ignored"), "Server rejected handshake from client")
    assert.strictEqual(socketProtocolErrorMessage(4501), "Socket connection closed with status code 4501")
    assert.strictEqual(
      socketProtocolErrorMessage(4321, "custom reason"),
      "Socket connection closed with status code 4321 and reason: custom reason"
    )
    assert.strictEqual(
      socketProtocolErrorMessage(4100, { a: 1 }),
      'Socket connection closed with status code 4100 and reason: {"a":1}'
    )
    assert.strictEqual(socketProtocolErrorMessage(4100, ""), "Socket connection closed with status code 4100")
  })

  it("knows which codes may go in a close frame (spec §11.2)", () => {
    for (const code of [1000, 1003, 1007, 1014, 3000, 4009, 4999]) assert.isTrue(isSendableCloseCode(code), `${code}`)
    for (const code of [999, 1004, 1005, 1006, 1015, 2999, 5000, 4000.5, "4000", null, undefined]) {
      assert.isFalse(isSendableCloseCode(code), `${String(code)}`)
    }
  })

  it("ignores 1000 and 1001 only", () => {
    assert.isTrue(isIgnoredCloseCode(1000))
    assert.isTrue(isIgnoredCloseCode(1001))
    assert.isFalse(isIgnoredCloseCode(1005))
  })
})
