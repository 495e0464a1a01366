import t from 'tap';
import { ValueError } from '../src/unit/diagnostics.js';
import { EXIT_STATUSES, exitStatusInfo, exitStatusName, parseExitStatus, parseExitStatusSet } from '../src/unit/values/exitstatus.js';

t.test('the table, as `systemd-analyze exit-status` prints it', async (t) => {
  t.equal(EXIT_STATUSES.length, 68, '67 rows in systemd 252, plus KSM (v254)');
  t.equal(exitStatusName(0), 'SUCCESS');
  t.equal(exitStatusName(1), 'FAILURE');
  t.equal(exitStatusName(2), 'INVALIDARGUMENT');
  t.equal(exitStatusName(7), 'NOTRUNNING');
  t.equal(exitStatusName(75), 'TEMPFAIL');
  t.equal(exitStatusName(200), 'CHDIR');
  t.equal(exitStatusName(203), 'EXEC');
  t.equal(exitStatusName(222), 'STDERR');
  t.equal(exitStatusName(223), undefined, 'reserved (was tcpwrap)');
  t.equal(exitStatusName(231), 'APPARMOR');
  t.equal(exitStatusName(234), undefined, 'reserved (was kdbus)');
  t.equal(exitStatusName(243), 'CREDENTIALS');
  t.equal(exitStatusName(244), 'BPF');
  t.equal(exitStatusName(245), 'KSM');
  t.equal(exitStatusName(255), 'EXCEPTION');
  t.same(exitStatusInfo(64), { status: 64, name: 'USAGE', class: 'BSD' });
  t.same(exitStatusInfo(5), { status: 5, name: 'NOTINSTALLED', class: 'LSB' });
  t.same(exitStatusInfo(242), { status: 242, name: 'NUMA_POLICY', class: 'systemd' });
  t.same(exitStatusInfo(1), { status: 1, name: 'FAILURE', class: 'libc' });
});

t.test('exit_status_from_string()', async (t) => {
  t.equal(parseExitStatus('TEMPFAIL'), 75);
  t.equal(parseExitStatus('EXEC'), 203);
  t.equal(parseExitStatus('42'), 42);
  t.equal(parseExitStatus('0x10'), 16);
  t.equal(parseExitStatus('255'), 255);
  t.throws(() => parseExitStatus('256'), { message: 'Exit status "256" out of range 0…255' });
  for (const b of ['exec', 'EXIT_EXEC', 'EX_TEMPFAIL', '-1', '"3"', '']) t.throws(() => parseExitStatus(b), ValueError, b);
});

// Cross-checked with SuccessExitStatus= under `systemd-analyze verify` (systemd 252, which lacks KSM).
t.test('SuccessExitStatus= sets: codes first, then signals', async (t) => {
  t.same(parseExitStatusSet('1 2 TEMPFAIL SIGKILL TERM'), { codes: [1, 2, 75], signals: [9, 15] });
  t.same(parseExitStatusSet('15 SIGTERM 15'), { codes: [15], signals: [15] }, 'a number is an exit code, never a signal');
  t.same(parseExitStatusSet('  143   SIGUSR1\tEXCEPTION '), { codes: [143, 255], signals: [10] });
  t.same(parseExitStatusSet('KSM BPF'), { codes: [244, 245], signals: [] });
  t.same(parseExitStatusSet('SIGRTMIN+1'), { codes: [], signals: [35] });
});

t.test('bad words are skipped with a warning, or throw without a callback', async (t) => {
  const warnings: string[] = [];
  t.same(parseExitStatusSet('1 256 exec "3" 0x10', (w) => warnings.push(w)), { codes: [1, 16], signals: [] });
  t.same(warnings, [
    'Failed to parse value, ignoring: 256 (neither an exit status 0…255 or name, nor a signal)',
    'Failed to parse value, ignoring: exec (neither an exit status 0…255 or name, nor a signal)',
    'Failed to parse value, ignoring: "3" (neither an exit status 0…255 or name, nor a signal)',
  ]);
  t.throws(() => parseExitStatusSet('1 nope'), { name: 'ValueError', message: /nope/ });
});

// Verbatim rows of `systemd-analyze exit-status` from systemd 252 (NAME STATUS CLASS).
const SYSTEMD_252 = `
  SUCCESS 0 libc | FAILURE 1 libc | INVALIDARGUMENT 2 LSB | NOTIMPLEMENTED 3 LSB
  NOPERMISSION 4 LSB | NOTINSTALLED 5 LSB | NOTCONFIGURED 6 LSB | NOTRUNNING 7 LSB
  USAGE 64 BSD | DATAERR 65 BSD | NOINPUT 66 BSD | NOUSER 67 BSD
  NOHOST 68 BSD | UNAVAILABLE 69 BSD | SOFTWARE 70 BSD | OSERR 71 BSD
  OSFILE 72 BSD | CANTCREAT 73 BSD | IOERR 74 BSD | TEMPFAIL 75 BSD
  PROTOCOL 76 BSD | NOPERM 77 BSD | CONFIG 78 BSD | CHDIR 200 systemd
  NICE 201 systemd | FDS 202 systemd | EXEC 203 systemd | MEMORY 204 systemd
  LIMITS 205 systemd | OOM_ADJUST 206 systemd | SIGNAL_MASK 207 systemd | STDIN 208 systemd
  STDOUT 209 systemd | CHROOT 210 systemd | IOPRIO 211 systemd | TIMERSLACK 212 systemd
  SECUREBITS 213 systemd | SETSCHEDULER 214 systemd | CPUAFFINITY 215 systemd | GROUP 216 systemd
  USER 217 systemd | CAPABILITIES 218 systemd | CGROUP 219 systemd | SETSID 220 systemd
  CONFIRM 221 systemd | STDERR 222 systemd | PAM 224 systemd | NETWORK 225 systemd
  NAMESPACE 226 systemd | NO_NEW_PRIVILEGES 227 systemd | SECCOMP 228 systemd | SELINUX_CONTEXT 229 systemd
  PERSONALITY 230 systemd | APPARMOR 231 systemd | ADDRESS_FAMILIES 232 systemd | RUNTIME_DIRECTORY 233 systemd
  CHOWN 235 systemd | SMACK_PROCESS_LABEL 236 systemd | KEYRING 237 systemd | STATE_DIRECTORY 238 systemd
  CACHE_DIRECTORY 239 systemd | LOGS_DIRECTORY 240 systemd | CONFIGURATION_DIRECTORY 241 systemd | NUMA_POLICY 242 systemd
  CREDENTIALS 243 systemd | BPF 244 systemd | EXCEPTION 255 systemd
`;

t.test('identical to systemd 252 apart from the later KSM', async (t) => {
  const rows = SYSTEMD_252.trim().split(/\s*[|\n]\s*/).map((l) => l.split(' '));
  const ours = EXIT_STATUSES.filter((e) => e.name !== 'KSM').map((e) => [e.name, String(e.status), e.class]);
  t.same(ours, rows);
});
