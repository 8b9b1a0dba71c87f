#!/usr/bin/env node
// The `lvm` command. Sources are TypeScript run by Node's built-in type stripping (Node >= 22.18).
if (!process.features?.typescript) {
  console.error(`lvm needs Node >= 22.18 (TypeScript type stripping); this is Node ${process.version}`);
  process.exit(1);
}
const { main } = await import("../src/cli/main.ts");
process.exitCode = await main(process.argv.slice(2));
