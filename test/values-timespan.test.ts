import t from 'tap';
import { ValueError } from '../src/unit/diagnostics.js';
import {
  formatTimespan, parseTimespan, parseTimespanDefInfinity, parseTimespanFix0, parseTimespanNsec,
  USEC_PER_MONTH, USEC_PER_YEAR,
} from '../src/unit/values/timespan.js';

// Expected values were cross-checked with `systemd-analyze timespan` (systemd 252).
t.test('parse_sec(): units, concatenation, fractions', async (t) => {
  const cases: [string, number][] = [
    ['1min 30s', 90_000_000],
    ['0.1', 100_000],
    ['2h30min', 9_000_000_000],
    ['1.5h', 5_400_000_000],
    ['.5', 500_000],
    ['1500us', 1500],
    ['90.5s', 90_500_000],
    ['1M', 2_629_800_000_000],
    ['1 M', 2_629_800_000_000],
    ['1y', 31_557_600_000_000],
    ['1.5M', 3_944_700_000_000],
    ['+5s', 5_000_000],
    ['5 s', 5_000_000],
    ['1 min30s', 90_000_000],
    ['0', 0],
    ['010', 10_000_000],
    ['1s1', 2_000_000],
    ['5 5', 10_000_000],
    ['12.34 .56', 12_900_000],
    ['12.34s.56', 12_900_000],
    ['1.123456789s', 1_123_456],
    ['0.0000001s', 0],
    ['1.9999999us', 1],
    ['5\u03bcs', 5],
    ['5\u00b5s', 5],
    ['1w2d', 777_600_000_000],
    ['1d1h', 90_000_000_000],
    ['5m', 300_000_000],
    ['5msec', 5000],
    ['1usec', 1],
    ['1hr', 3_600_000_000],
    ['4hours', 14_400_000_000],
    ['2 weeks 3 days', 1_468_800_000_000],
    ['1y1M1w1d1h1m1s1ms1us', 34_882_261_001_001],
    ['584541y', 18_446_711_061_600_000_000],
  ];
  for (const [input, us] of cases) t.equal(parseTimespan(input), us, input);
  t.equal(USEC_PER_MONTH, 2_629_800_000_000);
  t.equal(USEC_PER_YEAR, 31_557_600_000_000);
});

t.test('infinity', async (t) => {
  t.equal(parseTimespan('infinity'), Infinity);
  t.equal(parseTimespan(' infinity '), Infinity);
  t.throws(() => parseTimespan('infinity s'), ValueError);
  t.throws(() => parseTimespan('infinityx'), ValueError);
});

t.test('errors, with the reason in the message', async (t) => {
  t.throws(() => parseTimespan('1x'), { name: 'ValueError', message: 'Failed to parse time span "1x": unknown unit "x"' });
  t.throws(() => parseTimespan(''), { message: 'Failed to parse time span "": no value given' });
  t.throws(() => parseTimespan('-0'), { message: /negative values are not allowed/ });
  t.throws(() => parseTimespan('-5s'), { message: /negative/ });
  t.throws(() => parseTimespan('5.'), { message: /missing digits after "."/ });
  t.throws(() => parseTimespan('3.sec'), { message: /missing digits/ });
  t.throws(() => parseTimespan('1.5.5'), { message: /unexpected "."/ });
  const bad = [' ', '5secs', '0x10', '1e3', '5 m s', '1Min', '5 hoge', '.', '18446744073709551615', '18446744073709551614us', '584542y', 'abc'];
  for (const b of bad) t.throws(() => parseTimespan(b), ValueError, JSON.stringify(b));
  t.throws(() => parseTimespan('584542y'), { message: /out of range/ });
});

t.test('default unit: usec for LimitRTTIME=, others', async (t) => {
  t.equal(parseTimespan('500', 'us'), 500);
  t.equal(parseTimespan('500', 'ms'), 500_000);
  t.equal(parseTimespan('2', 'min'), 120_000_000);
  t.equal(parseTimespan('1s 500', 'us'), 1_000_500);
  t.equal(parseTimespan('1.5', 'us'), 1, 'fractions below the unit are dropped');
});

t.test('parse_nsec(): ns units, bare numbers are ns', async (t) => {
  t.equal(parseTimespanNsec('50'), 50);
  t.equal(parseTimespanNsec('50ns'), 50);
  t.equal(parseTimespanNsec('1us'), 1000);
  t.equal(parseTimespanNsec('1.5us'), 1500);
  t.equal(parseTimespanNsec('1s 5nsec'), 1_000_000_005);
  t.equal(parseTimespanNsec('infinity'), Infinity);
  t.equal(parseTimespan('1500', 'ns'), 1.5, "'ns' default unit returns µs");
  t.throws(() => parseTimespanNsec('5x'), ValueError);
  t.throws(() => parseTimespan('5ns'), ValueError, 'parse_sec() knows no ns');
});

t.test('fix_0 and def_infinity variants', async (t) => {
  t.equal(parseTimespanFix0('0'), Infinity);
  t.equal(parseTimespanFix0('0s'), Infinity);
  t.equal(parseTimespanFix0('5'), 5_000_000);
  t.equal(parseTimespanDefInfinity(''), Infinity);
  t.equal(parseTimespanDefInfinity('100ms'), 100_000);
});

t.test('format_timespan(): systemd-analyze "Human:" output', async (t) => {
  const cases: [number, string][] = [
    [90_000_000, '1min 30s'],
    [100_000, '100ms'],
    [1500, '1.500ms'],
    [90_500_000, '1min 30.500000s'],
    [9_000_000_000, '2h 30min'],
    [5_400_000_000, '1h 30min'],
    [2_629_800_000_000, '1month'],
    [31_557_600_000_000, '1y'],
    [777_600_000_000, '1w 2d'],
    [1_123_456, '1.123456s'],
    [59_999_999, '59.999999s'],
    [60_000_000, '1min'],
    [61_000_000, '1min 1s'],
    [3_600_500_000, '1h 500ms'],
    [3_600_000_001, '1h 1us'],
    [1, '1us'],
    [0, '0'],
    [Infinity, 'infinity'],
    [34_882_261_001_001, '1y 1month 1w 1d 1h 1min 1.001001s'],
  ];
  for (const [us, text] of cases) t.equal(formatTimespan(us), text, String(us));
  t.equal(formatTimespan(1_500_000, 1000), '1.500s', 'accuracy 1ms drops µs digits');
  t.equal(formatTimespan(3_600_000_001, 1_000_000), '1h', 'remainder below accuracy is dropped');
});

t.test('format → parse round-trips', async (t) => {
  for (const us of [1, 999, 1500, 59_999_999, 90_500_000, 3_600_000_001, 34_882_261_001_001, 123_456_789_012]) {
    t.equal(parseTimespan(formatTimespan(us)), us, String(us));
  }
});
