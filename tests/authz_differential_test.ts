/**
 * Differential tests of authorization against Debian's nats-server: a matrix
 * of users with allow/deny publish and subscribe lists (literal, `*`, `>`,
 * partial wildcards, deny inside allow, queue-group entries, the old list
 * form, allow_responses) crossed with publish subjects, subscribe subjects and
 * queue groups, generated programmatically. Each case runs on both servers
 * over raw sockets: the exact reply bytes (`-ERR 'Permissions Violation ...'`
 * or nothing), whether the connection stays open, what an unrestricted
 * observer receives from a publish, and which probe messages reach an allowed
 * subscription must be identical. Known, deliberate differences are listed in
 * {@link DELIBERATE} with their reason (also in the README).
 */
import { equal } from "node:assert/strict";
import { missing } from "./helpers/requires.ts";
import { ServerPair } from "./helpers/differential.ts";
import type { ServerProcess } from "./helpers/server.ts";
import { RawSession } from "./auth_helpers.ts";

/** User name -> permissions block (nats config syntax). */
const USERS: Record<string, string> = {
  pubAllowStar: `publish: {allow: ["foo.*"]}`,
  pubAllowGtDenyLiteral: `publish: {allow: ["foo.>"], deny: ["foo.bar", "foo.*.baz"]}`,
  pubDenyStar: `publish: {deny: ["foo.*"]}`,
  pubAllowPartial: `publish: {allow: ["*.bar", "baz", "foo.*.baz"]}`,
  pubDenyAll: `publish: {deny: [">"]}`,
  pubOldList: `publish: ["a.>", "foo"], subscribe: ["b.*"]`,
  subAllowStar: `subscribe: {allow: ["foo.*"]}`,
  subAllowGtDenyInside: `subscribe: {allow: ["foo.>"], deny: ["foo.secret.>", "foo.bar"]}`,
  subDenyStar: `subscribe: {deny: ["foo.*"]}`,
  subDenyGt: `subscribe: {deny: ["foo.>"]}`,
  subAllowPartial: `subscribe: {allow: ["*.bar", "foo.*.baz", "bar.>"]}`,
  subAllowAll: `subscribe: {allow: [">"], deny: ["foo.bar"]}`,
  queueAllow: `subscribe: {allow: ["foo.* q1", "bar.>"]}`,
  queueAllowWild: `subscribe: {allow: ["foo.> q.*", "foo.bar"]}`,
  queueDeny: `subscribe: {allow: ["foo.>", "bar.>"], deny: ["foo.* q1", "bar.x q.>"]}`,
  queueAllowGtQueue: `subscribe: {allow: ["> q1"]}`,
  responses: `publish: {allow: ["pub.>"]}, subscribe: {allow: ["req.>"]}, allow_responses: true`,
  responsesMax2: `subscribe: {allow: ["req.>"]}, allow_responses: {max: 2}`,
  responsesOnly: `allow_responses: true`,
  responsesDenied: `publish: {deny: ["_INBOX.>"]}, subscribe: {allow: ["req.>"]}, ` +
    `allow_responses: true`,
  importSubDeny: `subscribe: {allow: ["imp.>", "foo.>"], deny: ["imp.bar.x", "foo.bar"]}`,
  importPubDeny: `publish: {deny: ["b.c", "svc.>"]}`,
};

const PUB_SUBJECTS = [
  "foo",
  "foo.bar",
  "foo.baz",
  "foo.bar.baz",
  "foo.x.baz",
  "foo.*",
  "foo.>",
  "*",
  ">",
  "*.bar",
  "x.bar",
  "baz",
  "bar.x",
  "a.b",
  "b.c",
  "pub.x",
  "foo.secret.x",
];

const SUB_SUBJECTS = [
  "foo",
  "foo.bar",
  "foo.baz",
  "foo.*",
  "foo.>",
  "*",
  ">",
  "*.bar",
  "x.bar",
  "foo.*.baz",
  "foo.x.baz",
  "foo.secret.x",
  "foo.secret.>",
  "foo.bar.baz",
  "bar.x",
  "bar.*",
  "b.c",
  "b.*",
  "req.>",
  "imp.>",
  "imp.bar.*",
];

const QUEUES: Array<string | null> = [null, "q1", "q2", "q.x"];

/** Messages the observer publishes while a subscription is open. */
const PROBES = [
  "foo.bar",
  "foo.baz",
  "foo.secret.x",
  "foo.bar.baz",
  "foo.x.baz",
  "bar.x",
  "x.bar",
  "b.c",
  "req.1",
];

/**
 * Cases where dnatsd is stricter than nats-server on purpose (README, "Differences
 * from nats-server"); in each, dnatsd must answer with the -ERR shown.
 *
 * - nats-server matches a subscription subject against the subscribe allow list
 *   as if it were a literal subject, so `foo.*` also grants `SUB foo.>` (the `*`
 *   entry matches the token `>`), and the client then receives `foo.a.b`, which
 *   the allow list does not cover. dnatsd requires the subscription to be a
 *   subset of an allow entry.
 * - nats-server lets an `allow_responses` grant override a publish deny entry;
 *   in dnatsd a deny entry always wins.
 */
const DELIBERATE = new Map<string, string>([
  ...["", " q1", " q2", " q.x"].map((q): [string, string] => [
    `subAllowStar: SUB foo.>${q}`,
    `-ERR 'Permissions Violation for Subscription to "foo.>"${
      q ? ` using queue "${q.trim()}"` : ""
    }'\r\n`,
  ]),
  [
    "queueAllow: SUB foo.> q1",
    `-ERR 'Permissions Violation for Subscription to "foo.>" using queue "q1"'\r\n`,
  ],
  [
    "responsesDenied: reply to a request",
    `-ERR 'Permissions Violation for Publish to "_INBOX.r5"'\r\n`,
  ],
]);

/**
 * Cases where nats-server 2.9 delivers a subject the subscriber's deny list
 * names: a queue subscription receiving through a stream import is checked
 * against the exporter's subject (`bar.x`) rather than the one it receives
 * (`imp.bar.x`). dnatsd checks the subject the client receives, so no import
 * lets a client read what its permissions deny (README, "Differences from
 * nats-server").
 */
const DELIBERATE_IMPORT_DENY = new Set(
  ["imp.>", "imp.bar.*"].flatMap((s) =>
    ["q1", "q2", "q.x"].map((q) => `importSubDeny: SUB ${s} ${q}`)
  ),
);

/** What the user received after the exporter's probes (the step after `exporter:`). */
function afterExporter(result: string): string {
  return /exporter:"[^"]*" user:"([^"]*)"/.exec(result)?.[1] ?? "";
}

/** dnatsd's extra log lines of the deliberate differences: user, line, how many. */
const DELIBERATE_LOG: Array<[string, RegExp, number]> = [
  ["subAllowStar", /Subscription Violation .*Subject "foo\.>"/, 4],
  ["queueAllow", /Subscription Violation .*Subject "foo\.>", Queue: "q1"/, 1],
  ["responsesDenied", /Publish Violation .*Subject "_INBOX\.r5"$/, 1],
];

/** Drops the first `n` lines matching each deliberate entry of `user`. */
function withoutDeliberate(user: string, lines: string[]): string[] {
  const out = [...lines];
  for (const [u, re, n] of DELIBERATE_LOG) {
    if (u !== user) continue;
    for (let left = n; left > 0; left--) {
      const i = out.findIndex((l) => re.test(l));
      if (i < 0) break;
      out.splice(i, 1);
    }
  }
  return out;
}

interface Step {
  /** The user, an unrestricted observer in its account, or one in the account it imports from. */
  who: "user" | "observer" | "exporter";
  text: string;
}

interface MatrixCase {
  name: string;
  user: string;
  steps: Step[];
}

function pubCases(): MatrixCase[] {
  const cases: MatrixCase[] = [];
  for (const user of Object.keys(USERS)) {
    for (const subject of PUB_SUBJECTS) {
      cases.push({
        name: `${user}: PUB ${subject}`,
        user,
        steps: [
          { who: "user", text: `PUB ${subject} 2\r\nhi\r\n` },
          { who: "observer", text: "" },
          // What the publish caused through the service import (`b.>` to `svc.>`).
          { who: "exporter", text: "" },
        ],
      });
    }
  }
  return cases;
}

function subCases(): MatrixCase[] {
  const cases: MatrixCase[] = [];
  let sid = 100;
  for (const user of Object.keys(USERS)) {
    for (const subject of SUB_SUBJECTS) {
      for (const queue of QUEUES) {
        const id = ++sid;
        const probes = PROBES.map((p) => `PUB ${p} 1\r\nx\r\n`).join("");
        cases.push({
          name: `${user}: SUB ${subject}${queue ? " " + queue : ""}`,
          user,
          steps: [
            { who: "user", text: `SUB ${subject}${queue ? " " + queue : ""} ${id}\r\n` },
            { who: "observer", text: probes },
            { who: "user", text: "" },
            // The same probes through the stream imports (`foo.>` as is, `bar.>` as `imp.bar.>`).
            { who: "exporter", text: probes },
            { who: "user", text: "" },
            { who: "user", text: `UNSUB ${id}\r\n` },
          ],
        });
      }
    }
  }
  return cases;
}

/** Replies to requests: the grant is per delivered reply subject, counted and consumed. */
function responseCases(): MatrixCase[] {
  const cases: MatrixCase[] = [];
  let n = 0;
  for (
    const user of [
      "responses",
      "responsesMax2",
      "responsesOnly",
      "subAllowGtDenyInside",
      "responsesDenied",
    ]
  ) {
    const reply = `_INBOX.r${++n}`;
    cases.push({
      name: `${user}: reply to a request`,
      user,
      steps: [
        { who: "user", text: `SUB req.> 7\r\n` },
        { who: "observer", text: `PUB req.1 ${reply} 1\r\nq\r\n` },
        { who: "user", text: "" },
        { who: "user", text: `PUB ${reply} 1\r\na\r\n` },
        { who: "user", text: `PUB ${reply} 1\r\nb\r\n` },
        { who: "user", text: `PUB ${reply} 1\r\nc\r\n` },
        { who: "user", text: `PUB ${reply}.x 1\r\nd\r\n` },
        { who: "user", text: `PUB _INBOX.other 1\r\ne\r\n` },
        { who: "observer", text: "" },
        { who: "user", text: `UNSUB 7\r\n` },
      ],
    });
  }
  return cases;
}

/**
 * One account per user, with its own unrestricted observer: users run in
 * parallel. Each user's account also imports streams and a service from an
 * account of its own with an unrestricted `exporter` client, so every case
 * checks that no import lets the user read or publish beyond its permissions.
 */
function config(): string {
  const accounts = Object.entries(USERS).map(([u, p]) =>
    `  A_${u} {\n    users: [\n    {user: ${u}, password: pw, permissions: {${p}}}\n` +
    `    {user: observer_${u}, password: pw}\n  ]\n` +
    `    imports: [\n      {stream: {account: X_${u}, subject: "foo.>"}}\n` +
    `      {stream: {account: X_${u}, subject: "bar.>"}, prefix: imp}\n` +
    `      {service: {account: X_${u}, subject: "svc.>"}, to: "b.>"}\n    ]\n  }\n` +
    `  X_${u} {\n    users: [{user: exporter_${u}, password: pw}]\n` +
    `    exports: [{stream: ">", accounts: [A_${u}]}, {service: "svc.>"}]\n  }`
  );
  return `accounts {\n${accounts.join("\n")}\n}\n`;
}

/** Sessions of one server, opened on first use and reopened after a close. */
class Sessions {
  readonly #server: ServerProcess;
  readonly #open = new Map<string, RawSession>();

  constructor(server: ServerProcess) {
    this.#server = server;
  }

  async get(user: string): Promise<RawSession> {
    let s = this.#open.get(user);
    if (s && !s.raw.closed) return s;
    s = await RawSession.open(this.#server, { user, pass: "pw", echo: false });
    this.cids.set(user, [...this.cids.get(user) ?? [], Number(s.info.client_id)]);
    if (user.startsWith("observer_") || user.startsWith("exporter_")) {
      await s.step("SUB > 1\r\n");
    }
    this.#open.set(user, s);
    return s;
  }

  async run(c: MatrixCase): Promise<string> {
    const out: string[] = [];
    for (const step of c.steps) {
      const who = step.who === "user" ? c.user : `${step.who}_${c.user}`;
      const session = await this.get(who);
      // Keep-alive PINGs from the server depend on timing, not on the case.
      const reply = (await session.step(step.text)).replaceAll(/^PING\r\n/gm, "");
      out.push(`${step.who}:${JSON.stringify(reply)}${session.raw.closed ? "<closed>" : ""}`);
    }
    return out.join(" ");
  }

  /** Client ids of the sessions opened for `user` (more than one if one was closed). */
  readonly cids = new Map<string, number[]>();

  async close(): Promise<void> {
    for (const s of this.#open.values()) await s.close();
  }
}

/** The `[ERR]`/`[WRN]` lines of connection `cid`, without time and address. */
function connectionLog(text: string, cid: number): string[] {
  const re = new RegExp(`\\[(ERR|WRN)\\] [^ ]+ - cid:${cid} - (.*)$`, "gm");
  return [...text.matchAll(re)].map((m) => `[${m[1]}] ${m[2]}`);
}

Deno.test({
  name: "authz differential: permissions matrix (publish, subscribe, queues, allow_responses)",
  ignore: missing("nats-server"),
  fn: async () => {
    const cases = [...pubCases(), ...subCases(), ...responseCases()];
    const pair = await ServerPair.start({ config: config() });
    const mismatches: string[] = [];
    const deliberate: string[] = [];
    const logs: Array<[Sessions, Sessions]> = [];
    let logLines = 0;
    try {
      // Users are in separate accounts: each user's cases run in order, users in parallel.
      const byUser = Object.keys(USERS).map((u) => cases.filter((c) => c.user === u));
      let next = 0;
      const worker = async () => {
        const d = new Sessions(pair.dnatsd);
        const n = new Sessions(pair.natsServer);
        try {
          while (next < byUser.length) {
            for (const c of byUser[next++]) {
              const [dr, nr] = await Promise.all([d.run(c), n.run(c)]);
              if (dr === nr) continue;
              const line = `${c.name}\n  nats-server: ${nr}\n  dnatsd:      ${dr}`;
              const want = DELIBERATE.get(c.name);
              if (want !== undefined && dr.includes(JSON.stringify(want))) deliberate.push(line);
              else if (
                DELIBERATE_IMPORT_DENY.has(c.name) &&
                afterExporter(nr).includes("MSG imp.bar.x ") &&
                !afterExporter(dr).includes("imp.bar.x")
              ) deliberate.push(line);
              else mismatches.push(line);
            }
          }
        } finally {
          await d.close();
          await n.close();
          logs.push([d, n]);
        }
      };
      await Promise.all(Array.from({ length: 4 }, worker));
      // The violation log lines of each user's connection, in order, must match too
      // (less the lines of the deliberate differences, which nats-server does not log).
      for (const s of [pair.dnatsd, pair.natsServer]) {
        await s.waitForLog(/Violation/, 2000).catch(() => {});
      }
      await new Promise((r) => setTimeout(r, 300)); // the last lines' pipe write
      for (const [d, n] of logs) {
        for (const [user, dCids] of d.cids) {
          const nCids = n.cids.get(user) ?? [];
          const dLines = withoutDeliberate(
            user,
            dCids.flatMap((cid) => connectionLog(pair.dnatsd.logs.text, cid)),
          );
          const nLines = nCids.flatMap((cid) => connectionLog(pair.natsServer.logs.text, cid));
          logLines += nLines.length;
          if (dLines.join("\n") !== nLines.join("\n")) {
            const i = dLines.findIndex((l, k) => l !== nLines[k]);
            mismatches.push(
              `log of ${user}, line ${i}: nats-server ${JSON.stringify(nLines[i])}, ` +
                `dnatsd ${JSON.stringify(dLines[i])} (${nLines.length} vs ${dLines.length} lines)`,
            );
          }
        }
      }
    } finally {
      await pair.stop();
    }
    console.error(
      `authz differential: ${cases.length} cases, ${deliberate.length} deliberate differences, ` +
        `${logLines} violation log lines compared`,
    );
    equal(
      mismatches.length,
      0,
      `${mismatches.length} of ${cases.length} differ:\n${mismatches.slice(0, 60).join("\n")}`,
    );
  },
});
