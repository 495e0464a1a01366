import t from 'tap';
import { ValueError } from '../src/unit/diagnostics.js';
import { booleanOrUndefined, parseBoolean, parseTristate } from '../src/unit/values/bool.js';

t.test('parse_boolean() spellings, case-insensitive', async (t) => {
  for (const v of ['1', 'yes', 'y', 'true', 't', 'on', 'YES', 'True', 'On', 'Y', 'T']) t.equal(parseBoolean(v), true, v);
  for (const v of ['0', 'no', 'n', 'false', 'f', 'off', 'NO', 'False', 'OFF', 'N', 'F']) t.equal(parseBoolean(v), false, v);
});

t.test('anything else is an error', async (t) => {
  for (const v of ['', '2', 'enable', 'yess', ' yes', 'yes ', 'o', '+1', '01']) {
    t.throws(() => parseBoolean(v), ValueError, JSON.stringify(v));
    t.equal(booleanOrUndefined(v), undefined);
  }
  t.throws(() => parseBoolean('maybe'), { message: 'Failed to parse boolean value "maybe"' });
});

t.test('tristate: empty is unset', async (t) => {
  t.equal(parseTristate(''), undefined);
  t.equal(parseTristate('yes'), true);
  t.equal(parseTristate('off'), false);
  t.throws(() => parseTristate('auto'), ValueError);
});
