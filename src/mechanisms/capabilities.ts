/**
 * Capabilities, securebits and no_new_privs between fork and execve, in
 * systemd's order (exec_invoke()/exec_child() in src/core/execute.c, v252–v255):
 *
 *   bounding-set drop (capability_bounding_set_drop(bset, right_now=false):
 *     PR_CAPBSET_DROP for every unlisted cap, and the same caps cleared from the
 *     inheritable set so nothing exec'd regains them)
 *   ambient "also_inherit" (capability_ambient_set_apply(set, true)): the
 *     ambient caps are added to the inheritable set and raised while still
 *     root — setresuid() to a non-root uid clears the ambient set even with
 *     SECURE_KEEP_CAPS, so they are raised again after the switch
 *   … setresuid (credentials.ts) …
 *   ambient raise (capability_ambient_set_apply(set, false))
 *   securebits (CAP_SETPCAP raised into the effective set first, as
 *     capability_gain_cap_setpcap() does: a non-root user kept it in the
 *     permitted set through SECURE_KEEP_CAPS)
 *   PR_SET_NO_NEW_PRIVS
 *
 * Ambient caps missing from the bounding set are skipped silently, like
 * systemd ("requested but missing from bounding set, suppressing").
 *
 * The builders run in the parent; the ChildFns they return follow child.ts's
 * rules (no allocation: preallocated Buffers, Int32Array/Uint8Array scratch,
 * int32 arithmetic only).
 */
import { readFileSync } from 'node:fs';
import type { ChildFn } from '../launch/child.js';
import { fail } from '../launch/child.js';
import { cZero, int32View } from '../sys/cmem.js';
import { PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, PR_CAPBSET_DROP, PR_SET_NO_NEW_PRIVS, PR_SET_SECUREBITS } from '../sys/constants.js';
import {
  CAP_DATA_SIZE, CAP_DATA_STRIDE, CAP_EFFECTIVE, CAP_HEADER_SIZE, CAP_INHERITABLE, CAP_LAST_CAP_FALLBACK, CAP_SETPCAP,
  LINUX_CAPABILITY_VERSION_3, PR_CAP_AMBIENT_IS_SET, PR_CAP_AMBIENT_LOWER, PR_CAPBSET_READ, PR_GET_SECUREBITS,
} from '../sys/constants-credentials.js';
import { prctl } from '../sys/libc.js';
import { capget, capset } from '../sys/libc-credentials.js';

/** Highest capability systemd can represent (64-bit masks, bit 63 reserved). */
export const CAP_NUMBER_MAX = 62;

let lastCap: number | undefined;

/** The running kernel's highest capability number (/proc/sys/kernel/cap_last_cap, systemd's cap_last_cap()). */
export function capLastCap(): number {
  if (lastCap === undefined) {
    let n = Number.NaN;
    try {
      n = Number(readFileSync('/proc/sys/kernel/cap_last_cap', 'utf8').trim());
    } catch {
      // no /proc: assume the newest capability this code knows
    }
    lastCap = Number.isInteger(n) && n >= 0 && n <= CAP_NUMBER_MAX ? n : CAP_LAST_CAP_FALLBACK;
  }
  return lastCap;
}

/** Per-bit flags 0..last for a list of capability numbers (numbers above `last` are ignored, as the kernel lacks them). */
function capFlags(caps: readonly number[], last: number): Uint8Array {
  const flags = new Uint8Array(last + 1);
  for (const c of caps) if (c <= last) flags[c] = 1;
  return flags;
}

/** The low (caps 0–31) or high (32–63) 32-bit word of a capability list, as an int32. */
export function capWord(caps: readonly number[], word: 0 | 1): number {
  let w = 0;
  for (const c of caps) if (c >> 5 === word) w |= 1 << (c & 31);
  return w | 0;
}

/** capget/capset buffers for one ChildFn (v3 header + two data structs). */
interface CapBuffers {
  readonly header: Buffer;
  readonly data: Buffer;
  readonly h: Int32Array;
  /** [eff0, prm0, inh0, eff1, prm1, inh1] */
  readonly d: Int32Array;
}

function capBuffers(keep: (b: Buffer) => Buffer): CapBuffers {
  const header = keep(cZero(CAP_HEADER_SIZE));
  const data = keep(cZero(CAP_DATA_SIZE));
  return { header, data, h: int32View(header), d: int32View(data) };
}

/** Child side: reads this thread's sets into c.d; 0 or an errno. */
function capGet(c: CapBuffers): number {
  c.h[0] = LINUX_CAPABILITY_VERSION_3;
  c.h[1] = 0;
  return capget(c.header, c.data) < 0 ? fail() : 0;
}

/** Child side: writes c.d back; 0 or an errno. */
function capSet(c: CapBuffers): number {
  c.h[0] = LINUX_CAPABILITY_VERSION_3;
  c.h[1] = 0;
  return capset(c.header, c.data) < 0 ? fail() : 0;
}

/**
 * CapabilityBoundingSet=: drops every capability not in `keep` from the
 * bounding set and from the inheritable set. A drop that fails for a
 * capability already absent from the bounding set is not an error.
 */
export function boundingSetDrop(keepCaps: readonly number[], keep: (b: Buffer) => Buffer): ChildFn {
  const last = capLastCap();
  const kept = capFlags(keepCaps, last);
  const lo = capWord(keepCaps, 0);
  const hi = capWord(keepCaps, 1);
  const c = capBuffers(keep);
  const d = c.d;
  return () => {
    for (let i = 0; i <= last; i++) {
      if (kept[i] === 1) continue;
      if (prctl(PR_CAPBSET_DROP, i, 0, 0, 0) < 0) {
        const e = fail();
        if (prctl(PR_CAPBSET_READ, i, 0, 0, 0) !== 0) return e;
      }
    }
    const g = capGet(c);
    if (g !== 0) return g;
    d[CAP_INHERITABLE] = d[CAP_INHERITABLE]! & lo;
    d[CAP_DATA_STRIDE + CAP_INHERITABLE] = d[CAP_DATA_STRIDE + CAP_INHERITABLE]! & hi;
    return capSet(c);
  };
}

/**
 * AmbientCapabilities=: sets the ambient set to exactly `caps` (minus those
 * outside the bounding set). With `inherit` the caps are first added to the
 * inheritable set (PR_CAP_AMBIENT_RAISE needs them permitted and inheritable):
 * that is the pre-switch step; the post-switch step only re-raises.
 */
export function ambientApply(caps: readonly number[], inherit: boolean, keep: (b: Buffer) => Buffer): ChildFn {
  const last = capLastCap();
  const wanted = capFlags(caps, last);
  const eff = new Uint8Array(last + 1);
  const c = capBuffers(keep);
  const d = c.d;
  return () => {
    let lo = 0;
    let hi = 0;
    for (let i = 0; i <= last; i++) {
      const on = wanted[i] === 1 && prctl(PR_CAPBSET_READ, i, 0, 0, 0) === 1;
      eff[i] = on ? 1 : 0;
      if (on) {
        if (i < 32) lo |= 1 << i;
        else hi |= 1 << (i - 32);
      }
    }
    if (inherit) {
      const g = capGet(c);
      if (g !== 0) return g;
      d[CAP_INHERITABLE] = d[CAP_INHERITABLE]! | lo;
      d[CAP_DATA_STRIDE + CAP_INHERITABLE] = d[CAP_DATA_STRIDE + CAP_INHERITABLE]! | hi;
      const s = capSet(c);
      if (s !== 0) return s;
    }
    for (let i = 0; i <= last; i++) {
      if (eff[i] === 1) {
        if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, i, 0, 0) < 0) return fail();
        continue;
      }
      // Lower what we did not ask for, so nothing inherited leaks into the service.
      const set = prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, i, 0, 0);
      if (set < 0) return fail();
      if (set > 0 && prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_LOWER, i, 0, 0) < 0) return fail();
    }
    return 0;
  };
}

/**
 * SecureBits=: sets the securebits to exactly `bits` (which also clears the
 * SECURE_KEEP_CAPS the user switch may have set). Needs CAP_SETPCAP in the
 * effective set; raising it there is harmless because execve recomputes the
 * effective set.
 */
export function secureBitsApply(bits: number, keep: (b: Buffer) => Buffer): ChildFn {
  const c = capBuffers(keep);
  const d = c.d;
  const setpcap = 1 << CAP_SETPCAP;
  return () => {
    const cur = prctl(PR_GET_SECUREBITS, 0, 0, 0, 0);
    if (cur < 0) return fail();
    if (cur === bits) return 0;
    const g = capGet(c);
    if (g !== 0) return g;
    if ((d[CAP_EFFECTIVE]! & setpcap) === 0) {
      d[CAP_EFFECTIVE] = d[CAP_EFFECTIVE]! | setpcap;
      const s = capSet(c);
      if (s !== 0) return s;
    }
    return prctl(PR_SET_SECUREBITS, bits, 0, 0, 0) < 0 ? fail() : 0;
  };
}

/** NoNewPrivileges=yes. */
export function noNewPrivileges(): ChildFn {
  return () => (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ? fail() : 0);
}
