import { spawn } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { median } from './median.js';
import { timedPlainExports } from './plain-exports.js';

/**
 * The most the export's reader (plain-exports.ts) can show on this machine: the same reader, the
 * same number of runs, against a server in a process of its own that sends `bytes` from memory, as
 * a chunked 200 in the export's 256 KB writes, doing nothing else. Printed beside the export's
 * figure: on two cores the reader's own CPU (70–100 ms for 93.5 MB) bounds what it measures, and
 * where this ceiling is under three times the floor, no server could meet the target by it.
 */
export async function readerCeilingMBps(bytes: number, runs: number): Promise<number> {
  const child = spawn(process.execPath, [fileURLToPath(import.meta.url), String(bytes)], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    const port = await new Promise<number>((resolve, reject) => {
      child.stdout.once('data', (chunk: Buffer) => resolve(Number(chunk.toString().trim())));
      child.once('error', reject);
      child.once('exit', (code) => reject(new Error(`the memory server exited ${code}`)));
    });
    const window = { startDate: '', endDate: '', timeAxis: '' };
    const timed = await timedPlainExports(`http://127.0.0.1:${port}`, '', window, runs);
    return median(timed.map((r) => r.bytes / 1_048_576 / r.seconds));
  } finally {
    child.kill();
  }
}

const WRITE_BYTES = 256 * 1024;

function serveFromMemory(bytes: number): void {
  const body = Buffer.alloc(bytes, 'x');
  const server = http.createServer((request, response) => {
    request.resume();
    request.on('end', () => {
      response.writeHead(200, { 'content-type': 'application/json' });
      let at = 0;
      const more = () => {
        while (at < body.length) {
          const room = response.write(body.subarray(at, at + WRITE_BYTES));
          at += WRITE_BYTES;
          if (!room) return void response.once('drain', more);
        }
        response.end();
      };
      more();
    });
  });
  server.listen(0, '127.0.0.1', () => process.stdout.write(`${(server.address() as AddressInfo).port}\n`));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) serveFromMemory(Number(process.argv[2]));
