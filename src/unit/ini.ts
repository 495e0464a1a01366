/**
 * The line layer of systemd's unit-file syntax (systemd.syntax(7)), mirroring
 * src/shared/conf-parser.c (config_parse / parse_line) of systemd v255:
 *
 * - `#` and `;` start a comment only as the first non-blank character of a line;
 *   comment lines are skipped even in the middle of a continuation.
 * - A line whose last character is an unescaped backslash continues on the next
 *   line; the backslash becomes a space.
 * - `[Section]` headers; an unterminated header or one with unsafe characters
 *   makes the whole file fail to load (systemd: "Bad message").
 * - Unknown sections are ignored with a warning, `X-` sections silently.
 * - `Key=Value` with both sides stripped of whitespace; a line without `=` or
 *   without a key is ignored with a warning.
 *
 * Directive-level checks (unknown keys, value grammars) belong to the directive
 * table, not here: this layer only yields located assignments.
 */
import { type Diagnostic, type SourceLoc } from './diagnostics.js';

export interface Assignment {
  readonly section: string;
  readonly key: string;
  readonly value: string;
  /** Where the assignment starts (its first physical line). */
  readonly loc: SourceLoc;
}

export interface SectionHeader {
  readonly name: string;
  readonly loc: SourceLoc;
}

export interface LexedFile {
  readonly path: string;
  readonly assignments: Assignment[];
  readonly sections: SectionHeader[];
  readonly diagnostics: Diagnostic[];
  /** Set when systemd would refuse to load the file at all. */
  readonly fatal?: Diagnostic;
}

/** systemd's LONG_LINE_MAX: longer (continued) lines fail the whole file. */
const LONG_LINE_MAX = 1024 * 1024;
const WHITESPACE = ' \t\n\r';

function isWhitespace(ch: string): boolean {
  return WHITESPACE.includes(ch);
}

function strip(s: string): string {
  let a = 0;
  let b = s.length;
  while (a < b && isWhitespace(s[a]!)) a++;
  while (b > a && isWhitespace(s[b - 1]!)) b--;
  return s.slice(a, b);
}

/** string_is_safe(): no control characters, quotes, or backslashes in section names. */
function isSafeSectionName(s: string): boolean {
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (c < 0x20 || c === 0x7f || ch === '\\' || ch === '"' || ch === "'") return false;
  }
  return true;
}

/** True when the line ends in a backslash that is not itself escaped. */
function endsEscaped(s: string): boolean {
  let escaped = false;
  for (let i = 0; i < s.length; i++) {
    if (escaped) escaped = false;
    else if (s.charCodeAt(i) === 0x5c) escaped = true;
  }
  return escaped;
}

export interface LexOptions {
  /** Sections this unit type knows (e.g. Unit, Service, Install). */
  readonly sections: readonly string[];
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Decodes a unit file; invalid UTF-8 is reported per line, like systemd does. */
export function decodeUnitText(buf: Uint8Array): { text: string; badLines: Set<number> } {
  try {
    return { text: utf8.decode(buf), badLines: new Set() };
  } catch {
    const lossy = new TextDecoder('utf-8').decode(buf);
    const badLines = new Set<number>();
    lossy.split('\n').forEach((l, i) => {
      if (l.includes('\uFFFD')) badLines.add(i + 1);
    });
    return { text: lossy, badLines };
  }
}

export function lexUnitText(path: string, text: string, opts: LexOptions, badLines: ReadonlySet<number> = new Set()): LexedFile {
  const assignments: Assignment[] = [];
  const sections: SectionHeader[] = [];
  const diagnostics: Diagnostic[] = [];
  const known = new Set(opts.sections);
  let section: string | null = null;
  let sectionIgnored = false;

  const warn = (line: number, message: string): void => {
    diagnostics.push({ severity: 'warning', loc: { file: path, line }, message });
  };
  const fail = (line: number, message: string): LexedFile => {
    const fatal: Diagnostic = { severity: 'error', loc: { file: path, line }, message };
    return { path, assignments, sections, diagnostics: [...diagnostics, fatal], fatal };
  };

  /** parse_line(): one logical line (continuations joined). Returns a fatal message or null. */
  const handleLine = (p: string, line: number, invalidUtf8: boolean): string | null => {
    const l = strip(p);
    if (l.length === 0) return null;
    if (invalidUtf8) {
      warn(line, 'Invalid UTF-8 in line, ignoring.');
      return null;
    }
    if (l[0] === '[') {
      if (l[l.length - 1] !== ']') return `Invalid section header '${l}'`;
      const name = l.slice(1, -1);
      if (!isSafeSectionName(name)) return `Bad characters in section header '${l}'`;
      if (known.has(name)) {
        section = name;
        sectionIgnored = false;
        sections.push({ name, loc: { file: path, line } });
      } else {
        if (!name.startsWith('X-')) warn(line, `Unknown section '${name}'. Ignoring.`);
        section = null;
        sectionIgnored = true;
      }
      return null;
    }
    if (section === null) {
      if (!sectionIgnored) warn(line, 'Assignment outside of section. Ignoring.');
      return null;
    }
    const eq = l.indexOf('=');
    if (eq < 0) warn(line, "Missing '=', ignoring line.");
    else if (eq === 0) warn(line, "Missing key name before '=', ignoring line.");
    else assignments.push({ section, key: strip(l.slice(0, eq)), value: strip(l.slice(eq + 1)), loc: { file: path, line } });
    return null;
  };

  const lines = text.split('\n');
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  if (lines.length > 0 && lines[0]!.startsWith('\uFEFF')) lines[0] = lines[0]!.slice(1);

  let continuation: string | null = null;
  let start = 0;
  let bad = false;
  for (let i = 0; i < lines.length; i++) {
    const lineNo = i + 1;
    let raw = lines[i]!;
    if (raw.endsWith('\r')) raw = raw.slice(0, -1);

    // Comment lines are dropped before continuation handling, so a comment
    // inside a continued value is skipped rather than appended (systemd >= 240).
    const lead = raw.replace(/^[ \t\n\r]+/, '');
    if (lead.length > 0 && (lead[0] === '#' || lead[0] === ';')) continue;

    let p: string;
    if (continuation !== null) {
      if (continuation.length + raw.length > LONG_LINE_MAX) return fail(lineNo, 'Continuation line too long');
      p = continuation + raw;
      bad = bad || badLines.has(lineNo);
    } else {
      if (raw.length > LONG_LINE_MAX) return fail(lineNo, 'Line too long');
      p = raw;
      start = lineNo;
      bad = badLines.has(lineNo);
    }
    if (endsEscaped(p)) {
      continuation = p.slice(0, -1) + ' ';
      continue;
    }
    continuation = null;
    const fatal = handleLine(p, start, bad);
    if (fatal) return fail(start, fatal);
  }
  // A file that ends inside a continuation: systemd parses what it accumulated.
  if (continuation !== null) {
    const fatal = handleLine(continuation, start, bad);
    if (fatal) return fail(start, fatal);
  }
  return { path, assignments, sections, diagnostics };
}
