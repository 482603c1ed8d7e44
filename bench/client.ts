import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { timedPlainExports, type ExportWindowBody } from './plain-exports.js';

const BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../bin/coachport.js');
const RUNS = 3;
/** SPEC §13: `coachport export` writes NDJSON and CSV at least at a third of the server's export speed. */
export const CLIENT_TARGET = 1 / 3;

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const mb = (bytes: number) => bytes / 1_048_576;

/** `coachport export` in its own process, as a person runs it, timed from start to exit. */
function cliExport(url: string, token: string, window: ExportWindowBody, format: 'ndjson' | 'csv', out: string): Promise<number> {
  const started = performance.now();
  const args = [
    BIN,
    'export',
    '--url',
    url,
    '--from',
    window.startDate,
    '--to',
    window.endDate,
    '--time-axis',
    window.timeAxis,
    '--format',
    format,
    '--out',
    out,
    '--per-second',
    '1000',
    '--per-minute',
    '100000',
  ];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { env: { ...process.env, COACHPORT_TOKEN: token }, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-2000)));
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code === 0) resolve((performance.now() - started) / 1000);
      else reject(new Error(`coachport export exited ${code}: ${stderr}`));
    });
  });
}

export interface ClientFormatResult {
  MBps: number;
  seconds: number;
  ofServer: number;
  outputMB: number;
}

export interface ClientBenchResult {
  megabytes: number;
  serverMBps: number;
  ndjson: ClientFormatResult;
  csv: ClientFormatResult;
}

const sizeOf = (file: string): number => {
  if (!fs.statSync(file).isDirectory()) return fs.statSync(file).size;
  return fs.readdirSync(file).reduce((sum, name) => sum + sizeOf(path.join(file, name)), 0);
};

/**
 * The export client against the server in the same run: the server's raw MB/s (a plain export read
 * and dropped by a process of its own, plain-exports.ts), then `coachport export` writing NDJSON
 * and CSV of the same window, each rated by the export's bytes over its wall time (process start
 * included), medians of three.
 */
export async function clientBench(url: string, token: string, window: ExportWindowBody): Promise<ClientBenchResult> {
  const raw = await timedPlainExports(url, token, window, RUNS);
  const bytes = raw[0]!.bytes;
  const serverMBps = median(raw.map((r) => mb(r.bytes) / r.seconds));
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'coachport-bench-client-'));
  try {
    const format = async (kind: 'ndjson' | 'csv'): Promise<ClientFormatResult> => {
      const out = path.join(dir, kind === 'csv' ? 'tables' : 'export.ndjson');
      const seconds = [];
      for (let i = 0; i < RUNS; i++) {
        fs.rmSync(out, { recursive: true, force: true });
        seconds.push(await cliExport(url, token, window, kind, out));
      }
      const MBps = mb(bytes) / median(seconds);
      return {
        MBps: Number(MBps.toFixed(1)),
        seconds: Number(median(seconds).toFixed(2)),
        ofServer: Number((MBps / serverMBps).toFixed(2)),
        outputMB: Number(mb(sizeOf(out)).toFixed(1)),
      };
    };
    const ndjson = await format('ndjson');
    const csv = await format('csv');
    return { megabytes: Number(mb(bytes).toFixed(1)), serverMBps: Number(serverMBps.toFixed(1)), ndjson, csv };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Table rows: each format's MB/s against a third of the server's in the same run. */
export function clientRows(c: ClientBenchResult): Array<[string, string, string, string]> {
  const target = `≥ ${(c.serverMBps * CLIENT_TARGET).toFixed(1)} MB/s (⅓ of the server)`;
  const met = (f: ClientFormatResult) => (f.ofServer >= CLIENT_TARGET ? 'met' : 'NOT met');
  const figure = (f: ClientFormatResult) => `${f.MBps} MB/s (${f.seconds} s, ${f.ofServer}× the server)`;
  return [
    [`server's raw export, ${c.megabytes} MB`, `${c.serverMBps} MB/s`, '', ''],
    ['coachport export --format ndjson', figure(c.ndjson), target, met(c.ndjson)],
    ['coachport export --format csv', figure(c.csv), target, met(c.csv)],
  ];
}
