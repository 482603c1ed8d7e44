import { execFile, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { freePort } from './processes.js';

/** The Node.js lines the product supports (package.json `engines`). */
export const SUPPORTED_NODE = /^v(22|24|26)\.\d+\.\d+$/;

/**
 * PATH as a fresh machine has it: without any project's node_modules/.bin, so `npm` and `node`
 * are the system's (Node 20 here) and only npm's own script PATH can bring the project's runtime.
 */
export function systemPath(): string {
  return (process.env.PATH ?? '')
    .split(path.delimiter)
    .filter((dir) => !dir.includes(`${path.sep}node_modules${path.sep}.bin`))
    .join(path.delimiter);
}

export interface Started {
  url: string;
  /** The process that listens: the server, not npm. */
  pid: number;
  /** The Node version the server's start-up line names. */
  loggedNode: string;
  npm: ChildProcess;
  output(): string;
  stop(): Promise<void>;
}

/** `npm start` in `cwd`, as an operator runs it, until the server logs that it is serving. */
export async function npmStart(cwd: string, env: Record<string, string>, timeoutMs = 90_000): Promise<Started> {
  const port = await freePort();
  const npm = spawn('npm', ['start'], {
    cwd,
    env: { ...process.env, PATH: systemPath(), LOG_LEVEL: 'info', ...env, PORT: String(port), HOST: '127.0.0.1' },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let output = '';
  npm.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  npm.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const line = output.split('\n').find((l) => l.includes('"coachport is serving"'));
    if (line) {
      const entry = JSON.parse(line) as { pid: number; node: string };
      return {
        url: `http://127.0.0.1:${port}`,
        pid: entry.pid,
        loggedNode: entry.node,
        npm,
        output: () => output,
        async stop() {
          if (npm.exitCode !== null) return;
          const exited = new Promise((resolve) => npm.once('exit', resolve));
          // The whole group: npm, its shell and the server.
          process.kill(-npm.pid!, 'SIGTERM');
          await exited;
        },
      };
    }
    if (npm.exitCode !== null) throw new Error(`npm start exited early:\n${output}`);
    if (Date.now() > deadline) {
      process.kill(-npm.pid!, 'SIGKILL');
      throw new Error(`npm start did not log that it serves:\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** What the executable a process really runs says its version is (`/proc/<pid>/exe --version`). */
export function runtimeOf(pid: number): Promise<string> {
  const exe = fs.readlinkSync(`/proc/${pid}/exe`);
  return new Promise((resolve, reject) => {
    execFile(exe, ['--version'], (error, stdout) => (error ? reject(error) : resolve(stdout.trim())));
  });
}
