import t from 'tap';
import { ValueError } from '../src/unit/diagnostics.js';
import {
  formatCPUSet, mergeCPUSets, parseCPUAffinity, parseCPUSet, parseCPUSetAssignment, parseNUMAMask,
} from '../src/unit/values/cpuset.js';

// Accept/reject decisions were cross-checked with CPUAffinity= under `systemd-analyze verify` (systemd 252).
t.test('lists and ranges, whitespace or commas', async (t) => {
  t.same(parseCPUSet('0-1 3'), [0, 1, 3]);
  t.same(parseCPUSet('0,1 1-2'), [0, 1, 2]);
  t.same(parseCPUSet('3 1 2'), [1, 2, 3]);
  t.same(parseCPUSet('0, 2'), [0, 2]);
  t.same(parseCPUSet('0x2'), [2], 'safe_atou(): hex');
  t.same(parseCPUSet('"0-1" 4'), [0, 1, 4], 'quotes are removed');
  t.same(parseCPUSet('8191'), [8191]);
  t.same(parseCPUSet('2-2'), [2]);
});

t.test('reversed ranges are ignored with a warning but do not reset', async (t) => {
  const warnings: string[] = [];
  t.same(parseCPUSet('3-1 5', (w) => warnings.push(w)), [5]);
  t.same(warnings, ["Range '3-1' is invalid, 3 > 1, ignoring."]);
  t.same(parseCPUSetAssignment('3-1'), { kind: 'cpus', cpus: [], warnings: ["Range '3-1' is invalid, 3 > 1, ignoring."] });
  t.same(parseCPUSetAssignment(''), { kind: 'reset' });
  t.same(parseCPUSetAssignment(',,'), { kind: 'reset' }, 'only separators: no word, a reset');
});

t.test('errors reject the whole assignment', async (t) => {
  t.throws(() => parseCPUSet('1-'), { message: 'Failed to parse CPU set "1-": range "1-" lacks an upper bound' });
  t.throws(() => parseCPUSet('8192'), { message: 'Cannot add CPU 8192 to set "8192": CPU numbers must be below 8192' });
  t.throws(() => parseCPUSet('0-8192'), ValueError);
  for (const b of ['-1', '1-2-3', 'a', '1 -2', '0-1 x', '"0']) t.throws(() => parseCPUSet(b), ValueError, b);
  t.throws(() => parseCPUSet('a'), { message: 'Failed to parse CPU set "a": invalid CPU or range "a" (invalid number)' });
});

t.test('CPUAffinity=numa and NUMAMask=all', async (t) => {
  t.same(parseCPUAffinity('numa'), { kind: 'numa' });
  t.same(parseCPUAffinity('0-1 3'), { kind: 'cpus', cpus: [0, 1, 3], warnings: [] });
  t.throws(() => parseCPUAffinity('NUMA'), ValueError);
  t.same(parseNUMAMask('all'), { kind: 'all' });
  t.same(parseNUMAMask('0-1'), { kind: 'cpus', cpus: [0, 1], warnings: [] });
});

t.test('merging: repeated lines OR together, an empty one resets', async (t) => {
  let s = mergeCPUSets(undefined, parseCPUSetAssignment('0-1'));
  t.same(s, [0, 1]);
  s = mergeCPUSets(s, parseCPUSetAssignment('4 1'));
  t.same(s, [0, 1, 4]);
  s = mergeCPUSets(s, parseCPUSetAssignment(''));
  t.equal(s, undefined);
  t.same(mergeCPUSets(undefined, parseCPUSetAssignment('5-3')), []);
});

t.test('range text', async (t) => {
  t.equal(formatCPUSet([0, 1, 2, 5, 7, 8]), '0-2 5 7-8');
  t.equal(formatCPUSet([3]), '3');
  t.equal(formatCPUSet([]), '');
});
