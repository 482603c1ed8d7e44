import assert from 'node:assert/strict';
import { execFile, execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { tempDir } from './helpers/backends.js';
import { SUPPORTED_NODE, npmStart, runtimeOf } from './helpers/npm-start.js';
import { pollUntil } from './helpers/deadline.js';
import { BIN, freePort } from './helpers/processes.js';
import { OTHER_SUPPORTED_NODES, nodeBinary } from './helpers/runtimes.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

describe('the runtime npm start brings', () => {
  it('serves from a supported Node line (22, 24 or 26), even when the system Node is older', async () => {
    const server = await npmStart(ROOT, { DATABASE_URL: path.join(tempDir(), 'coachport.db') });
    try {
      const actual = await runtimeOf(server.pid);
      assert.match(actual, SUPPORTED_NODE, `/proc/${server.pid}/exe --version`);
      assert.equal(server.loggedNode, actual, 'the start-up line names the runtime that really runs');
      assert.equal((await fetch(`${server.url}/healthz`)).status, 200);
    } finally {
      await server.stop();
    }
  });

  it('runs this test suite on a supported line too', () => {
    assert.match(process.version, SUPPORTED_NODE);
  });
});

describe('the other supported Node lines', () => {
  for (const version of OTHER_SUPPORTED_NODES) {
    const binary = nodeBinary(version);
    if ('unavailable' in binary) {
      console.log(`# skipped Node ${version}: ${binary.unavailable}`);
      if (process.env.CI) it(`has Node ${version} to try`, () => assert.fail(`CI must try Node ${version}: ${binary.unavailable}`));
      continue;
    }
    it(`serves on Node ${version}`, async () => {
      const cwd = tempDir();
      const port = await freePort();
      const child = spawn(binary.path, [BIN, 'serve'], {
        cwd,
        env: { ...process.env, DATABASE_URL: path.join(cwd, 'coachport.db'), PORT: String(port), HOST: '127.0.0.1' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let output = '';
      child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
      child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
      try {
        await pollUntil(() => output.includes('listening') || child.exitCode !== null, `the server on Node ${version}`, 60_000);
        assert.equal(child.exitCode, null, output);
        assert.equal(await runtimeOf(child.pid!), `v${version}`);
        assert.equal((await fetch(`http://127.0.0.1:${port}/healthz`)).status, 200);
      } finally {
        child.kill('SIGTERM');
        await new Promise((resolve) => (child.exitCode !== null ? resolve(null) : child.once('exit', resolve)));
        fs.rmSync(cwd, { recursive: true, force: true });
      }
    });
  }
});

/** A Node older than 22 on this machine (the system's v20 at /usr/bin/node), or null. */
function oldNode(): { path: string; version: string } | null {
  for (const candidate of ['/usr/bin/node', '/usr/local/bin/node']) {
    if (!fs.existsSync(candidate)) continue;
    const version = execFileSync(candidate, ['--version'], { encoding: 'utf8' }).trim();
    if (Number(/^v(\d+)\./.exec(version)?.[1]) < 22) return { path: candidate, version };
  }
  return null;
}

async function run(node: string, args: string[]): Promise<{ code: number | null; signal: string | null; stderr: string }> {
  const env = { ...process.env, DATABASE_URL: path.join(tempDir(), 'coachport.db'), PORT: String(await freePort()), HOST: '127.0.0.1' };
  return new Promise((resolve) => {
    const child = execFile(node, args, { cwd: ROOT, env, timeout: 20_000 }, (_error, _stdout, stderr) => {
      resolve({ code: child.exitCode, signal: child.signalCode, stderr });
    });
  });
}

describe('an unsupported Node', () => {
  const old = oldNode();
  const reason = 'no Node older than 22 on this machine (CI has /usr/bin/node v20)';
  if (!old) {
    console.log(`# skipped: ${reason}`);
    if (process.env.CI) it('is on the CI machine', () => assert.fail(`CI must have an old Node to try: ${reason}`));
  }
  // The file npm start runs, read from package.json so the test follows the script.
  const scripts = (JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { scripts: { start: string } }).scripts;
  const start = /^node (\S+)/.exec(scripts.start)![1]!;
  const entries = [
    { name: 'the command line (bin/coachport.js serve)', file: BIN },
    { name: `npm start's entry (${start} serve)`, file: path.join(ROOT, start) },
  ];
  for (const entry of entries) {
    it(`stops ${entry.name} at once with one line naming the Node found and the bundled one`, { skip: old ? false : reason }, async () => {
      const result = await run(old!.path, [entry.file, 'serve']);
      assert.equal(result.signal, null, `no crash inside a native module: ${result.stderr}`);
      assert.equal(result.code, 1, result.stderr);
      const lines = result.stderr.split('\n').filter((line) => line !== '');
      assert.equal(lines.length, 1, result.stderr);
      assert.ok(lines[0]!.includes(old!.version), `names ${old!.version}: ${lines[0]}`);
      assert.ok(lines[0]!.includes(path.join(ROOT, 'node_modules', '.bin', 'node')), `names the bundled Node: ${lines[0]}`);
      assert.ok(lines[0]!.includes(`${BIN} serve`), `says how to run the same command on it: ${lines[0]}`);
    });
  }

  it('repeats the command without its API token or a password in a URL', { skip: old ? false : reason }, async () => {
    const args = ['export', '--token', 'cp_SECRET_ONE', '--token=cp_SECRET_TWO', '--url', 'http://admin:hunter2@127.0.0.1:9'];
    args.push('--out', 'my file');
    const { code, stderr } = await run(old!.path, [BIN, ...args]);
    assert.equal(code, 1, stderr);
    for (const secret of ['cp_SECRET_ONE', 'cp_SECRET_TWO', 'hunter2']) assert.ok(!stderr.includes(secret), `${secret} shown: ${stderr}`);
    const shown = `${BIN} export --token <token> --token=<token> --url 'http://admin:***@127.0.0.1:9/' --out 'my file'`;
    assert.ok(stderr.includes(shown), stderr);
  });
});
