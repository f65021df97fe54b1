import { equal } from "node:assert/strict";
import { bindReleasedPort } from "./rebind.ts";
import { clientListenError } from "../server/listen_error.ts";

Deno.test("bindReleasedPort retries a bind failure worded as nats-server's (port still in use)", async () => {
  let attempts = 0;
  const result = await bindReleasedPort(() => {
    if (++attempts < 3) {
      throw clientListenError(
        new Deno.errors.AddrInUse("Address already in use (os error 98)"),
        "0.0.0.0",
        4222,
      );
    }
    return "bound";
  });
  equal(result, "bound");
  equal(attempts, 3);
});
