/**
 * The lifecycle settings of one service read from the model, with systemd's
 * defaults (systemd.service(5), systemd.kill(5), systemd.unit(5)); the
 * supervisor works from this, not from raw fields.
 */
import { SIGNALS } from '../sys/constants.js';
import { parseTimespan } from '../unit/values/timespan.js';
import type { ServiceView } from '../plan/service.js';

export type ServiceType = 'simple' | 'exec' | 'forking' | 'oneshot' | 'notify' | 'idle';
export type RestartPolicy = 'no' | 'always' | 'on-success' | 'on-failure' | 'on-abnormal' | 'on-abort' | 'on-watchdog';
export type KillMode = 'control-group' | 'mixed' | 'process' | 'none';
export type NotifyAccess = 'none' | 'main' | 'exec' | 'all';

export interface ExitStatusSet {
  readonly codes: readonly number[];
  readonly signals: readonly number[];
}

export interface ServiceConfig {
  readonly type: ServiceType;
  readonly remainAfterExit: boolean;
  readonly pidFile: string | undefined;
  readonly notifyAccess: NotifyAccess;
  readonly restart: RestartPolicy;
  /** Milliseconds. */
  readonly restartDelayMs: number;
  readonly restartPrevent: ExitStatusSet;
  readonly restartForce: ExitStatusSet;
  readonly success: ExitStatusSet;
  /** Milliseconds; Infinity for none. */
  readonly startTimeoutMs: number;
  readonly stopTimeoutMs: number;
  readonly watchdogMs: number;
  readonly startLimitIntervalMs: number;
  readonly startLimitBurst: number;
  readonly killMode: KillMode;
  readonly killSignal: number;
  readonly restartKillSignal: number;
  readonly finalKillSignal: number;
  readonly watchdogSignal: number;
  readonly sendSigkill: boolean;
  readonly sendSighup: boolean;
}

const SIG = SIGNALS as Readonly<Record<string, number>>;

function signal(svc: ServiceView, field: string, dflt: number): number {
  const v = svc.scalar(field);
  if (v === undefined) return dflt;
  if (typeof v === 'number') return v;
  const n = SIG[v] ?? SIG[`SIG${v}`];
  if (n === undefined) svc.error(field, `${field}: unknown signal ${v}`);
  return n;
}

function ms(svc: ServiceView, field: string, dflt: number): number {
  const v = svc.scalar(field);
  if (v === undefined) return dflt;
  const us = typeof v === 'number' ? v * 1e6 : parseTimespan(v);
  // systemd: 0 means "no timeout" for TimeoutStartSec=/TimeoutStopSec=.
  return us === Infinity ? Infinity : us / 1000;
}

function statusSet(svc: ServiceView, field: string): ExitStatusSet {
  const o = svc.obj(field) ?? {};
  const codes = (o['codes'] as number[] | undefined) ?? [];
  const signals = ((o['signals'] as string[] | undefined) ?? []).map((s) => SIG[s] ?? -1);
  return { codes, signals };
}

export function serviceConfig(svc: ServiceView): ServiceConfig {
  const type = (svc.str('type') ?? 'simple') as ServiceType;
  if (!['simple', 'exec', 'forking', 'oneshot', 'notify', 'idle'].includes(type)) svc.error('type', `Type=${type} is not supported by sysg`);
  const zeroIsInfinite = (v: number): number => (v === 0 ? Infinity : v);
  const oneshot = type === 'oneshot';
  const watchdog = ms(svc, 'timeouts.watchdog', 0);
  return {
    type,
    remainAfterExit: svc.bool('lifecycle.remain_after_exit') ?? false,
    pidFile: svc.str('lifecycle.pid_file'),
    notifyAccess: (svc.str('lifecycle.notify_access') as NotifyAccess | undefined) ?? (type === 'notify' ? 'main' : 'none'),
    restart: (svc.str('restart_policy') as RestartPolicy | undefined) ?? 'no',
    restartDelayMs: ms(svc, 'restart.delay', 100),
    restartPrevent: statusSet(svc, 'restart.prevent_exit_status'),
    restartForce: statusSet(svc, 'restart.force_exit_status'),
    success: statusSet(svc, 'lifecycle.success_exit_status'),
    // DefaultTimeoutStartSec=90s, but Type=oneshot has no start timeout by default.
    startTimeoutMs: zeroIsInfinite(ms(svc, 'timeouts.start', oneshot ? Infinity : 90_000)),
    stopTimeoutMs: zeroIsInfinite(ms(svc, 'timeouts.stop', 90_000)),
    watchdogMs: watchdog === Infinity ? 0 : watchdog,
    startLimitIntervalMs: ms(svc, 'unit.start_limit.interval', 10_000),
    startLimitBurst: svc.num('unit.start_limit.burst') ?? 5,
    killMode: (svc.str('kill.mode') as KillMode | undefined) ?? 'control-group',
    killSignal: signal(svc, 'kill.signal', SIGNALS.SIGTERM),
    restartKillSignal: signal(svc, 'kill.restart_signal', signal(svc, 'kill.signal', SIGNALS.SIGTERM)),
    finalKillSignal: signal(svc, 'kill.final_signal', SIGNALS.SIGKILL),
    watchdogSignal: signal(svc, 'kill.watchdog_signal', SIGNALS.SIGABRT),
    sendSigkill: svc.bool('kill.send_sigkill') ?? true,
    sendSighup: svc.bool('kill.send_sighup') ?? false,
  };
}
