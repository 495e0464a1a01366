/**
 * Real daemons from their unmodified Debian unit files under `sysg run`:
 * nginx (Type=forking, PIDFile=, ExecStartPre=), redis (Type=notify and a
 * hardened sandbox), memcached (a hardened simple service). Each must serve a
 * real request, stop on SIGTERM with exit 0, and leave no process behind.
 * .ci/install-deps.sh installs the packages (with a policy-rc.d that keeps
 * their post-install scripts from starting them).
 */
import t from 'tap';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { get } from 'node:http';
import { connect } from 'node:net';
import { join } from 'node:path';
import { packageRoot } from '../src/package-root.js';
import { cleanEnv } from './util/clean-env.js';

const BIN = join(packageRoot(), 'dist', 'src', 'cli', 'main.js');
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function tcpExchange(port: number, send: string, until: RegExp): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1');
    let got = '';
    s.setTimeout(3000, () => s.destroy(new Error('timeout')));
    s.on('connect', () => s.write(send));
    s.on('data', (b) => {
      got += b.toString();
      if (until.test(got)) {
        s.end();
        resolve(got);
      }
    });
    s.on('error', reject);
  });
}

function httpStatus(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = get({ host: '127.0.0.1', port, path: '/', timeout: 3000 }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error('timeout')));
  });
}

const DAEMONS = [
  { unit: 'nginx.service', exe: 'nginx', probe: async (): Promise<string> => `HTTP ${await httpStatus(80)}`, want: 'HTTP 200' },
  { unit: 'redis-server.service', exe: 'redis-server', probe: () => tcpExchange(6379, 'SET sysg ok\r\nGET sysg\r\n', /\$2\r\nok\r\n/), want: '+OK\r\n$2\r\nok\r\n' },
  { unit: 'memcached.service', exe: 'memcached', probe: () => tcpExchange(11211, 'set a 0 0 2\r\nhi\r\nget a\r\n', /END\r\n/), want: 'STORED\r\nVALUE a 0 2\r\nhi\r\nEND\r\n' },
];

const running = (exe: string): string => spawnSync('pgrep', ['-x', exe], { encoding: 'utf8' }).stdout.trim();

for (const d of DAEMONS) {
  const unitFile = join('/lib/systemd/system', d.unit);
  const skip = process.getuid?.() !== 0 ? 'needs root' : !existsSync(unitFile) ? `${d.unit} not installed (.ci/install-deps.sh installs it)` : running(d.exe) ? `${d.exe} already running outside sysg` : false;
  t.test(`${d.unit} from Debian's unit file serves a request and stops cleanly`, { skip }, async (t) => {
    const child = spawn(process.execPath, [BIN, 'run', d.unit], { stdio: ['ignore', 'pipe', 'pipe'], env: cleanEnv() });
    let output = '';
    child.stdout.on('data', (b: Buffer) => void (output += b.toString()));
    child.stderr.on('data', (b: Buffer) => void (output += b.toString()));
    const exited = new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
    t.teardown(() => {
      child.kill('SIGKILL');
    });
    let answer = '';
    for (let i = 0; i < 300 && child.exitCode === null; i++) {
      try {
        answer = await d.probe();
        break;
      } catch {
        await sleep(100);
      }
    }
    t.equal(answer, d.want, `${d.unit} answered (sysg output: ${output.slice(-500)})`);
    child.kill('SIGTERM');
    t.equal(await exited, 0, 'sysg run exits 0 after SIGTERM');
    t.equal(running(d.exe), '', `no ${d.exe} process is left`);
  });
}
