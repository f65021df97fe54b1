// deno-lint-ignore-file no-import-prefix -- a test client using the npm package directly
/**
 * Child process of tests/websocket_client_test.ts: connects with the npm
 * client's WebSocket transport to the `wss://` URL given (the process runs
 * with `--cert` for the test CA), makes one request and prints the reply.
 */
import { wsconnect } from "npm:@nats-io/nats-core@3.4.0";

const nc = await wsconnect({ servers: Deno.args[0], reconnect: false });
const reply = await nc.request("svc.wss", new TextEncoder().encode("hello tls"), { timeout: 5000 });
console.log(new TextDecoder().decode(reply.data));
await nc.close();
