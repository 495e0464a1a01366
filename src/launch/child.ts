/**
 * The only code that runs between fork() and execve().
 *
 * The fork child of a node process is fragile (see launcher-notes §2): V8
 * believes its other threads still exist, so anything that takes a V8 lock
 * can hang forever, and pages mapped after the DOFORK sweep are missing.
 * The zygote runs with --single-threaded, which removes the background
 * compiler and GC threads; on top of that, code here follows these rules:
 * - call only closures built in the parent, over Buffers allocated in the
 *   parent (off-heap) and Smi arguments;
 * - no object or array creation, no property stores (a store can take the
 *   MapUpdater lock): scratch values go to preallocated Int32Arrays;
 * - no exceptions, no strings, no console.
 * A failure is reported as one 12-byte record {kind, step index, errno} on a
 * CLOEXEC pipe, followed by _exit(systemd's exit code for the step). EOF
 * without a record means execve succeeded. Two more record kinds serve the
 * namespace handshakes (see fork.ts): REC_PID (a pid-namespace intermediate
 * names the service's outer pid) and REC_USERNS (the child has unshared a
 * user namespace and waits on the sync pipe for the zygote to map it).
 */
import koffi from 'koffi';
import { _exit, write } from '../sys/libc.js';
import { cZero, int32View } from '../sys/cmem.js';

/** A child-side action: returns 0 on success or an errno. */
export type ChildFn = () => number;

// Report record kinds (the record is three int32: kind, a, b).
/** {REC_FAIL, op index, errno}: the step failed; the process exits next. */
export const REC_FAIL = 1;
/** {REC_PID, outer pid, 0}: from the pid-namespace intermediate, before the service child goes on. */
export const REC_PID = 2;
/** {REC_USERNS, 0, 0}: the sender unshared CLONE_NEWUSER and now reads one int32 (0 or an errno) from the sync pipe. */
export const REC_USERNS = 3;
export const REC_SIZE = 12;

const recBuf = cZero(REC_SIZE);
const rec = int32View(recBuf);

/**
 * Child-side state set by the parent before fork: [0] = the report pipe's
 * write end, [1] = the sync pipe's read end (-1 without a user namespace).
 */
export const childState = new Int32Array(2);
const ERR_FD = 0;
export const SYNC_FD = 1;

const EIO = 5;

/** errno of the last call, never 0 (a failed call that left errno unset reports EIO). */
export function fail(): number {
  const e = koffi.errno();
  return e > 0 ? e : EIO;
}

/** Writes n (≥ 0) in decimal at buf[off…] followed by a NUL; no allocation. */
export function writeDecimal(buf: Buffer, off: number, n: number): void {
  let len = 1;
  for (let x = n; x >= 10; x = (x / 10) | 0) len++;
  for (let k = len - 1; k >= 0; k--) {
    buf[off + k] = 48 + (n % 10);
    n = (n / 10) | 0;
  }
  buf[off + len] = 0;
}

const sendBuf = cZero(REC_SIZE);
const send = int32View(sendBuf);

/** Writes one non-failure record to the report pipe: 0 or an errno. */
export function sendRecord(kind: number, a: number, b: number): number {
  send[0] = kind;
  send[1] = a;
  send[2] = b;
  return write(childState[ERR_FD]!, sendBuf, REC_SIZE) === REC_SIZE ? 0 : fail();
}

/** Runs fns in order; on the first failure reports it and exits. Never returns. */
export function runChild(fns: readonly ChildFn[], exitCodes: Int32Array): never {
  const n = fns.length;
  for (let i = 0; i < n; i++) {
    const e = fns[i]!();
    if (e !== 0) {
      rec[0] = REC_FAIL;
      rec[1] = i;
      rec[2] = e;
      write(childState[ERR_FD]!, recBuf, REC_SIZE);
      _exit(exitCodes[i]!);
    }
  }
  // The last fn is execve, which only returns on failure; this is a safety net.
  for (;;) _exit(255);
}
