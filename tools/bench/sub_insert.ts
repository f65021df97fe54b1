/**
 * Cold inserts: a fresh process inserts the wildcard workload's 10,000
 * subscriptions (`deno task bench --only wildcard`) into a new `Sublist`
 * through `Sublist.insert()` (what a client's SUB does: the subject checked
 * and inserted), with no sockets and no parser. Prints the JavaScript
 * thread's CPU for the inserts and all threads' CPU from just before them to
 * 50 ms after (V8's compiler threads finish their work in that time).
 *
 * Usage: `deno run -A tools/bench/sub_insert.ts <pairs> <rootA> <rootB>`
 * runs each root's `lib/router/sublist.ts` in a fresh process, alternating A
 * and B for `pairs` pairs, and prints B/A medians of the pair ratios and in
 * how many pairs B was lower (docs/performance/subjects.md, "ninth round").
 * With `--one <root>` it is one such process (the driver runs itself so).
 *
 * @module
 */

/** CPU ns of this thread (schedstat field 1). */
function threadNs(): number {
  return Number(Deno.readTextFileSync("/proc/thread-self/schedstat").split(" ")[0]);
}

/** CPU ns of every thread of this process. */
function processNs(): number {
  let sum = 0;
  for (const e of Deno.readDirSync("/proc/self/task")) {
    try {
      sum += Number(Deno.readTextFileSync(`/proc/self/task/${e.name}/schedstat`).split(" ")[0]);
    } catch {
      // the thread ended
    }
  }
  return sum;
}

/** A subscription as the sublist sees it, with a sid as the server's has. */
class Sub {
  readonly queue = null;
  constructor(readonly subject: string, readonly sid: string) {}
}

async function one(spec: string): Promise<void> {
  // `<root>:classified` checks the subject first and then inserts, as a SUB
  // did before the ninth round (classifySubject(), then insertClassified()).
  const classified = spec.endsWith(":classified");
  const root = `file://${spec.replace(/:classified$/, "").replace(/\/?$/, "/")}lib/router/`;
  const { Sublist } = await import(`${root}sublist.ts`);
  const { classifySubject } = classified ? await import(`${root}subject.ts`) : {};
  const subs: Sub[] = [];
  for (let i = 0; i < 5000; i++) subs.push(new Sub(`r0.${i}.*`, `${i + 1}`));
  for (let i = 0; i < 4990; i++) subs.push(new Sub(`r0.*.${i}`, `${5001 + i}`));
  for (let i = 0; i < 10; i++) subs.push(new Sub(`r0.${i}.>`, `${9991 + i}`));
  const list = new Sublist();
  const p0 = processNs();
  const t0 = threadNs();
  for (let i = 0; i < subs.length; i++) {
    const sub = subs[i]!;
    const ok = classified
      ? list.insertClassified(sub, classifySubject(sub.subject))
      : list.insert(sub);
    if (!ok) throw new Error(`insert ${sub.subject}`);
  }
  const js = threadNs() - t0;
  await new Promise((r) => setTimeout(r, 50));
  const all = processNs() - p0;
  if (list.match("r0.7.7").plain.length !== 3) throw new Error("match");
  console.log(JSON.stringify({ js: js / 1e6, all: all / 1e6 }));
}

async function run(root: string): Promise<{ js: number; all: number }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL(import.meta.url).pathname, "--one", root],
    stderr: "inherit",
  }).output();
  return JSON.parse(new TextDecoder().decode(out.stdout));
}

const median = (xs: number[]) => {
  const s = xs.slice().sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

if (Deno.args[0] === "--one") {
  await one(Deno.args[1]!);
} else {
  const [pairsArg, a, b] = Deno.args;
  const pairs = Number(pairsArg);
  const ra: { js: number; all: number }[] = [];
  const rb: { js: number; all: number }[] = [];
  for (let k = 0; k < pairs; k++) {
    if (k % 2 === 0) {
      ra.push(await run(a!));
      rb.push(await run(b!));
    } else {
      rb.push(await run(b!));
      ra.push(await run(a!));
    }
  }
  for (const f of ["js", "all"] as const) {
    const ratios = ra.map((x, i) => rb[i]![f] / x[f]);
    console.log(
      `${f}: A ${median(ra.map((x) => x[f])).toFixed(2)} ms, B ${
        median(rb.map((x) => x[f])).toFixed(2)
      } ms, B/A ${median(ratios).toFixed(3)}, B lower in ${
        ratios.filter((r) => r < 1).length
      }/${pairs}`,
    );
  }
}
