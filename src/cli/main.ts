#!/usr/bin/env node
/**
 * The `sysg` command line. It stays thin: parse arguments, call the library,
 * print diagnostics, choose the exit status. Bad input never yields a stack
 * trace: diagnostics name file:line (or the YAML field) and the exit status is
 * non-zero.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command, CommanderError, Option } from 'commander';
import { packageRoot } from '../package-root.js';
import { runConvert } from './convert.js';
import { runRun } from './run.js';
import { runValidate } from './validate.js';

function version(): string {
  const pkg = JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version: string };
  return pkg.version;
}

export function buildProgram(): Command {
  const program = new Command();
  program
    .name('sysg')
    .description('Run systemd unit files without systemd: read them exactly as systemd does, convert them to systemg-compatible YAML, and validate manifests.')
    .version(version(), '-V, --version')
    .showHelpAfterError('(run sysg --help for usage)')
    .configureOutput({ outputError: (str, write) => write(`sysg: ${str.replace(/^error: /, 'error: ')}`) })
    .exitOverride();

  program
    .command('convert')
    .description('Translate unit files (.service, .socket with its service, .timer) into one YAML manifest on stdout')
    .argument('<unit...>', 'unit file paths, or unit names looked up on the unit search path')
    .option('--strict', 'exit 1 if any directive was not translated')
    .option('--json', 'print the manifest as JSON instead of commented YAML')
    .addOption(new Option('--unit-path <dir>', 'search units and drop-ins here instead of the system unit path (repeatable; SYSTEMD_UNIT_PATH works too)').argParser(collect).default([]))
    .action((units: string[], opts: { strict?: boolean; json?: boolean; unitPath: string[] }) => {
      process.exitCode = runConvert(units, { strict: opts.strict === true, json: opts.json === true, unitPath: opts.unitPath });
    });

  program
    .command('validate')
    .description('Check YAML manifests: schema (unknown keys are errors), value grammars and cross-references')
    .argument('<manifest...>', 'YAML manifest files')
    .option('--json', 'print findings as JSON')
    .action((files: string[], opts: { json?: boolean }) => {
      process.exitCode = runValidate(files, { json: opts.json === true });
    });

  program
    .command('run')
    .description('Run units (.service files or names on the unit path) or YAML manifests in the foreground, every sandbox directive enforced')
    .argument('<unit...>', 'unit file paths, unit names, or .yaml manifests')
    .addOption(new Option('--unit-path <dir>', 'search units and drop-ins here instead of the system unit path (repeatable)').argParser(collect).default([]))
    .option('--best-effort-sandbox', 'start even when a requested protection is not enforced (one warning per directive)')
    .option('--result-file <file>', 'write each service\'s result and commands as JSON')
    .action(async (units: string[], opts: { unitPath: string[]; bestEffortSandbox?: boolean; resultFile?: string }) => {
      process.exitCode = await runRun(units, {
        unitPath: opts.unitPath,
        bestEffortSandbox: opts.bestEffortSandbox === true,
        ...(opts.resultFile ? { resultFile: opts.resultFile } : {}),
      });
    });

  return program;
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

export async function main(argv: readonly string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv as string[], { from: 'node' });
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : 2;
    throw e;
  }
  return typeof process.exitCode === 'number' ? process.exitCode : 0;
}

try {
  process.exitCode = await main(process.argv);
} catch (e) {
  // A bug, not bad input: say so without a stack trace unless asked for one.
  const err = e instanceof Error ? e : new Error(String(e));
  process.stderr.write(`sysg: internal error: ${err.message}\n`);
  if (process.env.SYSG_DEBUG) process.stderr.write(`${err.stack ?? ''}\n`);
  process.exitCode = 70;
}
