/**
 * Fails when the project's own modules import each other in a circle.
 *
 *     deno run -A tools/check_cycles.ts [entry ...]    (default: main.ts mod.ts)
 *
 * It reads the module graph that `deno info --json` prints and looks for
 * strongly connected components among local files. Static and dynamic
 * (`await import()`) imports both count: a lazily loaded feature module that
 * imports its loader back is still a circle a reader has to untangle.
 * `import type` edges do not count: they are erased before run time, so they
 * cannot change the order modules are evaluated in, and an interface declared
 * by the lower layer and implemented by the upper one is the usual way to
 * point a dependency downward.
 *
 * Exit status 1 with each circle printed (files and the edges that close it),
 * 0 when there is none.
 *
 * @module
 */

interface InfoDependency {
  specifier: string;
  code?: { specifier: string };
  type?: { specifier: string };
  isDynamic?: boolean;
}

interface InfoModule {
  specifier: string;
  dependencies?: InfoDependency[];
}

/** Edges between local modules that exist at run time (type-only imports left out). */
export function runtimeGraph(modules: InfoModule[], root: string): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  const local = (s: string) => s.startsWith(root);
  for (const m of modules) {
    if (!local(m.specifier)) continue;
    const out: string[] = [];
    for (const d of m.dependencies ?? []) {
      const target = d.code?.specifier;
      if (target !== undefined && local(target)) out.push(target);
    }
    graph.set(m.specifier, out);
  }
  return graph;
}

/** Strongly connected components with more than one module, or a module importing itself. */
export function cycles(graph: Map<string, string[]>): string[][] {
  // Tarjan's algorithm, iterative so a deep graph cannot overflow the stack.
  let index = 0;
  const indexOf = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const found: string[][] = [];
  for (const start of graph.keys()) {
    if (indexOf.has(start)) continue;
    const work: Array<{ node: string; next: number }> = [{ node: start, next: 0 }];
    indexOf.set(start, index);
    low.set(start, index++);
    stack.push(start);
    onStack.add(start);
    while (work.length > 0) {
      const frame = work[work.length - 1]!;
      const edges = graph.get(frame.node) ?? [];
      if (frame.next < edges.length) {
        const to = edges[frame.next++]!;
        if (!indexOf.has(to)) {
          indexOf.set(to, index);
          low.set(to, index++);
          stack.push(to);
          onStack.add(to);
          work.push({ node: to, next: 0 });
        } else if (onStack.has(to)) {
          low.set(frame.node, Math.min(low.get(frame.node)!, indexOf.get(to)!));
        }
        continue;
      }
      work.pop();
      const parent = work[work.length - 1];
      if (parent !== undefined) {
        low.set(parent.node, Math.min(low.get(parent.node)!, low.get(frame.node)!));
      }
      if (low.get(frame.node) !== indexOf.get(frame.node)) continue;
      const component: string[] = [];
      let member: string;
      do {
        member = stack.pop()!;
        onStack.delete(member);
        component.push(member);
      } while (member !== frame.node);
      const selfLoop = (graph.get(frame.node) ?? []).includes(frame.node);
      if (component.length > 1 || selfLoop) found.push(component.sort());
    }
  }
  return found;
}

if (import.meta.main) {
  const entries = Deno.args.length > 0 ? Deno.args : ["main.ts", "mod.ts"];
  const root = new URL("../", import.meta.url).href;
  const modules: InfoModule[] = [];
  for (const entry of entries) {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["info", "--json", entry],
      cwd: new URL(".", root).pathname,
      stderr: "inherit",
    }).output();
    if (!out.success) Deno.exit(2);
    modules.push(...(JSON.parse(new TextDecoder().decode(out.stdout)).modules as InfoModule[]));
  }
  const graph = runtimeGraph(modules, root + "lib/");
  const found = cycles(graph);
  const rel = (s: string) => s.slice(root.length);
  for (const component of found) {
    console.error(`import cycle among ${component.length} modules:`);
    const members = new Set(component);
    for (const from of component) {
      for (const to of graph.get(from) ?? []) {
        if (members.has(to)) console.error(`  ${rel(from)} -> ${rel(to)}`);
      }
    }
  }
  if (found.length > 0) Deno.exit(1);
  console.log(`no import cycles among ${graph.size} modules`);
}
