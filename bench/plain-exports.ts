import { execFile, spawn } from 'node:child_process';
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
  /** The reader's own CPU for this export (user and system, ms), where the reader is this module's Node process. */
  readerCpuMs?: number;
}

interface Job {
  url: string;
  token: string;
  window: ExportWindowBody;
  runs: number;
  warmUp: boolean;
}

/**
 * `runs` plain exports of `window`, one after another, after one export that is not timed (the
 * server's first export of a window runs its code cold) unless `warmUp` is false; the body is
 * counted and dropped.
 */
export function timedPlainExports(
  url: string,
  token: string,
  window: ExportWindowBody,
  runs: number,
  warmUp = true,
): Promise<TimedExport[]> {
  const job: Job = { url, token, window, runs, warmUp };
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

/**
 * The same exports read by curl, which the README's first example uses: a client written in C
 * that costs the shared machine far less CPU than a Node reader, so on two cores it shows more of
 * the server's own speed (docs/performance.md, "Measuring the export"). One untimed export first;
 * null, with the reason on stderr, where curl is not installed. Printed beside the figure the
 * targets are judged on, never in its place.
 */
export async function curlExports(url: string, token: string, window: ExportWindowBody, runs: number): Promise<TimedExport[] | null> {
  const once = () =>
    new Promise<TimedExport>((resolve, reject) => {
      const args = ['-sS', '-o', '/dev/null', '-w', '%{http_code} %{size_download} %{time_total} %{time_starttransfer}'];
      args.push('-H', `apiToken: ${token}`, '-H', 'content-type: application/json', '-d', JSON.stringify(window));
      execFile('curl', [...args, `${url}/api/v1/coaching-sessions`], (error, stdout) => {
        if (error) return reject(error);
        const [status, bytes, total, firstByte] = stdout.split(' ').map(Number) as [number, number, number, number];
        if (status !== 200) return reject(new Error(`export read by curl answered ${status}`));
        resolve({ seconds: total, ttfbMs: firstByte * 1000, bytes });
      });
    });
  try {
    await once();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    process.stderr.write('bench: curl is not installed, so the export read by curl is not measured\n');
    return null;
  }
  const timed: TimedExport[] = [];
  for (let i = 0; i < runs; i++) timed.push(await once());
  return timed;
}

async function readerProcess({ url, token, window, runs, warmUp }: Job): Promise<void> {
  if (warmUp) await plainExport(url, token, window);
  const timed: TimedExport[] = [];
  for (let i = 0; i < runs; i++) {
    // On a 2-core machine what the reader spends is taken from the server it measures.
    const before = process.cpuUsage();
    const { seconds, ttfbMs, bytes } = await plainExport(url, token, window);
    const { user, system } = process.cpuUsage(before);
    timed.push({ seconds, ttfbMs, bytes, readerCpuMs: Math.round((user + system) / 1000) });
  }
  process.stdout.write(JSON.stringify(timed));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await readerProcess(JSON.parse(process.argv[2]!) as Job);
