import t from 'tap';
import { ValueError } from '../src/unit/diagnostics.js';
import { SIGNALS, parseSignal, signalName, signalToString } from '../src/unit/values/signals.js';

// Accept/reject decisions were cross-checked with KillSignal= under `systemd-analyze verify` (systemd 252).
t.test('names, with and without SIG, and numbers', async (t) => {
  t.equal(parseSignal('SIGTERM'), 15);
  t.equal(parseSignal('TERM'), 15);
  t.equal(parseSignal('15'), 15);
  t.equal(parseSignal('0x0f'), 15);
  t.equal(parseSignal('SIGKILL'), 9);
  t.equal(parseSignal('SIGSTKFLT'), 16);
  t.equal(parseSignal('SIGSYS'), 31);
  t.equal(parseSignal('32'), 32, 'numbers 1…64 are all valid');
  t.equal(parseSignal('64'), 64);
  t.equal(Object.keys(SIGNALS).length, 31);
});

t.test('real-time signals: glibc SIGRTMIN is 34', async (t) => {
  t.equal(parseSignal('SIGRTMIN+3'), 37);
  t.equal(parseSignal('RTMIN+3'), 37);
  t.equal(parseSignal('RTMIN'), 34);
  t.equal(parseSignal('RTMIN+0'), 34);
  t.equal(parseSignal('RTMIN+30'), 64);
  t.equal(parseSignal('SIGRTMAX'), 64);
  t.equal(parseSignal('RTMAX-1'), 63);
  t.equal(parseSignal('RTMAX-30'), 34);
});

t.test('errors', async (t) => {
  for (const b of ['0', '65', '-1', 'sigterm', 'Term', 'RTMIN+31', 'RTMAX-31', 'RTMAX+1', 'RTMIN-1', 'RTMIN3', 'SIGIOT', 'SIGPOLL', 'SIG', '', 'constructor', 'SIGTERM ']) {
    t.throws(() => parseSignal(b), ValueError, JSON.stringify(b));
  }
  t.throws(() => parseSignal('65'), { message: 'Failed to parse signal "65": signal number out of range 1…64' });
  t.throws(() => parseSignal('SIGFOO'), { message: 'Failed to parse signal "SIGFOO": unknown signal name' });
});

t.test('signal_to_string() and the SIG-prefixed canonical name', async (t) => {
  t.equal(signalToString(15), 'TERM');
  t.equal(signalToString(37), 'RTMIN+3');
  t.equal(signalToString(32), '32');
  t.equal(signalName(15), 'SIGTERM');
  t.equal(signalName(1), 'SIGHUP');
  t.equal(signalName(34), 'SIGRTMIN+0');
  t.equal(signalName(64), 'SIGRTMIN+30');
  t.equal(signalName(33), '33');
  for (let n = 1; n <= 64; n++) t.equal(parseSignal(signalName(n)), n, `round trip ${n}`);
});
