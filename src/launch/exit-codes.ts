/**
 * systemd's exit statuses for a failure between fork and execve
 * (src/basic/exit-status.h). The supervisor sees them as the service's exit
 * code, exactly as under systemd.
 */
export const EXIT = {
  CHDIR: 200,
  NICE: 201,
  FDS: 202,
  EXEC: 203,
  MEMORY: 204,
  LIMITS: 205,
  OOM_ADJUST: 206,
  SIGNAL_MASK: 207,
  STDIN: 208,
  STDOUT: 209,
  CHROOT: 210,
  IOPRIO: 211,
  TIMERSLACK: 212,
  SECUREBITS: 213,
  SETSCHEDULER: 214,
  CPUAFFINITY: 215,
  GROUP: 216,
  USER: 217,
  CAPABILITIES: 218,
  CGROUP: 219,
  SETSID: 220,
  STDERR: 222,
  NETWORK: 225,
  NAMESPACE: 226,
  NO_NEW_PRIVILEGES: 227,
  SECCOMP: 228,
  PERSONALITY: 230,
  ADDRESS_FAMILIES: 232,
  RUNTIME_DIRECTORY: 233,
  KEYRING: 237,
  STATE_DIRECTORY: 238,
  CACHE_DIRECTORY: 239,
  LOGS_DIRECTORY: 240,
  CONFIGURATION_DIRECTORY: 241,
  CREDENTIALS: 243,
} as const;

const NAMES = new Map<number, string>(Object.entries(EXIT).map(([k, v]) => [v, k]));

/** 203 → "203/EXEC". */
export function exitCodeLabel(code: number): string {
  const name = NAMES.get(code);
  return name ? `${code}/${name}` : String(code);
}
