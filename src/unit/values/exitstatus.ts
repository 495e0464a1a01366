/**
 * Exit status names: exit_status_mappings[] and exit_status_from_string()
 * (src/basic/exit-status.c), and config_parse_set_status() for
 * SuccessExitStatus=, RestartPreventExitStatus= and RestartForceExitStatus=
 * (src/core/load-fragment.c), v255.
 *
 * Names are spelled as `systemd-analyze exit-status` prints them (note
 * "APPARMOR" for EXIT_APPARMOR_PROFILE, and no 223/234, which are reserved).
 * 245 KSM is new in v254; the rest matches systemd 252's output verbatim.
 */
import { ValueError } from '../diagnostics.js';
import { ExtractError, extractFirstWord } from '../words.js';
import { CParseError, safeAtou } from './cparse.js';
import { parseSignal } from './signals.js';

export type ExitStatusClass = 'libc' | 'LSB' | 'BSD' | 'systemd';

export interface ExitStatusInfo {
  readonly name: string;
  readonly status: number;
  readonly class: ExitStatusClass;
}

const ROWS: readonly (readonly [number, string, ExitStatusClass])[] = [
  [0, 'SUCCESS', 'libc'], [1, 'FAILURE', 'libc'],
  [2, 'INVALIDARGUMENT', 'LSB'], [3, 'NOTIMPLEMENTED', 'LSB'], [4, 'NOPERMISSION', 'LSB'], [5, 'NOTINSTALLED', 'LSB'],
  [6, 'NOTCONFIGURED', 'LSB'], [7, 'NOTRUNNING', 'LSB'],
  [64, 'USAGE', 'BSD'], [65, 'DATAERR', 'BSD'], [66, 'NOINPUT', 'BSD'], [67, 'NOUSER', 'BSD'], [68, 'NOHOST', 'BSD'],
  [69, 'UNAVAILABLE', 'BSD'], [70, 'SOFTWARE', 'BSD'], [71, 'OSERR', 'BSD'], [72, 'OSFILE', 'BSD'], [73, 'CANTCREAT', 'BSD'],
  [74, 'IOERR', 'BSD'], [75, 'TEMPFAIL', 'BSD'], [76, 'PROTOCOL', 'BSD'], [77, 'NOPERM', 'BSD'], [78, 'CONFIG', 'BSD'],
  [200, 'CHDIR', 'systemd'], [201, 'NICE', 'systemd'], [202, 'FDS', 'systemd'], [203, 'EXEC', 'systemd'],
  [204, 'MEMORY', 'systemd'], [205, 'LIMITS', 'systemd'], [206, 'OOM_ADJUST', 'systemd'], [207, 'SIGNAL_MASK', 'systemd'],
  [208, 'STDIN', 'systemd'], [209, 'STDOUT', 'systemd'], [210, 'CHROOT', 'systemd'], [211, 'IOPRIO', 'systemd'],
  [212, 'TIMERSLACK', 'systemd'], [213, 'SECUREBITS', 'systemd'], [214, 'SETSCHEDULER', 'systemd'],
  [215, 'CPUAFFINITY', 'systemd'], [216, 'GROUP', 'systemd'], [217, 'USER', 'systemd'], [218, 'CAPABILITIES', 'systemd'],
  [219, 'CGROUP', 'systemd'], [220, 'SETSID', 'systemd'], [221, 'CONFIRM', 'systemd'], [222, 'STDERR', 'systemd'],
  [224, 'PAM', 'systemd'], [225, 'NETWORK', 'systemd'], [226, 'NAMESPACE', 'systemd'], [227, 'NO_NEW_PRIVILEGES', 'systemd'],
  [228, 'SECCOMP', 'systemd'], [229, 'SELINUX_CONTEXT', 'systemd'], [230, 'PERSONALITY', 'systemd'],
  [231, 'APPARMOR', 'systemd'], [232, 'ADDRESS_FAMILIES', 'systemd'], [233, 'RUNTIME_DIRECTORY', 'systemd'],
  [235, 'CHOWN', 'systemd'], [236, 'SMACK_PROCESS_LABEL', 'systemd'], [237, 'KEYRING', 'systemd'],
  [238, 'STATE_DIRECTORY', 'systemd'], [239, 'CACHE_DIRECTORY', 'systemd'], [240, 'LOGS_DIRECTORY', 'systemd'],
  [241, 'CONFIGURATION_DIRECTORY', 'systemd'], [242, 'NUMA_POLICY', 'systemd'], [243, 'CREDENTIALS', 'systemd'],
  [244, 'BPF', 'systemd'], [245, 'KSM', 'systemd'],
  [255, 'EXCEPTION', 'systemd'],
];

/** Every named exit status, in numeric order. */
export const EXIT_STATUSES: readonly ExitStatusInfo[] = ROWS.map(([status, name, cls]) => ({ status, name, class: cls }));

const BY_NAME = new Map(EXIT_STATUSES.map((e) => [e.name, e.status]));
const BY_NUMBER = new Map(EXIT_STATUSES.map((e) => [e.status, e]));

/** exit_status_to_string(): 203 → "EXEC"; undefined for unnamed statuses. */
export function exitStatusName(status: number): string | undefined {
  return BY_NUMBER.get(status)?.name;
}

export function exitStatusInfo(status: number): ExitStatusInfo | undefined {
  return BY_NUMBER.get(status);
}

/**
 * exit_status_from_string(): a name from the table (case-sensitive, without
 * "EXIT_"/"EX_" prefix: "TEMPFAIL", "EXEC") or a number 0…255 (safe_atou8(),
 * base 0). Throws ValueError otherwise.
 */
export function parseExitStatus(value: string): number {
  const named = BY_NAME.get(value);
  if (named !== undefined) return named;
  try {
    return Number(safeAtou(value, { bits: 8 }));
  } catch (e) {
    if (e instanceof CParseError) {
      throw new ValueError(e.errno === 'ERANGE' ? `Exit status "${value}" out of range 0…255` : `Failed to parse exit status "${value}"`);
    }
    throw e;
  }
}

export interface ExitStatusSet {
  /** Exit codes, sorted and unique. */
  readonly codes: number[];
  /** Signal numbers, sorted and unique. */
  readonly signals: number[];
}

/**
 * config_parse_set_status(): whitespace-separated words (no quoting), each an
 * exit status (tried first, so "15" is an exit code) or else a signal
 * ("SIGKILL", "TERM"). systemd skips a word that is neither with a warning and
 * keeps the others: pass `warn` to get that behaviour; without it the first such
 * word throws ValueError. An empty value resets the set (caller's job).
 */
export function parseExitStatusSet(value: string, warn?: (message: string) => void): ExitStatusSet {
  const codes = new Set<number>();
  const signals = new Set<number>();
  let pos: number | null = 0;
  for (;;) {
    let r;
    try {
      r = extractFirstWord(value, pos, null, 0);
    } catch (e) {
      if (e instanceof ExtractError) throw new ValueError(`Failed to parse exit status list "${value}": ${e.message}`);
      throw e;
    }
    if (r.word === null) break;
    pos = r.pos;
    const word = r.word;
    let status: number | undefined;
    try {
      status = parseExitStatus(word);
    } catch (e) {
      if (!(e instanceof ValueError)) throw e;
    }
    if (status !== undefined) {
      codes.add(status);
      continue;
    }
    try {
      signals.add(parseSignal(word));
    } catch (e) {
      if (!(e instanceof ValueError)) throw e;
      const msg = `Failed to parse value, ignoring: ${word} (neither an exit status 0…255 or name, nor a signal)`;
      if (!warn) throw new ValueError(msg);
      warn(msg);
    }
  }
  const sorted = (s: Set<number>): number[] => [...s].sort((a, b) => a - b);
  return { codes: sorted(codes), signals: sorted(signals) };
}
