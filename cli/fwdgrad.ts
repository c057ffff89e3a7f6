// The `fwdgrad` command line: training, data sets and gradient-quality measurements, one file per
// command in cli/commands/, each declaring its flags once (usage line, flag list and checks come
// from that table). Exit statuses: 0 done; 2 input refused before any work (one line and a usage
// hint); 1 a fault during work (a file that cannot be written, memory, a thread: one line naming
// the path or resource, the operation and the reason) or a training run that stopped early; 130 or
// 143 an interrupt (SIGINT, SIGTERM).
import { realpathSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { FwdgradError, FwdgradFault } from "../engine/errors.ts";
import { describeFlags, parseFlags, usage, UsageError, type Command } from "./args.ts";
import { compareCommand } from "./commands/compare.ts";
import { dataCommand } from "./commands/data.ts";
import { demoCommand } from "./commands/demo.ts";
import { exportCommand } from "./commands/export.ts";
import { predictCommand } from "./commands/predict.ts";
import { qualityCommand } from "./commands/quality.ts";
import { reproduceCommand } from "./commands/reproduce.ts";
import { IoFault, reason, releaseLocks } from "./files.ts";
import { setCommandLine } from "./io.ts";
import { trainCommand } from "./commands/train.ts";

/** The commands by name; exported so tests can parse against the real flag specs. */
export const COMMANDS: Record<string, Command> = {
  demo: demoCommand,
  compare: compareCommand,
  reproduce: reproduceCommand,
  train: trainCommand,
  data: dataCommand,
  quality: qualityCommand,
  export: exportCommand,
  predict: predictCommand,
};

function help(): string {
  return [
    "fwdgrad: training neural networks without backpropagation",
    "",
    "commands:",
    ...Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(10)}${c.summary}`),
    "",
    ...Object.entries(COMMANDS).flatMap(([name, c]) => [usage(name, c), describeFlags(c.flags), ""]),
  ].join("\n");
}

/** One line however the text came: newlines and other control characters (say, in a path) escaped. */
function oneLine(text: string): string {
  return text.replace(/[\x00-\x1f\x7f]/g, (c) => (c === "\n" ? "\\n" : c === "\r" ? "\\r" : c === "\t" ? "\\t" : `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`));
}

/** Runs one command line; resolves to the exit status: 0 done, 1 a fault during work, a run stopped early or an internal error, 2 bad input. */
export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === "--help" || name === "-h" || name === "help") {
    console.log(help());
    return name === undefined ? 2 : 0;
  }
  // Own keys only: "toString" or "__proto__" are not commands.
  const command = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  setCommandLine(argv);
  try {
    if (!command) throw new UsageError(`unknown command ${JSON.stringify(name)}`);
    if (rest.includes("--help")) {
      console.log(`${usage(name, command)}\n${describeFlags(command.flags)}${command.notes ? `\n\n${command.notes()}` : ""}`);
      return 0;
    }
    const { flags, positional, given } = parseFlags(rest, command.flags);
    const allowed = command.positionals ?? 0;
    if (positional.length > allowed) throw new UsageError(`unexpected argument ${JSON.stringify(positional[allowed])}`);
    return (await command.run(flags, positional, given)) ?? 0;
  } catch (error) {
    if (process.env.FWDGRAD_DEBUG === "1") console.error(error instanceof Error ? error.stack : error);
    // A fault of the machine under correct input: what failed and why, no usage line.
    if (error instanceof IoFault || error instanceof FwdgradFault) {
      console.error(`fwdgrad: ${oneLine(error.message)}`);
      return 1;
    }
    if (error instanceof UsageError || error instanceof FwdgradError) {
      console.error(`fwdgrad: ${oneLine(error.message)}`);
      console.error(`usage: ${command ? usage(name, command) : "fwdgrad <command> [flags]; fwdgrad --help lists them"}`);
      return 2;
    }
    // A bug, not a mistake of the caller: one line here, the stack with FWDGRAD_DEBUG=1.
    console.error(`fwdgrad: internal error: ${oneLine(error instanceof Error ? error.message : String(error))}${process.env.FWDGRAD_DEBUG === "1" ? "" : " (FWDGRAD_DEBUG=1 shows the stack)"}`);
    return 1;
  } finally {
    releaseLocks();
  }
}

/** Whether this module is the program being run (node cli/fwdgrad.ts, or the package's bin), not a test importing it. */
function isProgram(): boolean {
  const script = process.argv[1];
  if (script === undefined) return false;
  try {
    return realpathSync(script) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isProgram()) {
  // A reader that stops early (`fwdgrad train --json | head -3`) closes the pipe; the rest of the
  // output has nowhere to go, which is no error of ours and no reason for a stack trace. A full
  // disk or an I/O error under the output is a fault: one line on stderr, exit 1.
  for (const [stream, name] of [[process.stdout, "standard output"], [process.stderr, "standard error"]] as const) {
    stream.on("error", (error: NodeJS.ErrnoException) => {
      if (error.code === "EPIPE" || error.code === "ERR_STREAM_DESTROYED") return;
      if (stream === process.stdout) process.stderr.write(`fwdgrad: cannot write to ${name}: ${reason(error)}\n`);
      releaseLocks();
      process.exit(1);
    });
  }
  process.exitCode = await main(process.argv.slice(2));
}
