/**
 * Standard streams of a service, supervisor side: the plan's stdio intents
 * become fds the zygote duplicates (a log pipe per service, a file holding
 * StandardInputData=, or files the child opens itself).
 */
import { closeSync, openSync, unlinkSync, writeFileSync } from 'node:fs';
import { Socket } from 'node:net';
import { O_CLOEXEC } from '../sys/constants.js';
import { cZero } from '../sys/cmem.js';
import { pipe2 } from '../sys/libc.js';
import type { StdioSpec } from '../launch/plan.js';
import type { StdioIntent } from '../plan/process.js';

/** Where a service's log lines go (the foreground stream, log files, …). */
export type LogSink = (line: string, stream: 'stdout' | 'stderr') => void;

/** One pipe per service: its write end is given to every command; lines are read here. */
export class LogPipe {
  readonly writeFd: number;
  private readonly sock: Socket;
  private buffered = '';
  private readonly done: Promise<void>;

  constructor(private readonly sink: LogSink) {
    const fds = cZero(8);
    if (pipe2(fds, O_CLOEXEC) < 0) throw new Error('sysg: pipe2 failed');
    const readFd = fds.readInt32LE(0);
    this.writeFd = fds.readInt32LE(4);
    this.sock = new Socket({ fd: readFd, readable: true, writable: false });
    this.sock.setEncoding('utf8');
    this.sock.on('data', (chunk: string) => this.onData(chunk));
    this.done = new Promise((resolve) => this.sock.once('close', () => resolve()));
    this.sock.on('error', () => undefined);
  }

  private onData(chunk: string): void {
    this.buffered += chunk;
    for (let nl = this.buffered.indexOf('\n'); nl >= 0; nl = this.buffered.indexOf('\n')) {
      this.sink(this.buffered.slice(0, nl), 'stdout');
      this.buffered = this.buffered.slice(nl + 1);
    }
  }

  /** Closes our write end; resolves once every writer is gone and the rest is flushed (bounded wait). */
  async close(waitMs = 200): Promise<void> {
    try {
      closeSync(this.writeFd);
    } catch {
      /* already closed */
    }
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.done, new Promise<void>((r) => (timer = setTimeout(r, waitMs)))]);
    clearTimeout(timer);
    if (this.buffered) this.sink(this.buffered, 'stdout');
    this.buffered = '';
    this.sock.destroy();
  }
}

export interface ResolvedStdio {
  readonly stdin: StdioSpec;
  readonly stdout: StdioSpec;
  readonly stderr: StdioSpec;
  /** Fds to close once the launch settled. */
  readonly closeAfter: number[];
}

function output(intent: StdioIntent, log: () => number): StdioSpec {
  switch (intent.kind) {
    case 'null':
      return null;
    case 'log':
      return log();
    case 'file':
      return { path: intent.path, mode: intent.mode === 'read' ? 'write' : intent.mode };
    default:
      throw new Error(`sysg: bad output intent ${intent.kind}`);
  }
}

/** tmpDir: a root-only directory for StandardInputData= files (unlinked at once). */
export function resolveStdio(intents: { stdin: StdioIntent; stdout: StdioIntent; stderr: StdioIntent }, log: () => number, tmpDir: string): ResolvedStdio {
  const closeAfter: number[] = [];
  let stdin: StdioSpec = null;
  if (intents.stdin.kind === 'file') stdin = { path: intents.stdin.path };
  else if (intents.stdin.kind === 'data') {
    const p = `${tmpDir}/stdin-${process.pid}-${Math.random().toString(36).slice(2)}`;
    writeFileSync(p, intents.stdin.data, { mode: 0o600 });
    const fd = openSync(p, 'r');
    unlinkSync(p);
    closeAfter.push(fd);
    stdin = fd;
  }
  const stdout = output(intents.stdout, log);
  const stderr = intents.stderr.kind === 'as-stdout' ? stdout : output(intents.stderr, log);
  return { stdin, stdout, stderr, closeAfter };
}
