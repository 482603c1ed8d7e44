/**
 * `npm run soak`: thousands of writes and many exports against ONE server process, started as
 * `npm start` starts it, on the runtime the project brings. At the end the same process (same pid,
 * same start time) must still be alive and answering, with every acknowledged write exported.
 * Prints its figures; exits 1 if the server died or lost a write. A script, not a timed test.
 *
 *   npm run soak -- --writes 5000 --exports 60 --concurrency 8
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createOrganization } from '../src/accounts/organizations.js';
import { newId } from '../src/ids.js';
import { generateSeed } from '../src/seed/generate.js';
import { openStore } from '../src/store/open.js';
import { tempDir } from '../test/helpers/backends.js';
import { SUPPORTED_NODE, npmStart, runtimeOf } from '../test/helpers/npm-start.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const SOAK_DAY = '2030-06-15';
const log = (message: string) => process.stderr.write(`soak: ${message}\n`);

const { values: args } = parseArgs({
  options: {
    writes: { type: 'string', default: '5000' },
    exports: { type: 'string', default: '60' },
    concurrency: { type: 'string', default: '8' },
    seed: { type: 'string', default: '5000' },
  },
});
const WRITES = Number(args.writes);
const EXPORTS = Number(args.exports);
const CONCURRENCY = Number(args.concurrency);
const SEEDED = Number(args.seed);

/** The process's start time in clock ticks since boot: a restarted process with a reused pid differs. */
function startTicks(pid: number): string {
  return fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')[19]!;
}

function rssMb(pid: number): number {
  const line = fs
    .readFileSync(`/proc/${pid}/status`, 'utf8')
    .split('\n')
    .find((l) => l.startsWith('VmRSS:'))!;
  return Number(line.replace(/\D+/g, '')) / 1024;
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}

async function main(): Promise<void> {
  const dir = tempDir('coachport-soak-');
  const file = path.join(dir, 'coachport.db');
  const store = await openStore({ kind: 'sqlite', file });
  const now = Date.now();
  const org = await createOrganization(store, { name: 'Soak', adminEmail: 'soak@example.test' }, now);
  await store.applyImport(org.orgId, generateSeed({ sessions: SEEDED, days: 90, seed: 3, endMs: now, nowMs: now }), now);
  // The agent the soak's sessions are held with.
  const agentId = newId(now);
  await store.createUser(org.orgId, { id: agentId, email: 'agent@soak.test', name: 'Soak Agent', role: 'agent' }, now);
  await store.close();

  const unlimited = {
    RATE_LIMIT_API_PER_SECOND: '1000000',
    RATE_LIMIT_API_PER_MINUTE: '100000000',
    RATE_LIMIT_EXPORT_PER_SECOND: '1000000',
    RATE_LIMIT_EXPORT_PER_MINUTE: '100000000',
  };
  const server = await npmStart(ROOT, { DATABASE_URL: file, ...unlimited }, 60_000);
  const pid = server.pid;
  const runtime = await runtimeOf(pid);
  const ticks = startTicks(pid);
  const rssStart = rssMb(pid);
  log(`server pid ${pid} on ${runtime} (${SUPPORTED_NODE.test(runtime) ? 'supported' : 'NOT SUPPORTED'}), ${SEEDED} sessions seeded`);

  const call = async (token: string, method: string, url: string, body?: unknown) => {
    const response = await fetch(server.url + url, {
      method,
      headers: { apiToken: token, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    if (response.status >= 300) throw new Error(`${method} ${url} answered ${response.status}: ${text.slice(0, 200)}`);
    return text;
  };

  const created: string[] = [];
  const latencies: number[] = [];
  let writesDone = 0;
  let exportsDone = 0;
  let exportBytes = 0;
  const started = performance.now();

  /** One write of a rotating kind: most create, the rest change what exists. */
  async function write(n: number): Promise<void> {
    const t0 = performance.now();
    const kind = n % 5;
    if (kind === 0 || created.length < CONCURRENCY) {
      const doc = JSON.parse(
        await call(org.token, 'POST', '/api/v1/coaching/sessions', {
          coachingFormName: `Soak ${n}`,
          agentId,
          meetingDate: new Date(Date.parse(`${SOAK_DAY}T00:00:00.000Z`) + (n % 86_400) * 1000).toISOString(),
        }),
      ) as { _id: string };
      created.push(doc._id);
    } else {
      const target = created[n % created.length]!;
      if (kind === 1) await call(org.token, 'PATCH', `/api/v1/coaching/sessions/${target}`, { coachNotes: `note ${n}` });
      else if (kind === 2)
        await call(org.token, 'POST', '/api/v1/coaching/points', {
          coachingFormIds: [target],
          type: 'strength',
          classification: 'qa',
          subject: `point ${n}`,
        });
      else if (kind === 3) await call(org.token, 'POST', '/api/v1/coaching/todos', { coachingFormIds: [target], title: `todo ${n}` });
      else await call(org.token, 'POST', `/api/v1/coaching/sessions/${target}/share`);
    }
    latencies.push(performance.now() - t0);
    writesDone += 1;
  }

  async function exportOnce(n: number): Promise<void> {
    const body =
      n % 2 === 0
        ? { startDate: SOAK_DAY, endDate: SOAK_DAY, timeAxis: 'meetingDate' }
        : {
            startDate: new Date(now - 89 * 86_400_000).toISOString().slice(0, 10),
            endDate: new Date(now).toISOString().slice(0, 10),
            timeAxis: 'createdAt',
          };
    exportBytes += Buffer.byteLength(await call(org.token, 'POST', '/api/v1/coaching-sessions', body));
    exportsDone += 1;
  }

  let next = 0;
  const writers = Array.from({ length: CONCURRENCY }, async () => {
    while (next < WRITES) await write(next++);
  });
  // Exports spread over the writes, one at a time, beside them.
  const exporter = (async () => {
    for (let n = 0; n < EXPORTS; n++) {
      while (writesDone < (WRITES * n) / EXPORTS && writesDone < WRITES) await new Promise((resolve) => setTimeout(resolve, 5));
      await exportOnce(n);
      if (n % 10 === 0) log(`${writesDone}/${WRITES} writes, ${exportsDone}/${EXPORTS} exports, RSS ${rssMb(pid).toFixed(0)} MB`);
    }
  })();
  let failure: unknown = null;
  await Promise.all([...writers, exporter]).catch((error: unknown) => {
    failure = error;
  });
  const seconds = (performance.now() - started) / 1000;

  const alive = fs.existsSync(`/proc/${pid}`) && startTicks(pid) === ticks;
  let answering = false;
  let exported = -1;
  if (alive) {
    answering = (await fetch(`${server.url}/healthz`).catch(() => null))?.status === 200;
    const last = JSON.parse(
      await call(org.token, 'POST', '/api/v1/coaching-sessions', { startDate: SOAK_DAY, endDate: SOAK_DAY, timeAxis: 'meetingDate' }),
    ) as unknown[];
    exported = last.length;
  }
  const rssEnd = alive ? rssMb(pid) : NaN;
  const figures = {
    runtime,
    pid,
    seconds: Number(seconds.toFixed(1)),
    writes: writesDone,
    writesPerSecond: Math.round(writesDone / seconds),
    writeP50Ms: Number(percentile(latencies, 50).toFixed(1)),
    writeP99Ms: Number(percentile(latencies, 99).toFixed(1)),
    exports: exportsDone,
    exportMB: Number((exportBytes / 1_048_576).toFixed(1)),
    rssStartMB: Math.round(rssStart),
    rssEndMB: Math.round(rssEnd),
    samePidAlive: alive,
    answering,
    sessionsCreated: created.length,
    sessionsExported: exported,
  };
  await server.stop();
  fs.rmSync(dir, { recursive: true, force: true });

  process.stdout.write(`${JSON.stringify(figures, null, 2)}\n`);
  const ok = failure === null && alive && answering && exported === created.length && SUPPORTED_NODE.test(runtime);
  if (failure !== null) log(`a request failed: ${(failure as Error).message}\n${server.output().slice(-2000)}`);
  log(ok ? 'passed: one process served every write and export' : 'FAILED');
  process.exitCode = ok ? 0 : 1;
}

await main();
