/** A command's end as systemd names it: result, $EXIT_CODE, $EXIT_STATUS and the exit status sysg run returns. */
import type { Exit } from '../launch/protocol.js';
import { SIGNALS } from '../sys/constants.js';

export type ServiceResult = 'success' | 'exit-code' | 'signal' | 'core-dump' | 'timeout' | 'watchdog' | 'start-limit-hit' | 'resources' | 'exec-condition' | 'protocol';

export interface CommandEnd {
  readonly exit: Exit;
}

/** $EXIT_CODE: exited, killed or dumped. */
export function exitCodeName(e: Exit): 'exited' | 'killed' | 'dumped' {
  if ('code' in e) return 'exited';
  return e.core ? 'dumped' : 'killed';
}

/** $EXIT_STATUS: the number, or the signal name without SIG. */
export function exitStatusText(e: Exit): string {
  return 'code' in e ? String(e.code) : e.signal.replace(/^SIG/, '');
}

/** Status of a process as `sysg run` reports it (the shell's convention for signals). */
export function shellStatus(e: Exit): number {
  return 'code' in e ? e.code : 128 + e.signo;
}

/** "exit:0", "signal:SIGSYS" — the conformance table's notation. */
export function describeExit(e: Exit): string {
  return 'code' in e ? `exit:${e.code}` : `signal:${e.signal}`;
}

const CLEAN_DAEMON_SIGNALS = new Set<number>([SIGNALS.SIGHUP, SIGNALS.SIGINT, SIGNALS.SIGTERM, SIGNALS.SIGPIPE]);

/**
 * is_clean_exit(): code 0, a SuccessExitStatus= code or signal, or — for a
 * service's main process — one of systemd's clean signals.
 */
export function isCleanExit(e: Exit, success: { codes: readonly number[]; signals: readonly number[] }, daemon: boolean): boolean {
  if ('code' in e) return e.code === 0 || success.codes.includes(e.code);
  return success.signals.includes(e.signo) || (daemon && CLEAN_DAEMON_SIGNALS.has(e.signo));
}

export function failureResult(e: Exit): ServiceResult {
  if ('code' in e) return 'exit-code';
  return e.core ? 'core-dump' : 'signal';
}
