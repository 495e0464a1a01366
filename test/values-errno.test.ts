import t from 'tap';
import { readFileSync, existsSync } from 'node:fs';
import { ValueError } from '../src/unit/diagnostics.js';
import { ERRNOS, ERRNO_ALIASES, errnoFromName, errnoName, parseErrno } from '../src/unit/values/errno.js';

t.test('names and numbers', async (t) => {
  t.equal(parseErrno('EPERM'), 1);
  t.equal(parseErrno('EACCES'), 13);
  t.equal(parseErrno('EHWPOISON'), 133);
  t.equal(parseErrno('EWOULDBLOCK'), 11);
  t.equal(parseErrno('EDEADLOCK'), 35);
  t.equal(parseErrno('ENOTSUP'), 95);
  t.equal(parseErrno('1'), 1);
  t.equal(parseErrno('0'), 0, 'parse_errno() allows 0');
  t.equal(parseErrno('4095'), 4095, 'numbers without a name up to ERRNO_MAX');
  t.equal(parseErrno('0x10'), 16);
  t.equal(Object.keys(ERRNOS).length, 131);
  t.same(Object.keys(ERRNO_ALIASES).sort(), ['EDEADLOCK', 'ENOTSUP', 'EWOULDBLOCK']);
});

t.test('errors', async (t) => {
  for (const b of ['kill', 'eperm', 'EFOO', '-1', '4096', '', 'EPERM ', 'toString']) t.throws(() => parseErrno(b), ValueError, JSON.stringify(b));
  t.throws(() => parseErrno('4096'), { message: 'Error number "4096" out of range 0…4095' });
  t.throws(() => parseErrno('kill'), { message: 'Failed to parse error number "kill": not a known errno name or a number' });
  t.equal(errnoFromName('toString'), undefined);
});

t.test('errno_to_name() prefers the primary names', async (t) => {
  t.equal(errnoName(1), 'EPERM');
  t.equal(errnoName(11), 'EAGAIN');
  t.equal(errnoName(35), 'EDEADLK');
  t.equal(errnoName(95), 'EOPNOTSUPP');
  t.equal(errnoName(-2), 'ENOENT');
  t.equal(errnoName(41), undefined);
  t.equal(errnoName(58), undefined);
  t.equal(errnoName(200), undefined);
});

const HEADERS = ['/usr/include/asm-generic/errno-base.h', '/usr/include/asm-generic/errno.h'];
const haveHeaders = HEADERS.every((f) => existsSync(f));

t.test('matches the asm-generic headers of this machine', { skip: haveHeaders ? false : 'kernel headers not installed' }, async (t) => {
  const files = HEADERS;
  const fromHeaders = new Map<string, number>();
  for (const f of files) {
    for (const m of readFileSync(f, 'utf8').matchAll(/^#define\s+(E[A-Z0-9]+)\s+(\d+)\b/gm)) fromHeaders.set(m[1]!, Number(m[2]));
  }
  t.same(Object.fromEntries([...fromHeaders].sort((a, b) => a[1] - b[1])), ERRNOS);
});
