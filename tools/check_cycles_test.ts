import { deepStrictEqual } from "node:assert/strict";
import { cycles, runtimeGraph } from "./check_cycles.ts";

const R = "file:///r/lib/";

Deno.test("cycles() finds every circle and leaves a chain alone", () => {
  const graph = new Map<string, string[]>([
    ["a", ["b"]],
    ["b", ["c"]],
    ["c", ["a", "d"]],
    ["d", []],
    ["e", ["e"]],
    ["f", ["d"]],
  ]);
  deepStrictEqual(cycles(graph), [["a", "b", "c"], ["e"]]);
  deepStrictEqual(cycles(new Map([["x", ["y"]], ["y", []]])), []);
});

Deno.test("runtimeGraph() keeps code imports (static and dynamic) and drops type-only ones", () => {
  const graph = runtimeGraph([
    {
      specifier: R + "server.ts",
      dependencies: [
        { specifier: "./cluster.ts", code: { specifier: R + "cluster.ts" }, isDynamic: true },
        { specifier: "npm:x", code: { specifier: "npm:x" } },
      ],
    },
    {
      specifier: R + "cluster.ts",
      dependencies: [{ specifier: "./server.ts", type: { specifier: R + "server.ts" } }],
    },
  ], R);
  deepStrictEqual(graph.get(R + "server.ts"), [R + "cluster.ts"]);
  deepStrictEqual(graph.get(R + "cluster.ts"), []);
  deepStrictEqual(cycles(graph), []);
});

Deno.test("cycles() survives a long chain without recursion", () => {
  const graph = new Map<string, string[]>();
  for (let i = 0; i < 50_000; i++) graph.set(`m${i}`, [`m${i + 1}`]);
  graph.set("m50000", ["m0"]);
  deepStrictEqual(cycles(graph).map((c) => c.length), [50_001]);
});
