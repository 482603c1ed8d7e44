import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { IMPORT_SEMI_SPACE_MB, SERVE_MALLOC, semiSpaceFlagMb, tunedProcess } from '../src/cli/tuned-process.js';
import { BIN, startServe, withOrganizationFolder } from './helpers/processes.js';

/**
 * `coachport import` and `coachport serve` replace their process with one tuned for them
 * (src/cli/tuned-process.ts): the same PID and streams; for an import a small young generation and
 * glibc malloc settings, unless the person set a young generation of their own; for a server fixed
 * malloc thresholds, unless the person set malloc settings of their own.
 */
const FLAG = `--max-semi-space-size=${IMPORT_SEMI_SPACE_MB}`;
const ARGV = ['/usr/bin/node', '/app/bin/coachport.js'];

describe('which processes the import tunes', () => {
  it('tunes an import, keeping the Node flags and the arguments, and sets the malloc settings', () => {
    const tuned = tunedProcess([...ARGV, '--json', 'import', 'a.ndjson'], ['--max-old-space-size=64'], { HOME: '/root' });
    assert.deepEqual(tuned?.args, ['--max-old-space-size=64', FLAG, '/app/bin/coachport.js', '--json', 'import', 'a.ndjson']);
    assert.equal(tuned?.env.MALLOC_ARENA_MAX, '4');
    assert.equal(tuned?.env.MALLOC_MMAP_THRESHOLD_, '131072');
    assert.equal(tuned?.env.HOME, '/root');
  });

  it('fixes the malloc thresholds of a server, keeping the Node flags, the arguments and the environment', () => {
    const tuned = tunedProcess([...ARGV, 'serve'], ['--max-old-space-size=512'], { HOME: '/root', PORT: '8080' });
    assert.deepEqual(tuned?.args, ['--max-old-space-size=512', '/app/bin/coachport.js', 'serve']);
    assert.equal(tuned?.env.MALLOC_MMAP_THRESHOLD_, '2097152');
    assert.equal(tuned?.env.MALLOC_TRIM_THRESHOLD_, '16777216');
    assert.deepEqual([tuned?.env.HOME, tuned?.env.PORT], ['/root', '8080']);
    assert.equal(tuned?.env.MALLOC_ARENA_MAX, undefined, 'the import’s arenas are not the server’s');
  });

  it('leaves a tuned server and a server with malloc settings of its own alone', () => {
    assert.equal(tunedProcess([...ARGV, 'serve'], [], { ...SERVE_MALLOC }), null);
    assert.equal(tunedProcess([...ARGV, 'serve'], [], { MALLOC_TRIM_THRESHOLD_: '0' }), null);
    assert.equal(tunedProcess([...ARGV, 'serve'], [], { GLIBC_TUNABLES: 'glibc.malloc.mmap_threshold=65536' }), null);
    assert.ok(tunedProcess([...ARGV, 'serve'], [], { GLIBC_TUNABLES: 'glibc.rtld.optional_static_tls=2048' }), 'other tunables');
  });

  it('leaves other commands, tuned imports and the person’s own settings alone', () => {
    assert.equal(tunedProcess([...ARGV, 'export', '--from', '2025-01-01'], [], {}), null);
    assert.equal(tunedProcess([...ARGV, 'sync'], [], {}), null);
    assert.equal(tunedProcess([...ARGV, 'import', 'a.ndjson'], [FLAG], {}), null);
    assert.equal(tunedProcess([...ARGV, 'import', 'a.ndjson'], [], { NODE_OPTIONS: '--max-semi-space-size=8' }), null);
    assert.equal(tunedProcess([...ARGV, 'import', 'a.ndjson'], [], { MALLOC_ARENA_MAX: '3' })?.env.MALLOC_ARENA_MAX, '3');
  });
});

/** What /proc says of a running process: its arguments and environment. */
function procOf(pid: number): { args: string[]; env: string[] } {
  const read = (name: string) => fs.readFileSync(`/proc/${pid}/${name}`, 'utf8').split('\0').filter(Boolean);
  return { args: read('cmdline'), env: read('environ') };
}

describe("the reading thread's young generation in a tuned import", () => {
  it('reads the last semi-space flag, in either spelling, and none when there is none', () => {
    assert.equal(semiSpaceFlagMb([]), null);
    assert.equal(semiSpaceFlagMb(['--max-old-space-size=64', '--enable-source-maps']), null);
    assert.equal(semiSpaceFlagMb([`--max-semi-space-size=${IMPORT_SEMI_SPACE_MB}`]), IMPORT_SEMI_SPACE_MB);
    assert.equal(semiSpaceFlagMb(['--max_semi_space_size=64', '--max-semi-space-size=0.5']), 0.5);
    assert.equal(semiSpaceFlagMb(['--max-semi-space-size=32', '']), 32);
    assert.equal(semiSpaceFlagMb(['--max-semi-space-size', '8']), Number.POSITIVE_INFINITY);
    assert.equal(
      semiSpaceFlagMb(['--max-semi-space-size=4'], { NODE_OPTIONS: '--inspect --max-semi-space-size=8' }),
      4,
      'the command line after NODE_OPTIONS',
    );
    assert.equal(semiSpaceFlagMb([], { NODE_OPTIONS: '--max-semi-space-size=8' }), 8);
    assert.equal(tunedProcess(['node', 'coachport', 'import', 'a.ndjson'], ['--max_semi_space_size=8'], {}), null);
  });
});

describe('coachport import, a real process', { skip: process.platform === 'linux' ? false : 'needs /proc and mkfifo (Linux)' }, () => {
  let cwd: string;
  withOrganizationFolder('Tuned', (dir) => (cwd = dir));

  it('runs as the same process with the tuned flag and malloc settings', async () => {
    // A named pipe holds the import at its first read: its process can be looked at while it runs.
    const fifo = path.join(cwd, 'held.ndjson');
    execFileSync('mkfifo', [fifo]);
    const { NODE_OPTIONS: _, MALLOC_ARENA_MAX: __, MALLOC_MMAP_THRESHOLD_: ___, ...env } = process.env;
    const child = spawn(process.execPath, [BIN, 'import', 'held.ndjson'], { cwd, env, stdio: 'ignore' });
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    try {
      let seen = procOf(child.pid!);
      for (const deadline = Date.now() + 20_000; !seen.args.includes(FLAG) && Date.now() < deadline; ) {
        await new Promise((resolve) => setTimeout(resolve, 20));
        seen = procOf(child.pid!);
      }
      assert.ok(seen.args.includes(FLAG), `the import's arguments: ${seen.args.join(' ')}`);
      assert.deepEqual(seen.args.slice(-3), [BIN, 'import', 'held.ndjson']);
      assert.ok(seen.env.includes('MALLOC_ARENA_MAX=4'));
      assert.ok(seen.env.includes('MALLOC_MMAP_THRESHOLD_=131072'));
    } finally {
      child.kill('SIGKILL');
      await exited;
    }
  });
});

describe('coachport serve, a real process', { skip: process.platform === 'linux' ? false : 'needs /proc (Linux)' }, () => {
  let cwd: string;
  withOrganizationFolder('TunedServe', (dir) => (cwd = dir));

  it('serves as the same process with the malloc thresholds fixed', async () => {
    // The server starts with this process's environment, which sets none of them itself.
    assert.deepEqual(
      tunedProcess(['node', BIN, 'serve'], [], process.env)?.env.MALLOC_MMAP_THRESHOLD_,
      SERVE_MALLOC.MALLOC_MMAP_THRESHOLD_,
    );
    const server = await startServe({ cwd });
    try {
      const seen = procOf(server.child.pid!);
      assert.deepEqual(seen.args.slice(-2), [BIN, 'serve']);
      for (const [name, value] of Object.entries(SERVE_MALLOC))
        assert.ok(seen.env.includes(`${name}=${value}`), `${name} in ${seen.env.join(' ')}`);
      assert.equal((await fetch(`${server.url}/healthz`)).status, 200);
    } finally {
      await server.stop();
    }
  });
});
