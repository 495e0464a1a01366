/**
 * Signal names and numbers: signal_from_string()/signal_to_string() from
 * src/basic/signal-util.c (v255), as used by KillSignal=, RestartKillSignal=,
 * FinalKillSignal=, WatchdogSignal=, ReloadSignal= and SuccessExitStatus=.
 *
 * Numbers are Linux's generic ones, shared by x86-64 and aarch64 (alpha, mips,
 * sparc and parisc differ). SIGRTMIN is glibc's 34, not the kernel's 32: glibc
 * keeps 32 and 33 for itself, so "RTMIN+n" means 34+n (n ≤ 30), "RTMAX-n" 64-n.
 *
 * Accepted: a number 1…64 (safe_atoi(): "0x0f" works, "010" is octal 8), a
 * name with or without "SIG" ("TERM", "SIGTERM"; case-sensitive), "RTMIN",
 * "RTMIN+n", "RTMAX", "RTMAX-n" (also with "SIG"). Aliases such as SIGIOT,
 * SIGPOLL or SIGCLD are not in systemd's table and are refused.
 */
import { ValueError } from '../diagnostics.js';
import { CParseError, safeAtoi } from './cparse.js';

export const SIGNALS: Readonly<Record<string, number>> = {
  HUP: 1, INT: 2, QUIT: 3, ILL: 4, TRAP: 5, ABRT: 6, BUS: 7, FPE: 8, KILL: 9, USR1: 10, SEGV: 11, USR2: 12, PIPE: 13, ALRM: 14, TERM: 15,
  STKFLT: 16, CHLD: 17, CONT: 18, STOP: 19, TSTP: 20, TTIN: 21, TTOU: 22, URG: 23, XCPU: 24, XFSZ: 25, VTALRM: 26, PROF: 27, WINCH: 28,
  IO: 29, PWR: 30, SYS: 31,
};

/** glibc's SIGRTMIN/SIGRTMAX on Linux. */
export const SIGRTMIN = 34;
export const SIGRTMAX = 64;
/** _NSIG: valid signal numbers are 1…64. */
export const NSIG = 65;

const NAME_BY_NUMBER = new Map(Object.entries(SIGNALS).map(([k, v]) => [v, k]));

function bad(value: string, reason: string): ValueError {
  return new ValueError(`Failed to parse signal "${value}": ${reason}`);
}

/** signal_from_string(): the signal number for a name or number. */
export function parseSignal(value: string): number {
  try {
    const n = safeAtoi(value);
    if (n > 0 && n < NSIG) return n;
    throw bad(value, `signal number out of range 1…${NSIG - 1}`);
  } catch (e) {
    if (e instanceof ValueError) throw e;
    if (e instanceof CParseError && e.errno === 'ERANGE') throw bad(value, `signal number out of range 1…${NSIG - 1}`);
    if (!(e instanceof CParseError)) throw e;
  }
  const s = value.startsWith('SIG') ? value.slice(3) : value;
  const named = SIGNALS[s];
  if (named !== undefined && Object.hasOwn(SIGNALS, s)) return named;
  const offset = (rest: string, sign: '+' | '-'): number => {
    if (rest[0] !== sign) throw bad(value, 'unknown signal name');
    let n: number;
    try {
      n = safeAtoi(rest);
    } catch (e) {
      if (e instanceof CParseError) throw bad(value, `invalid offset "${rest}"`);
      throw e;
    }
    if (Math.abs(n) > SIGRTMAX - SIGRTMIN || (sign === '+' ? n < 0 : n > 0)) throw bad(value, `offset out of range 0…${SIGRTMAX - SIGRTMIN}`);
    return n;
  };
  if (s.startsWith('RTMIN')) {
    const rest = s.slice(5);
    return rest === '' ? SIGRTMIN : SIGRTMIN + offset(rest, '+');
  }
  if (s.startsWith('RTMAX')) {
    const rest = s.slice(5);
    return rest === '' ? SIGRTMAX : SIGRTMAX + offset(rest, '-');
  }
  throw bad(value, 'unknown signal name');
}

/**
 * signal_to_string(): "TERM", "RTMIN+3" for 37; numbers without a name (32, 33,
 * or out of range) as decimal text.
 */
export function signalToString(n: number): string {
  const name = NAME_BY_NUMBER.get(n);
  if (name) return name;
  if (n >= SIGRTMIN && n <= SIGRTMAX) return `RTMIN+${n - SIGRTMIN}`;
  return String(n);
}

/** The canonical spelling with "SIG": 15 → "SIGTERM", 37 → "SIGRTMIN+3"; 32 → "32". */
export function signalName(n: number): string {
  const s = signalToString(n);
  return /^[0-9]/.test(s) ? s : `SIG${s}`;
}
