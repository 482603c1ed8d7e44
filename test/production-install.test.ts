import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, it } from 'node:test';
import { tempDir } from './helpers/backends.js';
import { SUPPORTED_NODE, npmStart, runtimeOf, systemPath, type Started } from './helpers/npm-start.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

function run(
  command: string,
  args: string[],
  options: { cwd: string; env?: Record<string, string>; timeoutMs?: number },
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      command,
      args,
      {
        cwd: options.cwd,
        env: { ...process.env, PATH: systemPath(), ...options.env },
        timeout: options.timeoutMs ?? 60_000,
        maxBuffer: 64 * 1024 * 1024,
      },
      (error, stdout, stderr) => resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr }),
    );
  });
}

/** Null when the npm registry answers; otherwise why not. Under CI it must answer. */
async function registryUnavailable(): Promise<string | null> {
  const ping = await run('npm', ['ping'], { cwd: ROOT, timeoutMs: 20_000 });
  if (ping.code === 0) return null;
  const reason = `the npm registry is not reachable (${ping.stderr.trim().split('\n').pop()})`;
  if (process.env.CI) throw new Error(`CI requires the npm registry: ${reason}`);
  process.stdout.write(`# skipping the production install: ${reason}\n`);
  return reason;
}

const skip = await registryUnavailable();

describe('a fresh clone installed with NODE_ENV=production', { skip: skip ?? false }, () => {
  const dir = tempDir('coachport-install-');
  let server: Started | null = null;
  after(async () => {
    await server?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('installs with the system npm, starts with npm start on a supported Node, and answers an export', {
    timeout: 15 * 60_000,
  }, async () => {
    const clone = path.join(dir, 'coachport');
    const cloned = await run('git', ['clone', '--quiet', ROOT, clone], { cwd: dir });
    assert.equal(cloned.code, 0, cloned.stderr);

    const production = { NODE_ENV: 'production' };
    const install = await run('npm', ['install', '--no-audit', '--no-fund'], { cwd: clone, env: production, timeoutMs: 12 * 60_000 });
    assert.equal(install.code, 0, `npm install failed:\n${install.stdout}\n${install.stderr}`);
    assert.ok(fs.existsSync(path.join(clone, 'dist/src/cli/main.js')), 'the install built the server');

    const database = { DATABASE_URL: path.join(dir, 'data', 'coachport.db') };
    const created = await run('npx', ['coachport', '--json', 'org', 'create', '--name', 'Installed', '--admin-email', 'ops@install.test'], {
      cwd: clone,
      env: { ...production, ...database },
    });
    assert.equal(created.code, 0, created.stderr);
    const { token } = JSON.parse(created.stdout) as { token: string };
    assert.match(token, /^cp_/);

    server = await npmStart(clone, { ...production, ...database }, 60_000);
    const runtime = await runtimeOf(server.pid);
    assert.match(runtime, SUPPORTED_NODE, `/proc/${server.pid}/exe --version`);
    assert.equal(server.loggedNode, runtime);

    const reply = await fetch(`${server.url}/api/v1/coaching-sessions`, {
      method: 'POST',
      headers: { apiToken: token, 'content-type': 'application/json' },
      body: JSON.stringify({ startDate: '2026-01-01', endDate: '2026-01-31', timeAxis: 'createdAt' }),
    });
    assert.equal(reply.status, 200, await reply.clone().text());
    assert.deepEqual(await reply.json(), []);
  });
});
