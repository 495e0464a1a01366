/**
 * Off-heap C data built in the parent for use after fork: NUL-terminated
 * strings and NULL-terminated pointer arrays. Buffer.allocUnsafeSlow gives
 * unpooled memory outside the V8 heap at a stable address.
 */
import koffi from 'koffi';

/** A NUL-terminated UTF-8 copy of s. Throws on embedded NUL. */
export function cString(s: string): Buffer {
  if (s.includes('\0')) throw new Error(`string contains a NUL byte: ${JSON.stringify(s)}`);
  const n = Buffer.byteLength(s);
  const buf = Buffer.allocUnsafeSlow(n + 1);
  buf.write(s, 0, 'utf8');
  buf[n] = 0;
  return buf;
}

/** Zero-filled off-heap memory. */
export function cZero(size: number): Buffer {
  return Buffer.allocUnsafeSlow(size).fill(0);
}

/** The data address of a Buffer. */
export function addressOf(buf: Buffer): bigint {
  return koffi.address(buf);
}

/**
 * A `char *[]` (NULL-terminated) over the given strings. `keep` holds the
 * referenced strings: keep it reachable as long as `array` may be used.
 */
export interface CStringArray {
  readonly array: Buffer;
  readonly strings: readonly Buffer[];
}

export function cStringArray(items: readonly (string | Buffer)[]): CStringArray {
  const strings = items.map((s) => (typeof s === 'string' ? cString(s) : s));
  const array = cZero(8 * (strings.length + 1));
  strings.forEach((s, i) => array.writeBigUInt64LE(addressOf(s), 8 * i));
  return { array, strings };
}

/** A view of a Buffer as int32s (the Buffer must be 4-byte aligned, as allocUnsafeSlow is). */
export function int32View(buf: Buffer): Int32Array {
  return new Int32Array(buf.buffer, buf.byteOffset, buf.byteLength >> 2);
}
