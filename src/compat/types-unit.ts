/** Value types of [Unit], [Install] and the lifecycle keywords of [Service]/[Socket]. */
import { ValueError } from '../unit/diagnostics.js';
import { type ValueType, enumType, list, scalar } from './value-type.js';
import { EXTRACT_UNQUOTE, extractWords } from '../unit/words.js';
import { isValidUnitName } from '../unit/names.js';

/** config_parse_unit_deps: words are unit names; an invalid one is skipped with a warning; no reset. */
const unitList: ValueType = list(
  { type: 'string', description: 'unit name' },
  (raw, ctx) =>
    extractWords(raw, EXTRACT_UNQUOTE).filter((name) => {
      if (isValidUnitName(name)) return true;
      ctx.warn(`Failed to add dependency on '${name}': not a valid unit name, ignoring.`);
      return false;
    }),
  { resetOnEmpty: false },
);

const unitName: ValueType = scalar({ type: 'string', description: 'unit name' }, (raw) => {
  if (!isValidUnitName(raw)) throw new ValueError(`'${raw}' is not a valid unit name`);
  return raw;
});

/** systemd.unit(5): `Condition…=` values may start with `|` (triggering) and then `!` (negation). */
const condition: ValueType = {
  schema: {
    type: 'array',
    items: {
      type: 'object',
      additionalProperties: false,
      required: ['check', 'value'],
      properties: {
        check: { type: 'string', description: 'the Condition…=/Assert…= name without its prefix, e.g. PathExists' },
        value: { type: 'string' },
        negate: { type: 'boolean', description: '"!" prefix' },
        trigger: { type: 'boolean', description: '"|" prefix: any one triggering condition suffices' },
      },
    },
  },
  apply(prev, raw, ctx) {
    // An empty assignment resets the whole list (all kinds), as systemd does.
    if (raw === '') return undefined;
    let v = raw;
    let trigger = false;
    let negate = false;
    if (v.startsWith('|')) {
      trigger = true;
      v = v.slice(1).trimStart();
    }
    if (v.startsWith('!')) {
      negate = true;
      v = v.slice(1).trimStart();
    }
    const check = ctx.directive.replace(/^(Condition|Assert)/, '');
    if (ctx.directive.match(/^(Condition|Assert)(Path|Directory|File|NeedsUpdate)/) && !v.startsWith('/')) {
      throw new ValueError(`Path in condition not absolute: ${v}`);
    }
    const entry: Record<string, unknown> = { check, value: v };
    if (negate) entry.negate = true;
    if (trigger) entry.trigger = true;
    return [...((prev as unknown[] | undefined) ?? []), entry];
  },
};

const LISTEN_KINDS: Record<string, string> = {
  ListenStream: 'stream',
  ListenDatagram: 'datagram',
  ListenSequentialPacket: 'sequential-packet',
  ListenFIFO: 'fifo',
  ListenNetlink: 'netlink',
  ListenSpecial: 'special',
  ListenMessageQueue: 'message-queue',
  ListenUSBFunction: 'usb-function',
};

/** config_parse_socket_listen: one address per assignment; empty resets all Listen*= lines. */
const listen: ValueType = {
  schema: {
    type: 'array',
    items: {
      type: 'object',
      additionalProperties: false,
      required: ['type', 'address'],
      properties: { type: { enum: Object.values(LISTEN_KINDS) }, address: { type: 'string' } },
    },
  },
  apply(prev, raw, ctx) {
    if (raw === '') return undefined;
    const type = LISTEN_KINDS[ctx.directive];
    if (!type) throw new ValueError(`not a Listen directive: ${ctx.directive}`);
    if ((type === 'fifo' || type === 'special' || type === 'usb-function') && !raw.startsWith('/')) throw new ValueError(`${raw} is not an absolute path`);
    if (type === 'message-queue' && !raw.startsWith('/')) throw new ValueError(`${raw} is not a valid message queue name`);
    if ((type === 'stream' || type === 'datagram' || type === 'sequential-packet') && !isSocketAddress(raw)) {
      throw new ValueError(`Failed to parse address value '${raw}'`);
    }
    return [...((prev as unknown[] | undefined) ?? []), { type, address: raw }];
  },
};

/** socket_address_parse(): a path, @abstract, vsock:CID:PORT, [v6]:port, v4:port, port. */
function isSocketAddress(a: string): boolean {
  if (a.startsWith('/') || a.startsWith('@')) return a.length > 1;
  if (a.startsWith('vsock:')) return /^vsock:([0-9]+|)?:[0-9]+$/.test(a) || /^vsock:[0-9]+$/.test(a);
  const port = (p: string): boolean => /^[0-9]+$/.test(p) && Number(p) > 0 && Number(p) <= 65535;
  const v6 = /^\[([0-9A-Fa-f:.]+)(%[A-Za-z0-9_.-]+)?\]:([0-9]+)$/.exec(a);
  if (v6) return port(v6[3]!);
  const v4 = /^([0-9]{1,3}(?:\.[0-9]{1,3}){3})(%[A-Za-z0-9_.-]+)?:([0-9]+)$/.exec(a);
  if (v4) return v4[1]!.split('.').every((o) => Number(o) <= 255) && port(v4[3]!);
  return port(a);
}

export const unitTypes: Record<string, ValueType> = {
  'unit-list': unitList,
  'unit-name': unitName,
  condition,
  listen,
  'emergency-action': enumType(
    ['none', 'reboot', 'reboot-force', 'reboot-immediate', 'poweroff', 'poweroff-force', 'poweroff-immediate', 'exit', 'exit-force', 'soft-reboot', 'soft-reboot-force', 'kexec', 'kexec-force', 'halt', 'halt-force', 'halt-immediate'],
    { what: 'emergency action' },
  ),
  'job-mode': enumType(['fail', 'replace', 'replace-irreversibly', 'isolate', 'flush', 'ignore-dependencies', 'ignore-requirements', 'restart-dependencies'], { what: 'job mode' }),
  'collect-mode': enumType(['inactive', 'inactive-or-failed'], { what: 'collect mode' }),
  'service-type': enumType(['simple', 'exec', 'forking', 'oneshot', 'dbus', 'notify', 'notify-reload', 'idle'], { what: 'service type' }),
  'exit-type': enumType(['main', 'cgroup'], { what: 'exit type' }),
  restart: enumType(['no', 'on-success', 'on-failure', 'on-abnormal', 'on-watchdog', 'on-abort', 'always'], { what: 'restart setting' }),
  'restart-mode': enumType(['normal', 'direct'], { what: 'restart mode' }),
  'notify-access': enumType(['none', 'main', 'exec', 'all'], { what: 'notify access' }),
  'oom-policy': enumType(['continue', 'stop', 'kill'], { what: 'OOM policy' }),
  'timeout-failure-mode': enumType(['terminate', 'abort', 'kill'], { what: 'timeout failure mode' }),
  'kill-mode': enumType(['control-group', 'process', 'mixed', 'none'], { what: 'kill mode' }),
  'preserve-mode': enumType(['restart'], { booleans: true, what: 'preserve mode' }),
};
