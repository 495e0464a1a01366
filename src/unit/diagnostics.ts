/**
 * Source locations and diagnostics shared by every stage of the pipeline
 * (unit text → parsed unit → directive table → model). Every value sysg reads
 * keeps the file:line it came from, so every message can name it.
 */

export interface SourceLoc {
  readonly file: string;
  readonly line: number;
}

export type Severity = 'error' | 'warning' | 'notice';

export interface Diagnostic {
  readonly severity: Severity;
  readonly loc?: SourceLoc;
  /** `Section.Key` or just `Key`, when the message is about one directive. */
  readonly directive?: string;
  readonly message: string;
}

/**
 * Thrown by value parsers (src/unit/values/*) when a value does not match the
 * directive's grammar. The caller attaches the location and turns it into a
 * diagnostic; systemd logs such lines and ignores them, and so do we (never silently).
 */
export class ValueError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ValueError';
  }
}

export function formatLoc(loc: SourceLoc | undefined): string {
  return loc ? `${loc.file}:${loc.line}` : '';
}

/** `FILE:LINE: warning: Directive=: reason` — the format systemd uses for unit-file complaints. */
export function formatDiagnostic(d: Diagnostic): string {
  const where = d.loc ? `${formatLoc(d.loc)}: ` : '';
  const what = d.directive ? `${d.directive}: ` : '';
  return `${where}${d.severity}: ${what}${d.message}`;
}
