import t from 'tap';
import { ValueError } from '../src/unit/diagnostics.js';
import { parseMemoryLimit, parseSize, parseSizeBig } from '../src/unit/values/size.js';

// Accept/reject decisions were cross-checked with MemoryMax= under `systemd-analyze verify` (systemd 252).
t.test('parse_size() base 1024', async (t) => {
  const cases: [string, number][] = [
    ['0', 0],
    ['512', 512],
    ['1B', 1],
    ['1K', 1024],
    ['4M', 4 * 1024 ** 2],
    ['1G', 1024 ** 3],
    ['1.5G', 1_610_612_736],
    ['1.5K', 1536],
    ['0.1K', 102],
    ['10.M', 10 * 1024 ** 2],
    ['1 G', 1024 ** 3],
    ['1G 512M', 1024 ** 3 + 512 * 1024 ** 2],
    ['1G512M', 1024 ** 3 + 512 * 1024 ** 2],
    ['1K1', 1025],
    [' 5', 5],
    ['1T', 1024 ** 4],
    ['2P', 2 * 1024 ** 5],
  ];
  for (const [input, n] of cases) t.equal(parseSize(input), n, input);
  t.equal(parseSizeBig('1E'), 1n << 60n);
  t.equal(parseSizeBig('15E'), 15n << 60n);
  t.equal(parseSizeBig('18446744073709551615'), (1n << 64n) - 1n);
  t.equal(parseSizeBig('0.3333333333K'), 341n, 'fraction computed in doubles and truncated');
});

t.test('parse_size() base 1000', async (t) => {
  t.equal(parseSize('1K', 1000), 1000);
  t.equal(parseSize('1.5M', 1000), 1_500_000);
  t.equal(parseSize('2G', 1000), 2_000_000_000);
});

t.test('parse_size() errors', async (t) => {
  t.throws(() => parseSize('512M 1G'), { name: 'ValueError', message: 'Failed to parse size "512M 1G": unit "G" out of order' });
  t.throws(() => parseSize('1k'), { message: 'Failed to parse size "1k": unknown unit "k"' });
  t.throws(() => parseSize('-1'), { message: /negative/ });
  t.throws(() => parseSize('16E'), { message: /out of range/ });
  t.throws(() => parseSize('15.99E'), { message: /out of range/ });
  t.throws(() => parseSize('18446744073709551616'), { message: /out of range/ });
  for (const b of ['', '1KB', '1.5.G', '5 5', 'G', 'infinity', '1 KiB', '0x10']) t.throws(() => parseSize(b), ValueError, JSON.stringify(b));
});

t.test('MemoryMax= and friends', async (t) => {
  t.same(parseMemoryLimit('1.5G', 'MemoryMax'), { kind: 'bytes', bytes: 1_610_612_736 });
  t.same(parseMemoryLimit('infinity', 'MemoryMax'), { kind: 'infinity' });
  t.same(parseMemoryLimit('50%', 'MemoryMax'), { kind: 'percent', permyriad: 5000 });
  t.same(parseMemoryLimit('12.34%', 'MemoryHigh'), { kind: 'percent', permyriad: 1234 });
  t.same(parseMemoryLimit('5\u2030', 'MemoryHigh'), { kind: 'percent', permyriad: 50 });
  t.same(parseMemoryLimit('18446744073709551614', 'MemoryMax'), { kind: 'bytes', bytes: 18446744073709551614 });
  t.throws(() => parseMemoryLimit('0', 'MemoryMax'), { message: 'Memory limit "0" out of range' });
  t.throws(() => parseMemoryLimit('0%', 'MemoryHigh'), { message: 'Memory limit "0%" out of range' });
  t.same(parseMemoryLimit('0', 'MemorySwapMax'), { kind: 'bytes', bytes: 0 });
  t.same(parseMemoryLimit('0', 'MemoryLow'), { kind: 'bytes', bytes: 0 });
  t.same(parseMemoryLimit('0%', 'MemoryMin'), { kind: 'percent', permyriad: 0 });
  t.same(parseMemoryLimit('0'), { kind: 'bytes', bytes: 0 }, 'no directive: zero allowed');
  t.throws(() => parseMemoryLimit('18446744073709551615', 'MemoryMax'), { message: /out of range/ });
  t.throws(() => parseMemoryLimit('101%', 'MemoryMax'), { message: /^Invalid memory limit "101%"/ });
  t.throws(() => parseMemoryLimit('Infinity', 'MemoryMax'), ValueError);
  t.throws(() => parseMemoryLimit('1k', 'MemoryMax'), { message: 'Invalid memory limit "1k": unknown unit "k"' });
});

t.test('parse_size() error reasons', async (t) => {
  t.throws(() => parseSize('5 5'), { message: 'Failed to parse size "5 5": unexpected "5"' });
  t.throws(() => parseSize(''), { message: 'Failed to parse size "": no number given' });
  t.throws(() => parseSize('G'), { message: 'Failed to parse size "G": invalid number at "G"' });
  t.throws(() => parseSize('1KB'), { message: 'Failed to parse size "1KB": unit "B" out of order' });
});
