import { StoreError } from "../store/format.ts";
import { type Command, parseCommandArgs, UsageError } from "./command.ts";
import { exportOnnxCommand } from "./export-onnx.ts";
import { indexCommand } from "./index.ts";
import { ingestCommand } from "./ingest.ts";
import { metricsCommand } from "./metrics.ts";
import { modelsCommand } from "./models.ts";
import { quantizeCommand } from "./quantize.ts";
import { serveCommand } from "./serve.ts";

const commands: Command[] = [
  ingestCommand,
  metricsCommand,
  serveCommand,
  trainCommand,
  evalCommand,
  exportOnnxCommand,
  indexCommand,
  modelsCommand,
];

function overview(): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  return `lvm — next-concept prediction tools\n\nUsage: lvm <command> [options]   (lvm <command> --help for its options)\n\nCommands:\n${commands
    .map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`)
    .join("\n")}`;
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === "--help" || name === "-h" || name === "help") {
    console.log(overview());
    return name ? 0 : 1;
  }
  const command = commands.find((c) => c.name === name);
  if (!command) {
    console.error(`lvm: unknown command '${name}'\n\n${overview()}`);
    return 2;
  }
  try {
    const { values, positionals } = parseCommandArgs(command, rest);
    if (values.help) {
      console.log(command.usage);
      return 0;
    }
    return await command.run(values, positionals);
  } catch (error) {
    if (error instanceof UsageError) {
      console.error(`lvm ${name}: ${error.message}\n\n${command.usage}`);
      return 2;
    }
    // Expected failures (bad input, mismatched store) are one clear line; anything else keeps its stack.
    const expected =
      error instanceof StoreError || (error instanceof Error && !(error instanceof TypeError) && !(error instanceof RangeError));
    console.error(`lvm ${name}: ${expected ? (error as Error).message : (error as Error).stack}`);
    return 1;
  }
}
