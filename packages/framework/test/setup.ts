// socketcluster-client v14 picks a global WebSocket over `ws` when one exists (Node >= 22
// has one); the real client over `ws` is what these tests must exercise.
Reflect.deleteProperty(globalThis, "WebSocket")
