import { execFileSync, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { describe, expect, it } from "vitest";

const script = new URL("../../scripts/check-node.cjs", import.meta.url);
const { nodeProblem } = createRequire(import.meta.url)(script.pathname) as { nodeProblem: (v: string) => string | undefined };

describe("the Node version check (npm preinstall, build, start)", () => {
  it("gives an old Node one line saying what is needed and how to get it", () => {
    const line = nodeProblem("v20.20.2");
    expect(line).toMatch(/needs Node\.js >= 22\.18 \(this is v20\.20\.2\): install Node 24 LTS/);
    expect(line).not.toContain("\n");
    expect(nodeProblem("v22.17.1")).toBeDefined();
    expect(nodeProblem("v18.0.0")).toBeDefined();
  });

  it("accepts 22.18 and later", () => {
    for (const v of ["v22.18.0", "v22.20.1", "v23.0.0", "v24.21.0", "v30.1.0"]) expect(nodeProblem(v)).toBeUndefined();
  });

  it("exits 0 silently on this Node", () => {
    expect(execFileSync(process.execPath, [script.pathname], { encoding: "utf8" })).toBe("");
  });

  // The machine's own Node where it is an old one (Debian's Node 20 here): the real thing, not a stand-in.
  const systemNode = "/usr/bin/node";
  const old = existsSync(systemNode) && nodeProblem(execFileSync(systemNode, ["--version"], { encoding: "utf8" }).trim());
  it.skipIf(!old)("prints the line and fails under the system's old Node", () => {
    const run = spawnSync(systemNode, [script.pathname], { encoding: "utf8" });
    expect(run.status).toBe(1);
    expect(run.stderr.trim().split("\n")).toHaveLength(1);
    expect(run.stderr).toContain("needs Node.js >= 22.18");
  });
});
