/**
 * Condition*= and Assert*= checks, evaluated as systemd v252–v255 does
 * (src/shared/condition.c: condition_test() and condition_test_list()).
 *
 * Entries are the model's `unit.conditions` / `unit.asserts` items:
 * `{ check: 'KernelVersion', value: '">=3.0"', negate?: true, trigger?: true }` — the
 * directive name without its Condition/Assert prefix, the value after the "|" and "!"
 * prefixes, already specifier-expanded by `sysg convert` (directives.tsv marks them "condition%").
 *
 * A list holds when every non-triggering entry holds and, if there are triggering ("|")
 * entries, at least one of them holds; an empty list holds. Negation ("!") inverts a
 * result; a check that cannot be evaluated (systemd: the test returned -errno) fails
 * whether negated or not. Evaluation stops at the first failing non-triggering entry,
 * as systemd's does. An entry naming an unknown check is reported as failed with reason
 * "unknown condition" before anything is evaluated (systemd refuses to load such a unit).
 *
 * Layout: conditions-checks.ts holds the table of per-check tests (with the larger ones
 * in conditions-kernel.ts and conditions-paths.ts); the system facts they consult are in
 * conditions-system.ts (files, libc, mounts, cgroups), conditions-virt.ts (virtualization,
 * architecture) and conditions-hw.ts (CPUs, memory, power, firmware, security);
 * operators, strverscmp_improved() and fnmatch()/glob() in conditions-compare.ts.
 */
import { CONDITION_TESTS } from './conditions-checks.js';
import { ConditionError } from './conditions-compare.js';

export { ConditionError } from './conditions-compare.js';

export interface ConditionContext {
  /**
   * The manager's environment: what ConditionEnvironment= matches, and where the variables
   * systemd reads from its own environ come from ($CREDENTIALS_DIRECTORY,
   * $ENCRYPTED_CREDENTIALS_DIRECTORY, $SYSTEMD_FIRST_BOOT, $SYSTEMD_PROC_CMDLINE,
   * $SYSTEMD_IN_INITRD, $USER). Pass process.env for "this process".
   */
  managerEnv: Record<string, string | undefined>;
  /**
   * Prefix for the file-system paths the path checks name (PathExists=, PathExistsGlob=,
   * PathIsDirectory=, …, FileIsExecutable=, NeedsUpdate=) and for /etc/os-release and
   * /etc/machine-id. systemd has no such prefix; it is here for tests and chroots. Kernel
   * interfaces (/proc, /sys) are always the host's.
   */
  root?: string;
}

export interface ConditionFailure {
  check: string;
  value: string;
  reason: string;
}

export interface ConditionResult {
  ok: boolean;
  failed?: ConditionFailure;
  /** One line per evaluated entry, as systemd logs them ("KernelVersion=>=3.0 succeeded."), plus errors. */
  notes: string[];
}

/** A model entry, checked. */
export interface ConditionEntry {
  check: string;
  value: string;
  negate: boolean;
  trigger: boolean;
}

/** The check names this module evaluates (the directive names without Condition/Assert). */
export const CONDITION_CHECKS: readonly string[] = Object.freeze(Object.keys(CONDITION_TESTS));

function describe(e: ConditionEntry): string {
  return `${e.check}=${e.trigger ? '|' : ''}${e.negate ? '!' : ''}${e.value}`;
}

/** Validates one model entry; a string is the reason it is unusable. */
function toEntry(raw: unknown): ConditionEntry | ConditionFailure {
  if (typeof raw !== 'object' || raw === null) return { check: '?', value: '', reason: 'malformed condition entry' };
  const r = raw as Record<string, unknown>;
  const check = typeof r['check'] === 'string' ? r['check'] : undefined;
  const value = typeof r['value'] === 'string' ? r['value'] : undefined;
  if (check === undefined || value === undefined) {
    return { check: String(r['check'] ?? '?'), value: String(r['value'] ?? ''), reason: 'malformed condition entry' };
  }
  const name = check.replace(/^(Condition|Assert)/, '');
  if (!Object.prototype.hasOwnProperty.call(CONDITION_TESTS, name)) return { check, value, reason: 'unknown condition' };
  return { check: name, value, negate: r['negate'] === true, trigger: r['trigger'] === true };
}

/**
 * condition_test() without negation: does the check hold for `value`?
 * @throws ConditionError when it cannot be evaluated (a malformed value, an unreadable interface).
 */
export function testCondition(check: string, value: string, ctx: ConditionContext): boolean {
  const name = check.replace(/^(Condition|Assert)/, '');
  const test = Object.prototype.hasOwnProperty.call(CONDITION_TESTS, name) ? CONDITION_TESTS[name] : undefined;
  if (!test) throw new ConditionError(`unknown condition ${check}`);
  return test(value, ctx);
}

/** condition_test_list(): evaluate a unit's conditions (or asserts). */
export function evaluateConditions(entries: readonly unknown[], ctx: ConditionContext): ConditionResult {
  const notes: string[] = [];
  const list: ConditionEntry[] = [];
  for (const raw of entries) {
    const e = toEntry(raw);
    if ('reason' in e) return { ok: false, failed: e, notes };
    list.push(e);
  }

  let triggered: boolean | undefined;
  let firstTrigger: ConditionEntry | undefined;
  for (const e of list) {
    let holds: boolean;
    let error: string | undefined;
    try {
      holds = testCondition(e.check, e.value, ctx) === !e.negate;
    } catch (err) {
      holds = false;
      error = err instanceof Error ? err.message : String(err);
    }
    if (error !== undefined) notes.push(`Couldn't determine result for ${describe(e)}, assuming failed: ${error}`);
    else notes.push(`${describe(e)} ${holds ? 'succeeded' : 'failed'}.`);

    if (!e.trigger && !holds) {
      return {
        ok: false,
        failed: { check: e.check, value: e.value, reason: error !== undefined ? `could not be evaluated (${error}), assuming failed` : 'condition not met' },
        notes,
      };
    }
    if (e.trigger) {
      firstTrigger ??= e;
      if (triggered !== true) triggered = holds;
    }
  }
  if (triggered === false) {
    const t = firstTrigger!;
    return { ok: false, failed: { check: t.check, value: t.value, reason: 'none of the triggering (|) conditions holds' }, notes };
  }
  return { ok: true, notes };
}
