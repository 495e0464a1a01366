import t from 'tap';
import { ValueError } from '../src/unit/diagnostics.js';
import { RLIMITS, formatRlimit, parseRlimit, rlimitFromString } from '../src/unit/values/rlimit.js';

// Accept/reject decisions were cross-checked with `systemd-analyze verify` (systemd 252).
t.test('the resource table (x86-64 / aarch64 numbering)', async (t) => {
  t.same(RLIMITS.map((r) => [r.name, r.number]), [
    ['cpu', 0], ['fsize', 1], ['data', 2], ['stack', 3], ['core', 4], ['rss', 5], ['nproc', 6], ['nofile', 7],
    ['memlock', 8], ['as', 9], ['locks', 10], ['sigpending', 11], ['msgqueue', 12], ['nice', 13], ['rtprio', 14], ['rttime', 15],
  ]);
  t.equal(RLIMITS[7]!.directive, 'LimitNOFILE');
  t.equal(rlimitFromString('LimitNOFILE')?.number, 7);
  t.equal(rlimitFromString('RLIMIT_AS')?.number, 9);
  t.equal(rlimitFromString('MEMLOCK')?.number, 8);
  t.equal(rlimitFromString('rttime')?.number, 15);
  t.equal(rlimitFromString('LimitFoo'), undefined);
  t.equal(rlimitFromString('Nofile'), undefined);
});

t.test('plain numbers: soft:hard or one value for both', async (t) => {
  t.same(parseRlimit('LimitNOFILE', '1024:524288'), { soft: 1024, hard: 524288 });
  t.same(parseRlimit('LimitNOFILE', '4096'), { soft: 4096, hard: 4096 });
  t.same(parseRlimit('LimitNOFILE', 'infinity'), { soft: 'infinity', hard: 'infinity' });
  t.same(parseRlimit('LimitNOFILE', '1:infinity'), { soft: 1, hard: 'infinity' });
  t.same(parseRlimit('LimitNOFILE', '0x400'), { soft: 1024, hard: 1024 });
  t.same(parseRlimit('LimitNOFILE', '010'), { soft: 8, hard: 8 }, 'octal, like safe_atou64()');
  t.same(parseRlimit('LimitNOFILE', ' 5'), { soft: 5, hard: 5 });
  t.same(parseRlimit('LimitNOFILE', '1:2:'), { soft: 1, hard: 2 }, 'a trailing colon after the hard limit is tolerated');
  t.same(parseRlimit('NPROC', '100:200'), { soft: 100, hard: 200 });
  t.same(parseRlimit('LimitRTPRIO', '99'), { soft: 99, hard: 99 });
});

t.test('soft above hard and malformed values', async (t) => {
  t.throws(() => parseRlimit('LimitNOFILE', '2:1'), { name: 'ValueError', message: 'Soft resource limit chosen higher than hard limit, ignoring: 2:1' });
  t.throws(() => parseRlimit('LimitNOFILE', 'infinity:1'), { message: /Soft resource limit chosen higher/ });
  t.throws(() => parseRlimit('LimitNOFILE', '1024:'), { message: 'Failed to parse resource value "1024:" for LimitNOFILE=: empty limit' });
  t.throws(() => parseRlimit('LimitNOFILE', '1:2:3'), { message: /more than two fields/ });
  t.throws(() => parseRlimit('LimitNOFILE', '1024\\'), { name: 'ValueError', message: 'Failed to parse resource value "1024\\" for LimitNOFILE=: trailing backslash' });
  for (const b of [':1024', '4K', '', 'Infinity', '-1', '18446744073709551615', '1.5']) t.throws(() => parseRlimit('LimitNOFILE', b), ValueError, JSON.stringify(b));
  t.throws(() => parseRlimit('LimitBOGUS', '1'), Error);
});

t.test('LimitCPU=: seconds, time spans rounded up', async (t) => {
  t.same(parseRlimit('LimitCPU', '1min'), { soft: 60, hard: 60 });
  t.same(parseRlimit('LimitCPU', '90'), { soft: 90, hard: 90 });
  t.same(parseRlimit('LimitCPU', '1.5s'), { soft: 2, hard: 2 });
  t.same(parseRlimit('LimitCPU', '1us'), { soft: 1, hard: 1 });
  t.same(parseRlimit('LimitCPU', '0'), { soft: 0, hard: 0 });
  t.same(parseRlimit('LimitCPU', '1:2s'), { soft: 1, hard: 2 });
  t.same(parseRlimit('LimitCPU', '1h:infinity'), { soft: 3600, hard: 'infinity' });
  t.throws(() => parseRlimit('LimitCPU', '1x'), { message: 'Failed to parse resource value "1x" for LimitCPU=: Failed to parse time span "1x": unknown unit "x"' });
});

t.test('LimitRTTIME=: microseconds', async (t) => {
  t.same(parseRlimit('LimitRTTIME', '500'), { soft: 500, hard: 500 });
  t.same(parseRlimit('LimitRTTIME', '1s'), { soft: 1_000_000, hard: 1_000_000 });
  t.same(parseRlimit('LimitRTTIME', '1.5'), { soft: 1, hard: 1 });
  t.same(parseRlimit('LimitRTTIME', 'infinity'), { soft: 'infinity', hard: 'infinity' });
});

t.test('byte limits take base-1024 sizes', async (t) => {
  t.same(parseRlimit('LimitCORE', '4K'), { soft: 4096, hard: 4096 });
  t.same(parseRlimit('LimitFSIZE', '1.5G'), { soft: 1_610_612_736, hard: 1_610_612_736 });
  t.same(parseRlimit('LimitMEMLOCK', '8M:16M'), { soft: 8 * 1024 ** 2, hard: 16 * 1024 ** 2 });
  t.same(parseRlimit('LimitSTACK', 'infinity:infinity'), { soft: 'infinity', hard: 'infinity' });
  for (const r of ['DATA', 'RSS', 'AS', 'MSGQUEUE']) t.same(parseRlimit(`Limit${r}`, '1K'), { soft: 1024, hard: 1024 }, r);
  t.throws(() => parseRlimit('LimitCORE', '16M:8M'), { message: /Soft resource limit chosen higher/ });
  t.throws(() => parseRlimit('LimitCORE', '1k'), ValueError);
});

t.test('LimitNICE=: +N/-N nice levels or raw 0…40, no infinity', async (t) => {
  t.same(parseRlimit('LimitNICE', '+5'), { soft: 15, hard: 15 });
  t.same(parseRlimit('LimitNICE', '-5'), { soft: 25, hard: 25 });
  t.same(parseRlimit('LimitNICE', '+0'), { soft: 20, hard: 20 });
  t.same(parseRlimit('LimitNICE', '-0'), { soft: 20, hard: 20 });
  t.same(parseRlimit('LimitNICE', '+19'), { soft: 1, hard: 1 });
  t.same(parseRlimit('LimitNICE', '-20'), { soft: 40, hard: 40 });
  t.same(parseRlimit('LimitNICE', '40'), { soft: 40, hard: 40 });
  t.same(parseRlimit('LimitNICE', '0'), { soft: 0, hard: 0 });
  t.same(parseRlimit('LimitNICE', '20:40'), { soft: 20, hard: 40 });
  t.same(parseRlimit('LimitNICE', '+5:-5'), { soft: 15, hard: 25 });
  for (const b of ['+20', '-21', '41', 'infinity']) t.throws(() => parseRlimit('LimitNICE', b), ValueError, b);
  t.throws(() => parseRlimit('LimitNICE', '+5:+10'), { message: /Soft resource limit chosen higher/ });
});

t.test('rlimit_format()', async (t) => {
  t.equal(formatRlimit({ soft: 'infinity', hard: 'infinity' }), 'infinity');
  t.equal(formatRlimit({ soft: 1024, hard: 1024 }), '1024');
  t.equal(formatRlimit({ soft: 1024, hard: 4096 }), '1024:4096');
  t.equal(formatRlimit({ soft: 1024, hard: 'infinity' }), '1024:infinity');
});
