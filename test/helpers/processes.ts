import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { after, before } from 'node:test';
import { fileURLToPath } from 'node:url';
import { tempDir } from './backends.js';

export const BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../bin/coachport.js');

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Each line of a command's stderr under `--json`, parsed: it fails the test on a line that is not one JSON object. */
export function jsonLines<T = Record<string, unknown>>(stderr: string): T[] {
  assert.ok(stderr.endsWith('\n'), `stderr ends with a line break: ${JSON.stringify(stderr.slice(-200))}`);
  return stderr
    .slice(0, -1)
    .split('\n')
    .map((line) => {
      const parsed: unknown = JSON.parse(line);
      assert.ok(parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed), `one JSON object: ${line}`);
      return parsed as T;
    });
}

/** Runs `coachport …` as a user would, in `cwd`, with extra environment variables. */
export function runCli(args: string[], options: { cwd: string; env?: Record<string, string> }): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { cwd: options.cwd, env: { ...process.env, ...options.env } }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/**
 * For the tests of the describe block it is called in: a folder of their own (handed to `use`)
 * holding the embedded store with one organization made by `coachport org create`, removed after them.
 */
export function withOrganizationFolder(name: string, use: (cwd: string) => void): void {
  let cwd = '';
  before(async () => {
    cwd = tempDir();
    const created = await runCli(['org', 'create', '--name', name, '--admin-email', `admin@${name.toLowerCase()}.test`, '--json'], { cwd });
    assert.equal(created.code, 0, created.stderr);
    use(cwd);
  });
  after(() => fs.rmSync(cwd, { recursive: true, force: true }));
}

export interface ServeProcess {
  url: string;
  child: ChildProcess;
  output(): string;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** `coachport serve` in its own process, ready once /healthz answers. */
export async function startServe(options: { cwd: string; env?: Record<string, string> }): Promise<ServeProcess> {
  const port = await freePort();
  const child = spawn(process.execPath, [BIN, 'serve'], {
    cwd: options.cwd,
    env: { ...process.env, LOG_LEVEL: 'info', ...options.env, PORT: String(port), HOST: '127.0.0.1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const url = `http://127.0.0.1:${port}`;
  // A deadline, not a speed check: with test files running in parallel a start can take many seconds.
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`coachport serve exited early:\n${output}`);
    try {
      const response = await fetch(`${url}/healthz`);
      if (response.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`coachport serve did not become healthy:\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return {
    url,
    child,
    output: () => output,
    stop(signal = 'SIGTERM') {
      // A process killed by a signal has no exit code, only a signal code: it is gone all the same.
      if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
      return new Promise((resolve) => {
        child.once('exit', (code) => resolve(code));
        child.kill(signal);
      });
    },
  };
}
