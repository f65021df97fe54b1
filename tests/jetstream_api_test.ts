/**
 * JetStream API parity: the same requests and publishes go to Debian's
 * nats-server -js and to dnatsd -js (each on a fresh store directory), and
 * every answer must be the same text, byte for byte, once times are masked:
 * account info with its API counters, stream create/update/info/list/names/
 * delete/purge, message get and delete, publish acknowledgements (duplicates,
 * expected-* headers, limits with discard old and new), and error codes.
 */
import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { missing } from "./helpers/requires.ts";
import { type Answer, script, sideBySide, startJs } from "./jetstream/helpers.ts";
import { RawClient } from "./helpers/raw.ts";
import { ServerProcess } from "./helpers/server.ts";

function compare(ref: Answer[], ours: Answer[]): void {
  for (let i = 0; i < ref.length; i++) {
    assertEquals(ours[i], ref[i], `step ${i}: ${ref[i].step}`);
  }
  assertEquals(ours.length, ref.length);
}

const STREAMS = script(`
$JS.API.INFO
$JS.API.STREAM.LIST
$JS.API.STREAM.NAMES
$JS.API.STREAM.CREATE.S {"name":"S","subjects":["foo.>","bar"],"storage":"memory"}
$JS.API.STREAM.CREATE.S {"name":"S","subjects":["foo.>","bar"],"storage":"memory"}
$JS.API.STREAM.CREATE.S {"name":"S","subjects":["baz"],"storage":"memory"}
$JS.API.STREAM.CREATE.T {"name":"X"}
$JS.API.STREAM.CREATE.T {"name":"T","subjects":["bar"],"storage":"memory"}
$JS.API.STREAM.CREATE.T {"name":"T","subjects":["foo.x.*"],"storage":"memory"}
$JS.API.STREAM.CREATE.T not json
$JS.API.STREAM.CREATE.T
$JS.API.STREAM.CREATE.Q {"name":"Q","storage":"memory","num_replicas":3}
$JS.API.STREAM.CREATE.Q {"name":"Q.x","storage":"memory"}
$JS.API.STREAM.CREATE.Q {"storage":"memory"}
$JS.API.STREAM.CREATE.Q {"name":"Q","storage":"memory","max_age":1000}
$JS.API.STREAM.CREATE.Q {"name":"Q","storage":"memory","subjects":["$JS.API.x"]}
$JS.API.STREAM.CREATE.Q {"name":"Q","storage":"memory","subjects":["a..b"]}
foo.a hello
foo.b world HDR {"Nats-Msg-Id":"m1"}
foo.b world HDR {"Nats-Msg-Id":"m1"}
foo.c x HDR {"Nats-Expected-Last-Sequence":"1"}
foo.c x HDR {"Nats-Expected-Last-Sequence":"2"}
foo.c x HDR {"Nats-Expected-Stream":"Q"}
foo.c x HDR {"Nats-Expected-Stream":"S"}
foo.c x HDR {"Nats-Expected-Last-Msg-Id":"zz"}
foo.c x HDR {"Nats-Expected-Last-Subject-Sequence":"3"}
foo.c x HDR {"Nats-Expected-Last-Subject-Sequence":"3"}
foo.d x HDR {"Nats-Expected-Last-Subject-Sequence":"0"}
bar <b>&amp;</b>
$JS.API.STREAM.INFO.S
$JS.API.STREAM.INFO.NOPE
$JS.API.STREAM.NAMES
$JS.API.STREAM.NAMES {"subject":"foo.z"}
$JS.API.STREAM.NAMES {"subject":"zz"}
$JS.API.STREAM.LIST
$JS.API.STREAM.MSG.GET.S {"seq":1}
$JS.API.STREAM.MSG.GET.S {"seq":2}
$JS.API.STREAM.MSG.GET.S {"seq":99}
$JS.API.STREAM.MSG.GET.S {"last_by_subj":"foo.c"}
$JS.API.STREAM.MSG.GET.S {"last_by_subj":"foo.*"}
$JS.API.STREAM.MSG.GET.S {}
$JS.API.STREAM.MSG.GET.S {"seq":1,"last_by_subj":"foo.a"}
$JS.API.STREAM.MSG.GET.NONE {"seq":1}
$JS.API.STREAM.MSG.DELETE.S {"seq":1}
$JS.API.STREAM.MSG.DELETE.S {"seq":1}
$JS.API.STREAM.INFO.S
$JS.API.STREAM.PURGE.S {"filter":"foo.c","keep":1}
$JS.API.STREAM.INFO.S
$JS.API.STREAM.PURGE.S {"seq":2,"keep":1}
$JS.API.STREAM.PURGE.S
$JS.API.STREAM.INFO.S
foo.a after purge
$JS.API.STREAM.INFO.S
$JS.API.INFO
$JS.API.STREAM.DELETE.S
$JS.API.STREAM.DELETE.S
$JS.API.STREAM.INFO.S
$JS.API.INFO
`);

Deno.test({
  name: "jetstream api: streams, acks and errors as nats-server",
  ignore: missing("nats-server"),
  sanitizeResources: false,
  fn: async () => {
    const [ref, ours] = await sideBySide(STREAMS);
    compare(ref, ours);
  },
});

const LIMITS = script(`
$JS.API.STREAM.CREATE.M {"name":"M","storage":"memory","max_msgs":2,"discard":"new"}
M a
M b
M c
$JS.API.STREAM.UPDATE.M {"name":"M","storage":"memory","max_msgs":1,"discard":"old"}
$JS.API.STREAM.INFO.M
M d
$JS.API.STREAM.INFO.M
$JS.API.STREAM.UPDATE.M {"name":"M","storage":"file"}
$JS.API.STREAM.UPDATE.M {"name":"N","storage":"memory"}
$JS.API.STREAM.UPDATE.X {"name":"X","storage":"memory"}
$JS.API.STREAM.CREATE.B {"name":"B","storage":"memory","max_bytes":100,"discard":"new"}
B 0123456789012345678901234567890123456789012345678901234567890123456789
B 0123456789012345678901234567890123456789012345678901234567890123456789
$JS.API.STREAM.CREATE.O {"name":"O","storage":"memory","max_bytes":100}
O 0123456789012345678901234567890123456789012345678901234567890123456789
O 0123456789012345678901234567890123456789012345678901234567890123456789
$JS.API.STREAM.INFO.O
$JS.API.STREAM.CREATE.P {"name":"P","subjects":["p.*"],"storage":"memory","max_msgs_per_subject":2,"max_msg_size":10}
p.a 1
p.a 2
p.a 3
p.b 1
p.b 01234567890
$JS.API.STREAM.INFO.P
$JS.API.STREAM.PURGE.P {"filter":"p.a","keep":1}
$JS.API.STREAM.INFO.P
$JS.API.STREAM.CREATE.D {"name":"D","storage":"memory","deny_delete":true,"deny_purge":true}
D x
$JS.API.STREAM.MSG.DELETE.D {"seq":1}
$JS.API.STREAM.PURGE.D
$JS.API.STREAM.CREATE.W {"name":"W","storage":"memory","duplicate_window":50000000}
$JS.API.STREAM.CREATE.W {"name":"W","storage":"memory","max_age":1000000000,"duplicate_window":2000000000}
$JS.API.STREAM.CREATE.W {"name":"W","storage":"memory","max_age":1000000000}
$JS.API.INFO
`);

Deno.test({
  name: "jetstream api: limits, discard policies, updates as nats-server",
  ignore: missing("nats-server"),
  sanitizeResources: false,
  fn: async () => {
    const [ref, ours] = await sideBySide(LIMITS);
    compare(ref, ours);
  },
});

Deno.test({
  name: "jetstream api: the client INFO announces jetstream, placed as nats-server places it",
  ignore: missing("nats-server"),
  async fn() {
    const keysOf = async (reference: boolean, js: boolean): Promise<string[]> => {
      const srv = js
        ? await startJs(reference)
        : { server: await ServerProcess.start({ reference }), stop: () => Promise.resolve() };
      try {
        const raw = await RawClient.connect(srv.server.port);
        try {
          const info = JSON.parse((await raw.expect(/^INFO (\{.*\}) \r\n/))[1]);
          if (js) assertEquals(info.jetstream, true);
          else assertEquals("jetstream" in info, false);
          return Object.keys(info).filter((k) => k !== "go");
        } finally {
          await raw.close();
        }
      } finally {
        await srv.server.stop();
        await srv.stop();
      }
    };
    for (const js of [true, false]) {
      const [ref, ours] = await Promise.all([keysOf(true, js), keysOf(false, js)]);
      assertEquals(ours, ref, `INFO keys with jetstream ${js ? "on" : "off"}`);
    }
  },
});
