import t from 'tap';
import { ValueError } from '../src/unit/diagnostics.js';
import { CParseError, safeAtoi, safeAtou, strtoull } from '../src/unit/values/cparse.js';
import {
  formatPermyriad, parseCPUQuota, parseCPUQuotaPermyriad, parseCPUSchedulingPolicy, parseCPUSchedulingPriority, parseCPUWeight,
  parseInt32, parseIOSchedulingClass, parseIOSchedulingPriority, parseIOWeight, parseMode, parseNice, parseOOMScoreAdjust,
  parsePercent, parsePermyriad, parsePermyriadUnbounded, parseTasksMax, parseTasksMaxFull, parseUnsigned, parseUnsigned64,
} from '../src/unit/values/numbers.js';

// Accept/reject decisions were cross-checked with `systemd-analyze verify` (systemd 252).
t.test('safe_atou(): base 0, whitespace, plus, overflow', async (t) => {
  t.equal(parseUnsigned('42'), 42);
  t.equal(parseUnsigned('0x1f'), 31);
  t.equal(parseUnsigned('0X1F'), 31);
  t.equal(parseUnsigned('010'), 8, 'leading 0 is octal, like strtoul()');
  t.equal(parseUnsigned('0b101'), 5);
  t.equal(parseUnsigned('0o17'), 15);
  t.equal(parseUnsigned(' 7'), 7);
  t.equal(parseUnsigned('+7'), 7);
  t.equal(parseUnsigned('-0'), 0);
  t.equal(parseUnsigned('4294967295'), 4294967295);
  t.throws(() => parseUnsigned('4294967296'), { message: 'Failed to parse unsigned integer "4294967296": value out of range' });
  t.throws(() => parseUnsigned('-1'), { message: /out of range/ });
  t.throws(() => parseUnsigned('12abc'), { message: 'Failed to parse unsigned integer "12abc": invalid number' });
  for (const b of ['', ' ', 'abc', '1 ', '0x', '08', '1.0', '1e3']) t.throws(() => parseUnsigned(b), ValueError, JSON.stringify(b));
  t.equal(parseUnsigned64('18446744073709551615'), 18446744073709551615);
  t.throws(() => parseUnsigned64('18446744073709551616'), ValueError);
});

t.test('safe_atoi()', async (t) => {
  t.equal(parseInt32('-5'), -5);
  t.equal(parseInt32('-0x10'), -16);
  t.equal(parseInt32('2147483647'), 2147483647);
  t.equal(parseInt32('-2147483648'), -2147483648);
  t.throws(() => parseInt32('2147483648'), ValueError);
  t.throws(() => parseInt32('5x'), ValueError);
});

t.test('Nice=, OOMScoreAdjust=, CPUSchedulingPriority=, IOSchedulingPriority=', async (t) => {
  t.equal(parseNice('-20'), -20);
  t.equal(parseNice('19'), 19);
  t.equal(parseNice('+5'), 5);
  t.equal(parseNice('0x5'), 5);
  t.equal(parseNice('010'), 8);
  t.throws(() => parseNice('20'), { message: 'Nice priority "20" out of range (-20…19)' });
  t.throws(() => parseNice('-21'), ValueError);
  t.throws(() => parseNice('5x'), { message: 'Failed to parse Nice priority "5x": invalid number' });
  t.equal(parseOOMScoreAdjust('-1000'), -1000);
  t.equal(parseOOMScoreAdjust('1000'), 1000);
  t.throws(() => parseOOMScoreAdjust('1001'), ValueError);
  t.equal(parseCPUSchedulingPriority('0'), 0);
  t.equal(parseCPUSchedulingPriority('99'), 99);
  t.throws(() => parseCPUSchedulingPriority('100'), ValueError);
  t.throws(() => parseCPUSchedulingPriority('-1'), ValueError);
  t.equal(parseIOSchedulingPriority('0'), 0);
  t.equal(parseIOSchedulingPriority('7'), 7);
  t.equal(parseIOSchedulingPriority('0x3'), 3);
  t.throws(() => parseIOSchedulingPriority('8'), ValueError);
  t.throws(() => parseIOSchedulingPriority('-1'), ValueError);
});

t.test('CPUSchedulingPolicy=, IOSchedulingClass=', async (t) => {
  for (const p of ['other', 'batch', 'idle', 'fifo', 'rr'] as const) t.equal(parseCPUSchedulingPolicy(p), p);
  t.equal(parseCPUSchedulingPolicy('0'), 'other');
  t.equal(parseCPUSchedulingPolicy('1'), 'fifo');
  t.equal(parseCPUSchedulingPolicy('2'), 'rr');
  t.equal(parseCPUSchedulingPolicy('3'), 'batch');
  t.equal(parseCPUSchedulingPolicy('5'), 'idle');
  t.throws(() => parseCPUSchedulingPolicy('RR'), { message: /Failed to parse CPU scheduling policy "RR"/ });
  t.throws(() => parseCPUSchedulingPolicy('-1'), ValueError);
  t.throws(() => parseCPUSchedulingPolicy('6'), { message: /Unsupported CPU scheduling policy number 6/ });
  for (const c of ['none', 'realtime', 'best-effort', 'idle'] as const) t.equal(parseIOSchedulingClass(c), c);
  t.equal(parseIOSchedulingClass('0'), 'none');
  t.equal(parseIOSchedulingClass('1'), 'realtime');
  t.equal(parseIOSchedulingClass('2'), 'best-effort');
  t.equal(parseIOSchedulingClass('3'), 'idle');
  t.throws(() => parseIOSchedulingClass('Idle'), ValueError);
  t.throws(() => parseIOSchedulingClass('toString'), ValueError);
  t.throws(() => parseCPUSchedulingPolicy('constructor'), ValueError);
  t.throws(() => parseIOSchedulingClass('9'), ValueError);
  t.throws(() => parseIOSchedulingClass('4'), { message: /Unsupported IO scheduling class number 4/ });
});

t.test('parse_mode(): UMask=, *DirectoryMode=', async (t) => {
  t.equal(parseMode('0077'), 0o77);
  t.equal(parseMode('077'), 0o77);
  t.equal(parseMode('0755'), 0o755);
  t.equal(parseMode('755'), 0o755);
  t.equal(parseMode(' 0755'), 0o755);
  t.equal(parseMode('07777'), 0o7777);
  t.equal(parseMode('0'), 0);
  t.throws(() => parseMode('010000'), { message: 'Mode "010000" out of range (0…07777)' });
  for (const b of ['0x7', '+077', '-0', '0o755', '8', '0755x', '', 'rwx']) t.throws(() => parseMode(b), ValueError, JSON.stringify(b));
});

t.test('CPUWeight=, IOWeight=', async (t) => {
  t.equal(parseCPUWeight('1'), 1);
  t.equal(parseCPUWeight('10000'), 10000);
  t.equal(parseCPUWeight('idle'), 'idle');
  t.equal(parseCPUWeight('0x10'), 16);
  t.throws(() => parseCPUWeight('0'), { message: 'Weight "0" out of range (1…10000)' });
  t.throws(() => parseCPUWeight('10001'), ValueError);
  t.throws(() => parseCPUWeight('IDLE'), ValueError);
  t.equal(parseIOWeight('100'), 100);
  t.throws(() => parseIOWeight('idle'), ValueError);
  t.throws(() => parseIOWeight('0'), ValueError);
});

t.test('parse_permyriad() and friends', async (t) => {
  t.equal(parsePermyriad('20%'), 2000);
  t.equal(parsePermyriad('12.5%'), 1250);
  t.equal(parsePermyriad('12.34%'), 1234);
  t.equal(parsePermyriad('100%'), 10000);
  t.equal(parsePermyriad('5\u2030'), 50);
  t.equal(parsePermyriad('5.5\u2030'), 55);
  t.equal(parsePermyriad('5\u2031'), 5);
  t.equal(parsePermyriad('0x10%'), 1600, 'safe_atoi() before the symbol');
  t.equal(parsePermyriad(' 5%'), 500);
  t.throws(() => parsePermyriad('101%'), { message: 'Percentage "101%" out of range (0%…100%)' });
  t.equal(parsePermyriadUnbounded('250%'), 25000);
  for (const b of ['12.345%', '5.%', '-5%', '5', '%', '5.5\u2031', '5.55\u2030', 'x%']) t.throws(() => parsePermyriadUnbounded(b), ValueError, b);
  t.equal(parsePercent('42%'), 42);
  t.throws(() => parsePercent('4.2%'), ValueError);
  t.throws(() => parsePercent('142%'), ValueError);
  t.equal(formatPermyriad(2000), '20%');
  t.equal(formatPermyriad(1250), '12.5%');
  t.equal(formatPermyriad(1205), '12.05%');
  t.equal(formatPermyriad(1), '0.01%');
});

t.test('CPUQuota=: positive, may exceed 100%', async (t) => {
  t.equal(parseCPUQuota('20%'), 20);
  t.equal(parseCPUQuota('200%'), 200);
  t.equal(parseCPUQuota('12.5%'), 12.5);
  t.equal(parseCPUQuota('12.34%'), 12.34);
  t.equal(parseCPUQuotaPermyriad('5\u2030'), 50);
  t.equal(parseCPUQuotaPermyriad('5\u2031'), 5);
  t.throws(() => parseCPUQuota('0%'), { message: 'Invalid CPU quota "0%": must be greater than 0%' });
  for (const b of ['12.345%', '5.%', '-5%', '1', '0.0%']) t.throws(() => parseCPUQuota(b), ValueError, b);
});

t.test('TasksMax=', async (t) => {
  t.equal(parseTasksMax('10'), 10);
  t.equal(parseTasksMax('0x10'), 16);
  t.equal(parseTasksMax('infinity'), 'infinity');
  t.equal(parseTasksMax('50%'), '50%');
  t.equal(parseTasksMax('12.5%'), '12.5%');
  t.same(parseTasksMaxFull('100%'), { kind: 'percent', permyriad: 10000 });
  t.same(parseTasksMaxFull('4096'), { kind: 'count', count: 4096 });
  t.throws(() => parseTasksMax('0'), { message: 'Maximum tasks value "0" out of range' });
  t.throws(() => parseTasksMax('101%'), ValueError);
  t.throws(() => parseTasksMax('-1'), ValueError);
  t.throws(() => parseTasksMax('Infinity'), ValueError);
});

t.test('C number parsing (cparse.ts)', async (t) => {
  t.equal(safeAtou('0x10'), 16n);
  t.equal(safeAtou('010'), 8n);
  t.equal(safeAtou('0b11'), 3n);
  t.equal(safeAtou('0o11'), 9n);
  t.equal(safeAtou('-0'), 0n);
  t.equal(safeAtou('255', { bits: 8 }), 255n);
  t.throws(() => safeAtou('256', { bits: 8 }), new CParseError('ERANGE'));
  t.throws(() => safeAtou('-1'), new CParseError('ERANGE'));
  t.throws(() => safeAtou('0x'), new CParseError('EINVAL'));
  t.throws(() => safeAtou(' 1', { refuseLeadingWhitespace: true }), new CParseError('EINVAL'));
  t.throws(() => safeAtou('01', { refuseLeadingZero: true }), new CParseError('EINVAL'));
  t.equal(safeAtou('0', { refuseLeadingZero: true }), 0n);
  t.equal(safeAtou('17', { base: 8 }), 15n);
  t.equal(safeAtoi('-0x10'), -16);
  t.throws(() => safeAtoi('2147483648'), new CParseError('ERANGE'));
  t.same(strtoull('-1', 0, 10), { value: (1n << 64n) - 1n, end: 2, erange: false }, 'strtoull() wraps negatives like C');
  t.same(strtoull('0xg', 0, 0), { value: 0n, end: 1, erange: false }, '"0x" without hex digits parses the 0');
});
