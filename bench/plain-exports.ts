import { spawn } from 'node:child_process';
import http from 'node:http';
import { fileURLToPath } from 'node:url';

/**
 * The server's plain export speed as a client sees it, read in a process of its own. Read inside
 * the bench's process, the same export measured half its speed whenever that process held a large
 * heap (the floor's 20,000 parsed documents): each 93.5 MB export allocates that much in socket
 * Buffers, whose external memory sets off full collections of the whole heap (docs/performance.md,
 * "Measuring the export"). A real client (curl, `coachport export`) holds nothing of the bench's.
 */

export interface ExportWindowBody {
  startDate: string;
  endDate: string;
  timeAxis: string;
}

export interface TimedExport {
  seconds: number;
  ttfbMs: number;
  bytes: number;
}

interface Job {
  url: string;
  token: string;
  window: ExportWindowBody;
  runs: number;
}

/**
 * `runs` plain exports of `window`, one after another, after one export that is not timed (the
 * server's first export of a window runs its code cold); the body is counted and dropped.
 */
export function timedPlainExports(url: string, token: string, window: ExportWindowBody, runs: number): Promise<TimedExport[]> {
  const job: Job = { url, token, window, runs };
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [fileURLToPath(import.meta.url), JSON.stringify(job)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-2000)));
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code === 0) resolve(JSON.parse(stdout) as TimedExport[]);
      else reject(new Error(`the export reader exited ${code}: ${stderr}`));
    });
  });
}

/**
 * One plain export through node:http, which sends no Accept-Encoding of its own (fetch adds
 * `gzip, deflate`, which would measure the gzip export and the client's inflating). Bytes are
 * counted as they arrive; the body is kept only when asked, for a run that is parsed.
 */
export function plainExport(
  url: string,
  token: string,
  window: ExportWindowBody,
  keepBody = false,
): Promise<TimedExport & { body: () => string }> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const headers = { apiToken: token, 'content-type': 'application/json' };
    const request = http.request(`${url}/api/v1/coaching-sessions`, { method: 'POST', headers }, (response) => {
      let ttfbMs = 0;
      let bytes = 0;
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => {
        if (bytes === 0) ttfbMs = performance.now() - started;
        bytes += chunk.length;
        if (keepBody || response.statusCode !== 200) chunks.push(chunk);
      });
      response.on('end', () => {
        const body = () => Buffer.concat(chunks).toString('utf8');
        if (response.statusCode !== 200) reject(new Error(`export answered ${response.statusCode}: ${body()}`));
        else if (response.headers['content-encoding'] !== undefined)
          reject(new Error(`a plain export came with Content-Encoding: ${response.headers['content-encoding']}`));
        else resolve({ seconds: (performance.now() - started) / 1000, ttfbMs, bytes, body });
      });
      response.on('error', reject);
    });
    request.on('error', reject);
    request.end(JSON.stringify(window));
  });
}

async function readerProcess({ url, token, window, runs }: Job): Promise<void> {
  await plainExport(url, token, window);
  const timed: TimedExport[] = [];
  for (let i = 0; i < runs; i++) {
    const { seconds, ttfbMs, bytes } = await plainExport(url, token, window);
    timed.push({ seconds, ttfbMs, bytes });
  }
  process.stdout.write(JSON.stringify(timed));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await readerProcess(JSON.parse(process.argv[2]!) as Job);
