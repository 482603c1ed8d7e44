import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { DatabaseConfig } from '../src/config.js';
import { freePort } from '../test/helpers/processes.js';

const BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../bin/coachport.js');

/** `coachport serve` in its own process with limits no benchmark reaches, ready once /healthz answers. */
export interface Server {
  url: string;
  child: ChildProcess;
  rssKb(): number;
  /** CPU time the server has used so far, in milliseconds: its main thread, and all its other threads together. */
  cpuMs(): { main: number; others: number };
  /**
   * Waits until the server has kept joined the days of the exports it served (SQLite,
   * day-page-builder.ts; its /metrics gauge), so a measure after it reads the steady state.
   */
  dayPagesBuilt(): Promise<void>;
  stop(): Promise<void>;
}

export async function startServer(database: DatabaseConfig, env: Record<string, string> = {}): Promise<Server> {
  const port = await freePort();
  const child = spawn(process.execPath, [BIN, 'serve'], {
    env: {
      ...process.env,
      PORT: String(port),
      HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
      DATABASE_URL: database.kind === 'sqlite' ? database.file : database.url,
      RATE_LIMIT_EXPORT_PER_SECOND: '100000',
      RATE_LIMIT_EXPORT_PER_MINUTE: '1000000',
      RATE_LIMIT_API_PER_SECOND: '1000000',
      RATE_LIMIT_API_PER_MINUTE: '100000000',
      RATE_LIMIT_FEED_PER_SECOND: '1000000',
      RATE_LIMIT_FEED_PER_MINUTE: '100000000',
      ...env,
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    try {
      if ((await fetch(`${url}/healthz`)).ok) break;
    } catch {
      if (i > 200) throw new Error('the server did not start');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
  return {
    url,
    child,
    rssKb: () => Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${child.pid}/status`, 'utf8'))?.[1] ?? 0),
    cpuMs: () => threadCpuMs(child.pid!),
    dayPagesBuilt: async () => {
      for (;;) {
        const response = await fetch(`${url}/metrics`);
        if (!response.ok) throw new Error(`/metrics answered ${response.status}: the day pages cannot be waited for`);
        const metrics = await response.text();
        const queued = /^coachport_export_day_pages_queued (\d+)$/m.exec(metrics)?.[1];
        if (queued === undefined || queued === '0') return;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    },
    stop: () =>
      new Promise((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

/** user + system time of each thread of a process (Linux /proc, in clock ticks of 10 ms), the main thread's apart. */
function threadCpuMs(pid: number): { main: number; others: number } {
  const times = { main: 0, others: 0 };
  for (const tid of fs.readdirSync(`/proc/${pid}/task`)) {
    const stat = fs.readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ms = (Number(fields[11]) + Number(fields[12])) * 10;
    if (Number(tid) === pid) times.main += ms;
    else times.others += ms;
  }
  return times;
}
