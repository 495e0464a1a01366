/**
 * Pure decisions of the service lifecycle, as in systemd's service.c:
 * service_shall_restart() and the start rate limit (StartLimitIntervalSec=,
 * StartLimitBurst=).
 */
import type { Exit } from '../launch/protocol.js';
import type { ExitStatusSet, RestartPolicy } from './service-config.js';
import type { ServiceResult } from './exec-status.js';

const inSet = (e: Exit | undefined, set: ExitStatusSet): boolean =>
  e !== undefined && ('code' in e ? set.codes.includes(e.code) : set.signals.includes(e.signo));

/** Results that count as "abnormal" (killed, dumped, timed out, watchdog). */
const ABNORMAL: ReadonlySet<ServiceResult | 'watchdog'> = new Set(['signal', 'core-dump', 'timeout', 'watchdog']);

/**
 * Whether a service that ended with `result` (its main process ending with
 * `exit`) is restarted. An explicit stop never restarts.
 */
export function shallRestart(policy: RestartPolicy, result: ServiceResult | 'watchdog', exit: Exit | undefined, prevent: ExitStatusSet, force: ExitStatusSet): boolean {
  if (inSet(exit, force)) return true;
  if (inSet(exit, prevent)) return false;
  switch (policy) {
    case 'no':
      return false;
    case 'always':
      return true;
    case 'on-success':
      return result === 'success';
    case 'on-failure':
      return result !== 'success';
    case 'on-abnormal':
      return ABNORMAL.has(result);
    case 'on-watchdog':
      return result === 'watchdog';
    case 'on-abort':
      return result === 'signal' || result === 'core-dump';
  }
}

/** systemd's RateLimit: at most `burst` starts per `intervalMs`; 0 disables it. */
export class StartLimit {
  private begin = 0;
  private count = 0;

  constructor(
    private readonly intervalMs: number,
    private readonly burst: number,
  ) {}

  /** Records a start attempt; false when it exceeds the limit (the unit then fails with start-limit-hit). */
  test(now: number): boolean {
    if (this.intervalMs === 0 || this.burst === 0) return true;
    if (this.begin === 0 || now - this.begin > this.intervalMs) {
      this.begin = now;
      this.count = 0;
    }
    this.count++;
    return this.count <= this.burst;
  }

  reset(): void {
    this.begin = 0;
    this.count = 0;
  }
}
