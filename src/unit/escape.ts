/**
 * C-style escapes, as systemd v255 reads and writes them (src/basic/escape.c,
 * src/basic/utf8.c).
 *
 * systemd works on bytes: `\xNN` and `\NNN` produce one raw byte each, `\uNNNN`
 * and `\UNNNNNNNN` produce the UTF-8 encoding of a code point. JavaScript strings
 * are Unicode, so the raw bytes are collected and decoded as UTF-8 when the string
 * is finished (Utf8Builder). Byte sequences that are not valid UTF-8 — which
 * systemd would pass on as they are — are rejected here with a ValueError: sysg
 * cannot hand arbitrary bytes to a process through Node anyway.
 */

import { ValueError } from './diagnostics.js';

/** cunescape() flags (UnescapeFlags). */
export const UNESCAPE_RELAX = 1 << 0;
export const UNESCAPE_ACCEPT_NUL = 1 << 1;

const fatalDecoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** unichar_is_valid(): the code points systemd's UTF-8 validation accepts. */
export function unicharIsValid(cp: number): boolean {
  if (cp >= 0x110000) return false; // end of Unicode
  if ((cp & 0xfffff800) === 0xd800) return false; // UTF-16 surrogates
  if (cp >= 0xfdd0 && cp <= 0xfdef) return false; // reserved
  if ((cp & 0xfffe) === 0xfffe) return false; // U+xxFFFE / U+xxFFFF
  return true;
}

/**
 * utf8_is_valid(): every character is well-formed and passes unichar_is_valid()
 * (so U+FFFE, U+FDD0… and lone surrogates count as invalid, as in systemd).
 */
export function utf8IsValid(s: string): boolean {
  for (const ch of s) {
    const cp = ch.codePointAt(0);
    if (cp === undefined || !unicharIsValid(cp)) return false;
  }
  return true;
}

/**
 * Collects the output of an unescaper: literal text, raw bytes (from `\x`/octal
 * escapes) and code points (from `\u`/`\U`). toString() decodes runs of raw bytes
 * as UTF-8 and throws ValueError if they are not valid UTF-8.
 */
export class Utf8Builder {
  private readonly parts: string[] = [];
  private bytes: number[] = [];

  text(s: string): void {
    if (this.bytes.length > 0) this.flush();
    this.parts.push(s);
  }

  byte(b: number): void {
    this.bytes.push(b & 0xff);
  }

  codePoint(cp: number): void {
    if ((cp & 0xfffff800) === 0xd800) {
      // utf8_encode_unichar() writes a surrogate as three bytes; that is not UTF-8.
      this.bytes.push(0xe0 | (cp >> 12), 0x80 | ((cp >> 6) & 0x3f), 0x80 | (cp & 0x3f));
      return;
    }
    this.text(String.fromCodePoint(cp));
  }

  toString(): string {
    if (this.bytes.length > 0) this.flush();
    return this.parts.join('');
  }

  private flush(): void {
    const raw = Uint8Array.from(this.bytes);
    this.bytes = [];
    let s: string;
    try {
      s = fatalDecoder.decode(raw);
    } catch {
      const hex = Array.from(raw, (b) => '\\x' + b.toString(16).padStart(2, '0')).join('');
      throw new ValueError(`escape sequences produce bytes that are not valid UTF-8: ${hex}`);
    }
    this.parts.push(s);
  }
}

function unhex(c: string | undefined): number {
  if (c === undefined) return -1;
  const x = c.charCodeAt(0);
  if (x >= 0x30 && x <= 0x39) return x - 0x30;
  if (x >= 0x61 && x <= 0x66) return x - 0x61 + 10;
  if (x >= 0x41 && x <= 0x46) return x - 0x41 + 10;
  return -1;
}

function unoct(c: string | undefined): number {
  if (c === undefined || c < '0' || c > '7') return -1;
  return c.charCodeAt(0) - 48;
}

/** One decoded escape: a raw byte (`\x`, octal) or a code point (`\u`, `\U`, letters). */
export interface Unescaped {
  readonly kind: 'byte' | 'codepoint';
  readonly value: number;
  /** Characters consumed after the backslash. */
  readonly length: number;
}

const SIMPLE: Readonly<Record<string, number>> = {
  a: 0x07, b: 0x08, f: 0x0c, n: 0x0a, r: 0x0d, t: 0x09, v: 0x0b,
  '\\': 0x5c, '"': 0x22, "'": 0x27,
  s: 0x20, // systemd extension (XDG syntax): \s is a space
};

/**
 * cunescape_one(): decode the escape whose first character (after the backslash)
 * is s[i]. Returns undefined for an invalid or unknown escape, and for a NUL unless
 * acceptNul.
 */
export function cunescapeOne(s: string, i: number, acceptNul: boolean): Unescaped | undefined {
  const c = s[i];
  if (c === undefined) return undefined;
  const simple = SIMPLE[c];
  if (simple !== undefined) return { kind: 'codepoint', value: simple, length: 1 };
  switch (c) {
    case 'x': {
      const a = unhex(s[i + 1]);
      const b = unhex(s[i + 2]);
      if (a < 0 || b < 0) return undefined;
      if (a === 0 && b === 0 && !acceptNul) return undefined;
      return { kind: 'byte', value: (a << 4) | b, length: 3 };
    }
    case 'u':
    case 'U': {
      const n = c === 'u' ? 4 : 8;
      let v = 0;
      for (let k = 1; k <= n; k++) {
        const d = unhex(s[i + k]);
        if (d < 0) return undefined;
        v = v * 16 + d;
      }
      if (v === 0 && !acceptNul) return undefined;
      // Only \U checks the range; \u can still name a surrogate (rejected later as bad UTF-8).
      if (c === 'U' && !unicharIsValid(v)) return undefined;
      return { kind: 'codepoint', value: v, length: n + 1 };
    }
    default: {
      const a = unoct(c);
      if (a < 0) return undefined;
      const b = unoct(s[i + 1]);
      const d = unoct(s[i + 2]);
      if (b < 0 || d < 0) return undefined;
      if (a === 0 && b === 0 && d === 0 && !acceptNul) return undefined;
      const m = (a << 6) | (b << 3) | d;
      if (m > 255) return undefined;
      return { kind: 'byte', value: m, length: 3 };
    }
  }
}

/** Append a decoded escape to a builder. */
export function appendUnescaped(out: Utf8Builder, u: Unescaped): void {
  if (u.kind === 'byte') out.byte(u.value);
  else out.codePoint(u.value);
}

/**
 * cunescape(): undo C escaping. Without UNESCAPE_RELAX an unknown escape or a
 * trailing backslash is an error; with it, the backslash is kept literally.
 */
export function cunescape(s: string, flags = 0): string {
  const out = new Utf8Builder();
  const relax = (flags & UNESCAPE_RELAX) !== 0;
  const acceptNul = (flags & UNESCAPE_ACCEPT_NUL) !== 0;
  let literal = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c !== '\\') {
      literal += c;
      continue;
    }
    if (i === s.length - 1) {
      if (relax) {
        literal += '\\';
        continue;
      }
      throw new ValueError('trailing backslash');
    }
    const u = cunescapeOne(s, i + 1, acceptNul);
    if (!u) {
      if (relax) {
        // The backslash is taken literally; the next character is read normally.
        literal += '\\';
        continue;
      }
      throw new ValueError(`invalid escape sequence "\\${s.slice(i + 1, i + 2)}"`);
    }
    if (literal) out.text(literal);
    literal = '';
    appendUnescaped(out, u);
    i += u.length;
  }
  if (literal) out.text(literal);
  return out.toString();
}

/**
 * cescape(): C-style escaping as systemd prints it (`\n`, `\\`, `\"`, `\'`…;
 * every other byte below 0x20 or from 0x7f up as `\ooo`, byte by byte, so non-ASCII
 * text becomes octal escapes of its UTF-8 encoding). Reversed by cunescape().
 */
export function cescape(s: string): string {
  const named: Readonly<Record<number, string>> = {
    0x07: '\\a', 0x08: '\\b', 0x0c: '\\f', 0x0a: '\\n', 0x0d: '\\r', 0x09: '\\t', 0x0b: '\\v',
    0x5c: '\\\\', 0x22: '\\"', 0x27: "\\'",
  };
  let out = '';
  for (const b of Buffer.from(s, 'utf8')) {
    const n = named[b];
    if (n !== undefined) out += n;
    else if (b < 0x20 || b >= 0x7f) out += '\\' + b.toString(8).padStart(3, '0');
    else out += String.fromCharCode(b);
  }
  return out;
}
