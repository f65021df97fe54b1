/**
 * `deno task fuzz`: the differential protocol fuzzer, for as long as asked.
 *
 *   deno task fuzz [--seconds N] [--seed S] [--concurrency C]
 *   deno task fuzz --replay S:I [--replay S:I ...]
 *   deno task fuzz --send 'PUB foo 1\r\nx\r\n' [--send ...]
 *
 * Starts dnatsd and Debian's nats-server with the same config, sends
 * generated streams of seed S (index 0, 1, ...) to both until N seconds are
 * spent, prints every difference (with the stream, escaped, for replay) and
 * the counts. `--replay` runs single streams (`--send`: given bytes, in the escaped form
 * the differences are printed in) and prints both answers. Exits 1
 * when a difference not on the allow-list was found or the observer lost a
 * message.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { ServerProcess } from "../tests/helpers/server.ts";
import { has } from "../tests/helpers/requires.ts";
import {
  escapeBytes,
  FUZZ_CONFIG,
  generateStream,
  unescapeBytes,
} from "../tests/fuzz/generator.ts";
import {
  CRASH_IN_LOG,
  describe,
  normalClientWorks,
  Observer,
  PATIENT,
  runDifferential,
  runOn,
} from "../tests/fuzz/differential.ts";
import { ALLOWED_DIFFERENCES } from "../tests/fuzz/allowed.ts";

const { values: args } = parseArgs({
  args: Deno.args,
  options: {
    seconds: { type: "string", default: "60" },
    seed: { type: "string" },
    concurrency: { type: "string", default: "4" },
    replay: { type: "string", multiple: true, default: [] },
    send: { type: "string", multiple: true, default: [] },
  },
});

if (!has("nats-server")) {
  console.error("fuzz: Debian's nats-server (/usr/sbin/nats-server) is needed as the oracle");
  Deno.exit(2);
}

const OBS = "fuzzobs.q7Zk";
const dnatsd = await ServerProcess.start({ config: FUZZ_CONFIG });
const reference = await ServerProcess.start({ config: FUZZ_CONFIG, reference: true });
let failed = false;
try {
  const replay = args.replay as string[];
  const send = args.send as string[];
  if (replay.length > 0 || send.length > 0) {
    const streams = [
      ...replay.map((r) => generateStream(...(r.split(":").map(Number) as [number, number]))),
      ...send.map((text, index) => {
        const bytes = unescapeBytes(text);
        return { seed: -1, index, bytes, chunks: [bytes.length], tags: [] };
      }),
    ];
    for (const s of streams) {
      const { seed, index } = s;
      const ours = await runOn(dnatsd.port, s, OBS, PATIENT);
      const theirs = await runOn(reference.port, s, OBS, PATIENT);
      const lit = (t: string) => escapeBytes(Uint8Array.from(t, (c) => c.charCodeAt(0)));
      console.log(`seed ${seed} index ${index} tags [${s.tags.join(", ")}]`);
      console.log(`  chunks      [${s.chunks.join(",")}]`);
      console.log(`  stream      "${escapeBytes(s.bytes)}"`);
      console.log(`  dnatsd      "${lit(ours.text)}" closed=${ours.closed}`);
      console.log(`  nats-server "${lit(theirs.text)}" closed=${theirs.closed}`);
      const same = ours.text === theirs.text && ours.closed === theirs.closed;
      const allowed = same
        ? undefined
        : ALLOWED_DIFFERENCES.find((a) => a.matches(s, ours, theirs));
      console.log(`  ${same ? "same" : allowed ? `allowed: ${allowed.name}` : "DIFFERENT"}`);
    }
  } else {
    const seed = args.seed === undefined ? Date.now() % 1_000_000 : Number(args.seed);
    const seconds = Number(args.seconds);
    console.log(
      `fuzz: seed ${seed}, ${seconds} s, dnatsd :${dnatsd.port}, nats-server :${reference.port}`,
    );
    const observer = new Observer(OBS);
    await observer.start(dnatsd.port);
    const result = await runDifferential({
      dnatsdPort: dnatsd.port,
      referencePort: reference.port,
      observerSubject: OBS,
      seeds: [seed],
      budgetMs: seconds * 1000,
      concurrency: Number(args.concurrency),
      allowed: ALLOWED_DIFFERENCES,
      onDifference: (d) => console.log(describe(d)),
    });
    await observer.stop();
    const finalProblem = await normalClientWorks(dnatsd.port);
    const allowed = result.differences.filter((d) => d.allowed).length;
    const unexplained = result.differences.length - allowed;
    console.log(
      `fuzz: ${result.compared} streams compared, ${unexplained} differences, ` +
        `${allowed} allowed differences, ${result.unconfirmed} timing-only (agreed on re-run)`,
    );
    console.log(
      `fuzz: observer published ${observer.published}, received ${observer.received}` +
        (observer.problems.length ? `; problems: ${observer.problems.join("; ")}` : ", none lost"),
    );
    const tags = [...result.tagCounts].sort((a, b) => b[1] - a[1]);
    console.log(`fuzz: mutations: ${tags.map(([t, n]) => `${t} ${n}`).join(", ")}`);
    console.log(`fuzz: final client: ${finalProblem ?? "ok"}`);
    const crash = CRASH_IN_LOG.exec(dnatsd.logs.text);
    if (crash) {
      console.log(
        `fuzz: dnatsd log shows an exception: ${
          crash.input.slice(crash.index - 300, crash.index + 700)
        }`,
      );
    }
    failed = unexplained > 0 || observer.problems.length > 0 || finalProblem !== null ||
      crash !== null;
  }
} finally {
  await dnatsd.stop();
  await reference.stop();
}
Deno.exit(failed ? 1 : 0);
