/**
 * Generator for src/unit/values/syscall-tables.ts (syscall name → number, per architecture).
 *
 * Sources, all read from this machine's kernel UAPI headers (Debian 12, package linux-libc-dev 6.1.x):
 *
 *   x86-64  /usr/include/x86_64-linux-gnu/asm/unistd_64.h
 *   x86     /usr/include/x86_64-linux-gnu/asm/unistd_32.h        (i386 ABI, for SystemCallArchitectures=x86)
 *   x32     /usr/include/x86_64-linux-gnu/asm/unistd_x32.h       (numbers include __X32_SYSCALL_BIT)
 *   arm64   /usr/include/asm-generic/unistd.h, run through `cpp -dM` with the __ARCH_WANT_* switches that
 *           arch/arm64/include/uapi/asm/unistd.h defines in Linux 6.1:
 *             __ARCH_WANT_RENAMEAT __ARCH_WANT_NEW_STAT __ARCH_WANT_SET_GET_RLIMIT
 *             __ARCH_WANT_TIME32_SYSCALLS __ARCH_WANT_SYS_CLONE3 __ARCH_WANT_MEMFD_SECRET
 *           (no __ARCH_WANT_SYNC_FILE_RANGE2: arm64 has sync_file_range, only its compat/ILP32 ABI uses
 *           sync_file_range2). __BITS_PER_LONG is 64, so the __NR3264_* aliases become fstat/newfstatat/...
 *
 * POST_61_SUPPLEMENT below adds the few system calls that Linux 6.2–6.6 introduced (the kernel systemd v255
 * was released against): the 6.1 headers on this machine do not have them, but systemd v255's filter groups
 * name them (@file-system has fchmodat2) and libseccomp 2.5.5 knows them. Numbers are from the kernel's
 * arch/x86/entry/syscalls/syscall_{64,32}.tbl and include/uapi/asm-generic/unistd.h of Linux 6.6.
 *
 * Regenerate:
 *   npx tsc --outDir /tmp/sysg-gen --module nodenext --moduleResolution nodenext --target es2022 \
 *       --strict --types node src/unit/values/data/gen/syscall-tables.ts
 *   node /tmp/sysg-gen/syscall-tables.js > src/unit/values/syscall-tables.ts
 */

import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

type ArchId = 'x86-64' | 'x86' | 'x32' | 'arm64';

const X86_64_HEADER = '/usr/include/x86_64-linux-gnu/asm/unistd_64.h';
const X86_HEADER = '/usr/include/x86_64-linux-gnu/asm/unistd_32.h';
const X32_HEADER = '/usr/include/x86_64-linux-gnu/asm/unistd_x32.h';
const GENERIC_HEADER = 'asm-generic/unistd.h';
const ARM64_WANTS = [
  '__ARCH_WANT_RENAMEAT',
  '__ARCH_WANT_NEW_STAT',
  '__ARCH_WANT_SET_GET_RLIMIT',
  '__ARCH_WANT_TIME32_SYSCALLS',
  '__ARCH_WANT_SYS_CLONE3',
  '__ARCH_WANT_MEMFD_SECRET',
];

const X32_SYSCALL_BIT = 0x40000000;

/** Linux 6.2..6.6 additions (see header comment). x32 numbers carry the x32 bit. */
const POST_61_SUPPLEMENT: Record<ArchId, ReadonlyArray<readonly [string, number]>> = {
  'x86-64': [['cachestat', 451], ['fchmodat2', 452], ['map_shadow_stack', 453]],
  x86: [['cachestat', 451], ['fchmodat2', 452]],
  x32: [['cachestat', X32_SYSCALL_BIT + 451], ['fchmodat2', X32_SYSCALL_BIT + 452], ['map_shadow_stack', X32_SYSCALL_BIT + 453]],
  arm64: [['cachestat', 451], ['fchmodat2', 452]],
};

/** Macros of the form `#define __NR_name <expr>`; expr is a number, another macro, or `(__X32_SYSCALL_BIT + n)`. */
function parseDefines(text: string): Map<string, string> {
  const defs = new Map<string, string>();
  for (const line of text.split('\n')) {
    const m = /^#define\s+(__NR\w+)\s+(.+?)\s*$/.exec(line);
    if (m && m[1] !== undefined && m[2] !== undefined) defs.set(m[1], m[2]);
  }
  return defs;
}

function evaluate(expr: string, defs: Map<string, string>, depth = 0): number | undefined {
  if (depth > 8) return undefined;
  const e = expr.trim();
  if (/^\d+$/.test(e)) return Number(e);
  const x32 = /^\(\s*__X32_SYSCALL_BIT\s*\+\s*(\d+)\s*\)$/.exec(e);
  if (x32 && x32[1] !== undefined) return X32_SYSCALL_BIT + Number(x32[1]);
  const ref = defs.get(e);
  return ref === undefined ? undefined : evaluate(ref, defs, depth + 1);
}

function tableFrom(defs: Map<string, string>): Array<[string, number]> {
  const out: Array<[string, number]> = [];
  for (const [macro, expr] of defs) {
    if (!macro.startsWith('__NR_')) continue; // skips __NR3264_* helpers
    const name = macro.slice('__NR_'.length);
    if (name === 'syscalls' || name === 'arch_specific_syscall') continue;
    const nr = evaluate(expr, defs);
    if (nr === undefined) throw new Error(`cannot evaluate ${macro} = ${expr}`);
    out.push([name, nr]);
  }
  return out;
}

function readHeader(path: string): Array<[string, number]> {
  return tableFrom(parseDefines(readFileSync(path, 'utf8')));
}

function readGeneric(): Array<[string, number]> {
  const args = ['-dM', ...ARM64_WANTS.map((w) => `-D${w}`), '-'];
  const text = execFileSync('cpp', args, { input: `#include <${GENERIC_HEADER}>\n`, encoding: 'utf8' });
  return tableFrom(parseDefines(text));
}

function withSupplement(arch: ArchId, base: Array<[string, number]>): Array<[string, number]> {
  const names = new Set(base.map(([n]) => n));
  const out = [...base];
  for (const [n, nr] of POST_61_SUPPLEMENT[arch]) if (!names.has(n)) out.push([n, nr]);
  out.sort((a, b) => a[1] - b[1] || (a[0] < b[0] ? -1 : 1));
  return out;
}

function headerVersion(): string {
  try {
    return execFileSync('dpkg-query', ['-W', '-f=${Version}', 'linux-libc-dev'], { encoding: 'utf8' }).trim();
  } catch {
    return 'unknown';
  }
}

function emitTable(constName: string, arch: ArchId, source: string, rows: Array<[string, number]>): string {
  const supplement = new Set(POST_61_SUPPLEMENT[arch].map(([n]) => n));
  const lines = rows.map(([n, nr]) => `  [${JSON.stringify(n)}, ${nr}],${supplement.has(n) ? ' // post-6.1 supplement' : ''}`);
  return [
    `/** ${arch}: ${rows.length} entries, from ${source}. */`,
    `export const ${constName}: SyscallTableRows = [`,
    ...lines,
    '];',
    '',
  ].join('\n');
}

function main(): void {
  const version = headerVersion();
  const tables: Array<[string, ArchId, string, Array<[string, number]>]> = [
    ['SYSCALLS_X86_64', 'x86-64', X86_64_HEADER, withSupplement('x86-64', readHeader(X86_64_HEADER))],
    ['SYSCALLS_ARM64', 'arm64', `/usr/include/${GENERIC_HEADER} with ${ARM64_WANTS.join(' ')}`, withSupplement('arm64', readGeneric())],
    ['SYSCALLS_X86', 'x86', X86_HEADER, withSupplement('x86', readHeader(X86_HEADER))],
    ['SYSCALLS_X32', 'x32', X32_HEADER, withSupplement('x32', readHeader(X32_HEADER))],
  ];
  const out: string[] = [
    '/*',
    ' * GENERATED FILE — do not edit. Generator: src/unit/values/data/gen/syscall-tables.ts',
    ` * Kernel UAPI headers: linux-libc-dev ${version} (Linux 6.1), plus the documented post-6.1 supplement`,
    ' * (cachestat, fchmodat2, map_shadow_stack from Linux 6.5/6.6). Rows are [name, number], sorted by number.',
    ' */',
    '',
    'export type SyscallTableRows = ReadonlyArray<readonly [string, number]>;',
    '',
  ];
  for (const [constName, arch, source, rows] of tables) out.push(emitTable(constName, arch, source, rows));
  process.stdout.write(out.join('\n'));
}

main();
