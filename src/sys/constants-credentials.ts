/**
 * Constants for credentials and capabilities (linux/prctl.h, linux/capability.h,
 * linux/securebits.h); identical on x86-64 and aarch64. The prctl options
 * already in constants.ts (PR_SET_KEEPCAPS, PR_CAPBSET_DROP, PR_SET_SECUREBITS,
 * PR_SET_NO_NEW_PRIVS, PR_CAP_AMBIENT…) are not repeated here.
 */

// prctl(2)
export const PR_CAPBSET_READ = 23;
export const PR_GET_SECUREBITS = 27;
export const PR_CAP_AMBIENT_IS_SET = 1;
export const PR_CAP_AMBIENT_LOWER = 3;

// capget(2)/capset(2): struct __user_cap_header_struct {u32 version; i32 pid} and
// two struct __user_cap_data_struct {u32 effective, permitted, inheritable} (caps 0-31, 32-63).
export const LINUX_CAPABILITY_VERSION_3 = 0x20080522;
export const CAP_HEADER_SIZE = 8;
export const CAP_DATA_SIZE = 24;
/** int32 indexes into the two data structs. */
export const CAP_EFFECTIVE = 0;
export const CAP_PERMITTED = 1;
export const CAP_INHERITABLE = 2;
export const CAP_DATA_STRIDE = 3;

export const CAP_SETPCAP = 8;

// Securebits (bit numbers).
export const SECURE_KEEP_CAPS = 4;

/** /proc/sys/kernel/cap_last_cap when it cannot be read (Linux 5.9+: CAP_CHECKPOINT_RESTORE). */
export const CAP_LAST_CAP_FALLBACK = 40;
