/**
 * Constants for process resources (values from the Linux UAPI headers:
 * linux/resource.h, linux/sched.h, linux/ioprio.h, linux/keyctl.h,
 * linux/personality.h). Identical on x86-64 and aarch64.
 */

/** setpriority(2) `which`. */
export const PRIO_PROCESS = 0;

/** sched_setscheduler(2) policies (linux/sched.h). */
export const SCHED_POLICY = { other: 0, fifo: 1, rr: 2, batch: 3, idle: 5 } as const;
export type SchedPolicyName = keyof typeof SCHED_POLICY;
export const SCHED_RESET_ON_FORK = 0x40000000;
/** struct sched_param: one int. */
export const SCHED_PARAM_SIZE = 4;

/** ioprio_set(2) (linux/ioprio.h). */
export const IOPRIO_WHO_PROCESS = 1;
export const IOPRIO_CLASS_SHIFT = 13;
export const IOPRIO_CLASS = { none: 0, realtime: 1, 'best-effort': 2, idle: 3 } as const;
export type IoprioClassName = keyof typeof IOPRIO_CLASS;
/** systemd's IOPRIO_DEFAULT_CLASS_AND_PRIO: best-effort, level 4. */
export const IOPRIO_DEFAULT_LEVEL = 4;

/** keyctl(2) operations and special keyring ids (linux/keyctl.h). */
export const KEYCTL_JOIN_SESSION_KEYRING = 1;
export const KEYCTL_LINK = 8;
export const KEY_SPEC_SESSION_KEYRING = -3;
export const KEY_SPEC_USER_KEYRING = -4;

/** personality(2): the query value (leaves the persona unchanged). */
export const PERSONALITY_QUERY = 0xffffffff;
