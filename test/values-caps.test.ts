import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { lexUnitText } from '../src/unit/ini.js';
import { ValueError } from '../src/unit/diagnostics.js';
import {
  CAPABILITIES,
  CAP_LAST_CAP,
  CAP_MASK_UNSET,
  applyAmbientCapabilities,
  applyCapabilityBoundingSet,
  capabilityFromName,
  capabilityName,
  capsToHex,
  capsToNames,
  effectiveCapabilities,
  parseCapabilityList,
} from '../src/unit/values/capabilities.js';
import { applySecureBits, parseSecureBits, secureBitsToString } from '../src/unit/values/securebits.js';
import {
  PER_LINUX,
  PER_LINUX32,
  nativeArchitecture,
  parsePersonality,
  personalityToString,
} from '../src/unit/values/personality.js';

const CONFORMANCE = '/work/shared/conformance/systemd-test-execute';
const SECTIONS = { sections: ['Unit', 'Service', 'Install'] };

/** The values of `key` in [Service] of a test-execute unit, in file order. */
function values(unit: string, key: string): string[] {
  const path = join(CONFORMANCE, unit);
  const r = lexUnitText(path, readFileSync(path, 'utf8'), SECTIONS);
  return r.assignments.filter((a) => a.section === 'Service' && a.key === key).map((a) => a.value);
}

function boundingSetOf(unit: string): bigint | undefined {
  let set: bigint | undefined;
  for (const v of values(unit, 'CapabilityBoundingSet')) set = applyCapabilityBoundingSet(set, parseCapabilityList(v), v === '');
  return set;
}

function ambientOf(unit: string): bigint | undefined {
  let set: bigint | undefined;
  for (const v of values(unit, 'AmbientCapabilities')) set = applyAmbientCapabilities(set, parseCapabilityList(v), v === '');
  return set;
}

/** What `capsh --print | grep "Bounding set "` shows for a bounding set (kernel with CAP_LAST_CAP = 40). */
const capshBounding = (mask: bigint): string => `Bounding set =${capsToNames(effectiveCapabilities(mask)).join(',')}`;

t.test('capability table: 0 cap_chown … 40 cap_checkpoint_restore, as systemd prints them', async (t) => {
  t.equal(CAPABILITIES.length, 41);
  t.equal(CAP_LAST_CAP, 40);
  t.same(CAPABILITIES[0], { value: 0, name: 'cap_chown', constant: 'CAP_CHOWN' });
  t.same(CAPABILITIES[13], { value: 13, name: 'cap_net_raw', constant: 'CAP_NET_RAW' });
  t.same(CAPABILITIES[21], { value: 21, name: 'cap_sys_admin', constant: 'CAP_SYS_ADMIN' });
  t.same(CAPABILITIES[40], { value: 40, name: 'cap_checkpoint_restore', constant: 'CAP_CHECKPOINT_RESTORE' });
  t.equal(capabilityName(38), 'cap_perfmon');
  t.equal(capabilityName(45), '0x2d', 'unnamed bits print numerically');
  t.equal(capabilityName(63), undefined);
});

t.test('capability_from_name(): any case, or a number 0..62', async (t) => {
  t.equal(capabilityFromName('CAP_CHOWN'), 0);
  t.equal(capabilityFromName('cap_chown'), 0);
  t.equal(capabilityFromName('Cap_Net_Raw'), 13);
  t.equal(capabilityFromName('13'), 13);
  t.equal(capabilityFromName('0x5'), 5, 'safe_atoi() base 0');
  t.equal(capabilityFromName('62'), 62);
  t.equal(capabilityFromName('63'), undefined);
  t.equal(capabilityFromName('-1'), undefined);
  t.equal(capabilityFromName('chown'), undefined);
  t.equal(capabilityFromName('CAP_BOGUS'), undefined);
});

t.test('parseCapabilityList(): "~" inverts, unknown names are skipped one by one', async (t) => {
  t.same(parseCapabilityList('CAP_CHOWN CAP_NET_RAW'), { invert: false, caps: 0x2001n, unknown: [] });
  t.same(parseCapabilityList('~CAP_CHOWN'), { invert: true, caps: 1n, unknown: [] });
  t.same(parseCapabilityList('CAP_CHOWN cap_bogus CAP_KILL'), { invert: false, caps: 0x21n, unknown: ['cap_bogus'] });
  t.same(parseCapabilityList('"CAP_CHOWN" \'CAP_KILL\''), { invert: false, caps: 0x21n, unknown: [] }, 'quotes are removed');
  t.same(parseCapabilityList(''), { invert: false, caps: 0n, unknown: [] });
  t.same(parseCapabilityList('~'), { invert: true, caps: 0n, unknown: [] });
});

t.test('test-execute CapabilityBoundingSet= units', async (t) => {
  t.equal(capshBounding(boundingSetOf('exec-capabilityboundingset-simple.service')!), 'Bounding set =cap_fowner,cap_kill');
  t.equal(capshBounding(boundingSetOf('exec-capabilityboundingset-merge.service')!), 'Bounding set =cap_chown,cap_fowner,cap_kill');
  t.equal(boundingSetOf('exec-capabilityboundingset-reset.service'), 0n);
  t.equal(capshBounding(0n), 'Bounding set =');
  const inv = boundingSetOf('exec-capabilityboundingset-invert.service')!;
  t.equal(inv, CAP_MASK_UNSET - 1n, '~CAP_CHOWN as first assignment: all 64 bits but bit 0');
  t.notOk(capsToNames(inv).includes('cap_chown'));
  t.equal(capsToNames(inv).length, 40);
  t.equal(
    capshBounding(boundingSetOf('exec-systemcallfilter-nonewprivileges-bounding2.service')!),
    'Bounding set =cap_setpcap,cap_net_bind_service,cap_sys_admin',
  );
  t.equal(capshBounding(boundingSetOf('exec-systemcallfilter-nonewprivileges-bounding1.service')!), 'Bounding set =cap_net_bind_service');
});

t.test('test-execute AmbientCapabilities= units: CapAmb values', async (t) => {
  for (const unit of [
    'exec-ambientcapabilities.service',
    'exec-ambientcapabilities-merge.service',
    'exec-ambientcapabilities-nobody.service',
    'exec-ambientcapabilities-merge-nobody.service',
    'exec-ambientcapabilities-nfsnobody.service',
    'exec-ambientcapabilities-merge-nfsnobody.service',
  ])
    t.equal(capsToHex(ambientOf(unit)!), '0000000000002001', unit);
  t.equal(capsToHex(ambientOf('exec-ambientcapabilities-dynuser.service')!), '0000000000002081');
});

t.test('CapabilityBoundingSet= merge rules of config_parse_capability_set()', async (t) => {
  const run = (...lines: string[]): bigint | undefined => {
    let s: bigint | undefined;
    for (const l of lines) s = applyCapabilityBoundingSet(s, parseCapabilityList(l), l === '');
    return s;
  };
  t.equal(run(), undefined, 'never assigned');
  t.equal(run('~'), CAP_MASK_UNSET, '"~" alone is the unset marker again (all)');
  t.equal(run('~CAP_CHOWN', 'CAP_KILL'), CAP_MASK_UNSET - 1n, 'plain line after ~ merges with OR');
  t.equal(run('~CAP_CHOWN', '~CAP_KILL'), CAP_MASK_UNSET - 1n - 0x20n, '~ line after ~ removes');
  t.equal(run('CAP_FOWNER', '~CAP_FOWNER'), 0n);
  t.equal(run('CAP_FOWNER', '~CAP_FOWNER', 'CAP_KILL'), 0x20n, 'an emptied set is not "unset": later lines merge');
  t.equal(run('CAP_FOWNER CAP_KILL', '', 'CAP_CHOWN'), 0n | 1n, 'after a reset to 0 the next line merges into 0');
  t.equal(run('CAP_CHOWN', 'CAP_BOGUS'), 0n, 'a line of only unknown names has sum 0: it replaces with the empty set');
});

t.test('AmbientCapabilities= merge rules (initial value 0)', async (t) => {
  const run = (...lines: string[]): bigint | undefined => {
    let s: bigint | undefined;
    for (const l of lines) s = applyAmbientCapabilities(s, parseCapabilityList(l), l === '');
    return s;
  };
  t.equal(run('CAP_CHOWN', 'CAP_NET_RAW'), 0x2001n);
  t.equal(run('CAP_CHOWN CAP_NET_RAW', ''), 0n);
  t.equal(run('CAP_CHOWN', '~CAP_CHOWN'), 0n);
  t.equal(run('CAP_CHOWN', '~CAP_CHOWN', '~CAP_KILL'), CAP_MASK_UNSET - 0x20n, 'set back to 0 counts as unassigned: ~ replaces');
});

t.test('SecureBits=', async (t) => {
  t.same(parseSecureBits('keep-caps noroot-locked'), { bits: (1 << 4) | (1 << 1), ignored: [] });
  t.same(parseSecureBits('keep-caps bogus'), { bits: 1 << 4, ignored: ['bogus'] }, 'unknown words ignored silently');
  t.same(parseSecureBits('Keep-Caps'), { bits: 0, ignored: ['Keep-Caps'] }, 'names are case-sensitive');
  t.same(parseSecureBits('noroot "keep-caps'), { bits: 1, ignored: [] }, 'a splitting error ends the list');
  let s: number | undefined;
  s = applySecureBits(s, parseSecureBits('keep-caps'));
  s = applySecureBits(s, parseSecureBits('no-setuid-fixup no-setuid-fixup-locked'));
  t.equal(s, 0x1c, 'repeated lines OR');
  t.equal(secureBitsToString(s), 'keep-caps no-setuid-fixup no-setuid-fixup-locked');
  t.equal(applySecureBits(s, undefined, true), 0, 'empty resets');
  t.equal(secureBitsToString(0x3f), 'keep-caps keep-caps-locked no-setuid-fixup no-setuid-fixup-locked noroot noroot-locked');
});

t.test('Personality=: only the native and the secondary architecture parse', async (t) => {
  t.equal(parsePersonality('x86-64', 'x86-64'), PER_LINUX);
  t.equal(parsePersonality('x86', 'x86-64'), PER_LINUX32);
  t.equal(parsePersonality('', 'x86-64'), undefined);
  for (const v of ['arm64', 'aarch64', 'x86_64', 'ppc64', 'ppc64le', 's390', 'loongarch64', 'bogus'])
    t.throws(() => parsePersonality(v, 'x86-64'), ValueError, v);
  t.equal(parsePersonality('arm64', 'arm64'), PER_LINUX);
  t.equal(parsePersonality('arm', 'arm64'), PER_LINUX32);
  t.throws(() => parsePersonality('x86', 'arm64'), ValueError);
  t.throws(() => parsePersonality('arm', 'arm64-be'), ValueError, 'big-endian arm64 has no secondary');
  t.equal(personalityToString(PER_LINUX32, 'x86-64'), 'x86');
  t.equal(nativeArchitecture('x64'), 'x86-64');
  t.equal(nativeArchitecture('arm64', 'LE'), 'arm64');
  // The conformance units: on x86-64 only exec-personality-x86-64 and -x86 parse.
  for (const [unit, ok] of [
    ['exec-personality-x86-64.service', true],
    ['exec-personality-x86.service', true],
    ['exec-personality-aarch64.service', false],
    ['exec-personality-ppc64le.service', false],
    ['exec-personality-s390.service', false],
  ] as const) {
    const [v] = values(unit, 'Personality');
    if (ok) t.doesNotThrow(() => parsePersonality(v!, 'x86-64'), unit);
    else t.throws(() => parsePersonality(v!, 'x86-64'), ValueError, unit);
  }
});
