import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { MessageChannel } from 'node:worker_threads';
import { gzipSync } from 'node:zlib';
import BetterSqlite3 from 'better-sqlite3';
import { createOrganization } from '../src/accounts/organizations.js';
import { auditEntry } from '../src/audit/audit.js';
import { isFileError } from '../src/cli/commands/import.js';
import { parseDateTime } from '../src/contract/dates.js';
import type { PointRecord } from '../src/coaching/records.js';
import type { ExportSession } from '../src/contract/schemas.js';
import { DiskLedger } from '../src/importer/disk-ledger.js';
import { type IdLedger, MemoryLedger } from '../src/importer/id-ledger.js';
import { ImportPlanner, planImport, type ImportPlan } from '../src/importer/plan.js';
import { inheritedDescriptor, MAX_FILE_DOCUMENT_BYTES } from '../src/importer/read-file.js';
import { memoryOf, withDocuments } from '../src/importer/render-batch.js';
import { renderImportedSessions } from '../src/store/documents/render-plan.js';
import { beforeCommit } from '../src/store/before-commit.js';
import { openStore } from '../src/store/open.js';
import type { Store } from '../src/store/store.js';
import { sqliteBackend, storeBackends, tempDir, withFreshStore } from './helpers/backends.js';
import { ALL_TIME, renderedExport, sessionsById, storedExport } from './helpers/documents.js';
import { point, session, todo } from './helpers/fixtures.js';
import { BIN, jsonLines, runCli, withOrganizationFolder } from './helpers/processes.js';
import { pollUntil } from './helpers/deadline.js';

/**
 * `coachport import` streams its file (SPEC §13): a file larger than the import child's whole heap
 * imports in both forms, the first bad document is named by element and line, and the batches it
 * writes are one transaction on both stores.
 */
const NOW = Date.parse('2025-04-01T00:00:00.000Z');
/** The import child's V8 heap: the generated files are larger than it, so buffering them fails. */
const HEAP_MB = 64;
const SESSIONS = 24_000;
const PADDING = 'x'.repeat(3_000);

/** Padded sessions as NDJSON lines, made by substituting ids into one serialized document (fast). */
function* paddedLines(count: number): Generator<string> {
  const template = JSON.stringify(session({ _id: '@ID@', coachNotes: PADDING }));
  for (let i = 0; i < count; i++) yield template.replace('@ID@', `stream-${String(i).padStart(7, '0')}`);
}

function writeNdjson(file: string, count: number): void {
  const fd = fs.openSync(file, 'w');
  for (const line of paddedLines(count)) fs.writeSync(fd, `${line}\n`);
  fs.closeSync(fd);
}

function writeArray(file: string, count: number): void {
  const fd = fs.openSync(file, 'w');
  let first = true;
  for (const line of paddedLines(count)) {
    fs.writeSync(fd, `${first ? '[\n' : ',\n'}${line}`);
    first = false;
  }
  fs.writeSync(fd, '\n]\n');
  fs.closeSync(fd);
}

function storedSessions(cwd: string): number {
  const db = new BetterSqlite3(path.join(cwd, 'data', 'coachport.db'), { readonly: true });
  try {
    return db.prepare<[], { n: number }>('select count(*) as n from coaching_sessions').get()!.n;
  } finally {
    db.close();
  }
}

/** The details of the audit log's import entries, oldest first. */
function importAudits(cwd: string): unknown[] {
  const db = new BetterSqlite3(path.join(cwd, 'data', 'coachport.db'), { readonly: true });
  try {
    const rows = db.prepare<[], { details: string }>(`select details from audit_log where action = 'import' order by seq`).all();
    return rows.map((row) => JSON.parse(row.details));
  } finally {
    db.close();
  }
}

/**
 * `coachport import` of a named pipe that the test writes into and holds open: the import writes
 * what it was sent and waits for more until the pipe is closed.
 */
async function importThroughPipe(cwd: string, name: string) {
  execFileSync('mkfifo', [path.join(cwd, name)]);
  const child = spawn(process.execPath, [BIN, 'import', name], { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
  const output = { stderr: '' };
  child.stderr!.on('data', (chunk: Buffer) => (output.stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  const pipe = await fs.promises.open(path.join(cwd, name), 'w');
  return { child, output, exited, pipe };
}

describe('coachport import streams its file (SQLite, real processes)', () => {
  let cwd: string;
  const small = { NODE_OPTIONS: `--max-old-space-size=${HEAP_MB}` };
  withOrganizationFolder('Stream', (dir) => (cwd = dir));

  it('imports NDJSON larger than the import child’s heap, with progress on stderr', async () => {
    const file = path.join(cwd, 'big.ndjson');
    writeNdjson(file, SESSIONS);
    assert.ok(fs.statSync(file).size > HEAP_MB * 1024 * 1024);
    const result = await runCli(['import', 'big.ndjson', '--json'], { cwd, env: small });
    assert.equal(result.code, 0, result.stderr);
    assert.equal(JSON.parse(result.stdout).imported.sessions, SESSIONS);
    // Under --json, the progress is one JSON object a line.
    assert.deepEqual(
      jsonLines(result.stderr),
      [10_000, 20_000].map((sessions) => ({ progress: { sessions, committed: false } })),
    );
    assert.equal(storedSessions(cwd), SESSIONS);
    assert.deepEqual(importAudits(cwd), [{ source: 'big.ndjson' }], 'the file named in the audit log, with its sessions');
    fs.rmSync(file);
  });

  it('imports a JSON array larger than the import child’s heap (the same sessions again: upserted)', async () => {
    const file = path.join(cwd, 'big.json');
    writeArray(file, SESSIONS);
    assert.ok(fs.statSync(file).size > HEAP_MB * 1024 * 1024);
    const result = await runCli(['import', 'big.json'], { cwd, env: small });
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, new RegExp(`^Imported ${SESSIONS} sessions`));
    assert.match(result.stderr, /^10000 sessions imported so far \(not committed yet\)\n20000 sessions imported so far/);
    assert.equal(storedSessions(cwd), SESSIONS);
    fs.rmSync(file);
  });
});

describe('coachport import of a file, interrupted or beside another process', {
  skip: process.platform === 'linux' ? false : 'needs mkfifo',
}, () => {
  let cwd: string;
  withOrganizationFolder('Held', (dir) => (cwd = dir));

  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    it(`rolls back and says so on ${signal}, also while a pipe sends nothing; others are told why they cannot open the file`, async () => {
      // The import has written its first batches and waits for more.
      const { child, output, exited, pipe } = await importThroughPipe(cwd, `held-${signal}.ndjson`);
      try {
        await pipe.write(`${[...paddedLines(1_200)].join('\n')}\n`);
        // Written without the WAL (the file is the import's alone): its rollback journal is there from the first batch.
        await pollUntil(() => fs.existsSync(path.join(cwd, 'data', 'coachport.db-journal')), 'the first batches written', 30_000);
        const beside = await runCli(['token', 'list'], { cwd });
        assert.equal(beside.code, 1, beside.stderr);
        assert.match(
          beside.stderr,
          /is being written by a coachport import, which has it to itself until it commits; try again once it has finished/,
        );
        child.kill(signal);
        // An interrupt that waited on the pipe would hang: bounded here, so it fails instead.
        assert.equal(await Promise.race([exited, sleep(30_000).then(() => 'still running')]), 130, output.stderr);
      } finally {
        await pipe.close();
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      }
      assert.match(output.stderr, /Interrupted: nothing was imported\./);
      assert.equal(storedSessions(cwd), 0);
      assert.deepEqual(importAudits(cwd), [], 'no audit entry without the sessions');
      const after = await runCli(['token', 'list'], { cwd });
      assert.equal(after.code, 0, after.stderr);
    });
  }

  it('imports /dev/stdin when it is a socket, as a parent process’s spawn with a pipe makes it', async () => {
    // Node's `stdio: 'pipe'` is a socket pair on Linux: opening /dev/stdin again by its name fails (ENXIO).
    const child = spawn(process.execPath, [BIN, 'import', '/dev/stdin'], { cwd, stdio: ['pipe', 'pipe', 'pipe'] });
    let [stdout, stderr] = ['', ''];
    child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    child.stdin!.end(`${[...paddedLines(3)].join('\n')}\n`);
    assert.equal(await Promise.race([exited, sleep(30_000).then(() => 'still running')]), 0, stderr);
    assert.match(stdout, /^Imported 3 sessions/);
    assert.equal(storedSessions(cwd), 3);
    assert.equal(inheritedDescriptor('/dev/stdin'), 0);
    assert.equal(inheritedDescriptor('/proc/self/fd/3'), 3);
    assert.equal(inheritedDescriptor('/dev/fd/12'), 12);
    assert.equal(inheritedDescriptor('/tmp/dev/fd/1'), null);
  });

  it('imports texts holding half of a surrogate pair with U+FFFD in its place, and says so, the first by its element', async () => {
    const [a, b, c] = [...paddedLines(3)].map((line) => JSON.parse(line) as ExportSession);
    const lines = [
      JSON.stringify({ ...a!, _id: 'half-0', coachNotes: 'a pair \ud83d\ude00 is fine' }),
      JSON.stringify({ ...b!, _id: 'half-1', coachNotes: 'cut \ud83d' }),
      // Escaped by another writer, upper case: still half a pair.
      JSON.stringify({ ...c!, _id: 'half-2' }).replace('"coachNotes":"', '"coachNotes":"\\uDE00 '),
    ];
    fs.writeFileSync(path.join(cwd, 'halves.ndjson'), `${lines.join('\n')}\n`);
    const result = await runCli(['import', 'halves.ndjson'], { cwd });
    assert.equal(result.code, 0, result.stderr);
    assert.match(
      result.stderr,
      /2 sessions held half of a UTF-16 surrogate pair in a text \(the first: Element 1\), which UTF-8 cannot hold; U\+FFFD/,
    );
    const db = new BetterSqlite3(path.join(cwd, 'data', 'coachport.db'), { readonly: true });
    try {
      const note = (id: string) =>
        db.prepare<[string], { notes: string }>('select coach_notes as notes from coaching_sessions where id = ?').get(id)!.notes;
      assert.equal(note('half-0'), 'a pair \ud83d\ude00 is fine');
      assert.equal(note('half-1'), 'cut \ufffd');
      assert.ok(note('half-2').startsWith('\ufffd '), note('half-2'));
    } finally {
      db.close();
    }
  });
});

describe('coachport import of a file beside a reader', { skip: process.platform === 'linux' ? false : 'needs mkfifo' }, () => {
  let cwd: string;
  withOrganizationFolder('Read beside', (dir) => (cwd = dir));

  it('commits once a reader that opened the file during the import has finished, waiting for it instead of rolling back', async () => {
    const { child, output, exited, pipe } = await importThroughPipe(cwd, 'read-beside.ndjson');
    const reader = { db: null as BetterSqlite3.Database | null };
    try {
      await pipe.write(`${[...paddedLines(1_200)].join('\n')}\n`);
      await pollUntil(() => fs.existsSync(path.join(cwd, 'data', 'coachport.db-journal')), 'the first batches written', 30_000);
      // A reader's snapshot (SQLite's shared lock), taken while the import writes: the commit must wait for it.
      reader.db = new BetterSqlite3(path.join(cwd, 'data', 'coachport.db'), { readonly: true });
      reader.db.exec('begin');
      assert.equal(reader.db.prepare<[], { n: number }>('select count(*) as n from coaching_sessions').get()!.n, 0);
      await pipe.close();
      // Long enough for the import to reach its commit on a loaded machine, within its 5 s wait.
      const early = await Promise.race([exited, sleep(3_000).then(() => 'waiting')]);
      assert.equal(early, 'waiting', `the import ended while the reader held its snapshot: ${output.stderr}`);
      reader.db.exec('commit');
      reader.db.close();
      assert.equal(await Promise.race([exited, sleep(30_000).then(() => 'still running')]), 0, output.stderr);
    } finally {
      await pipe.close().catch(() => undefined);
      if (reader.db?.open) reader.db.close();
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
    assert.equal(storedSessions(cwd), 1_200);
  });
});

describe('coachport import names the first bad document and writes nothing', () => {
  let cwd: string;
  withOrganizationFolder('Bad', (dir) => (cwd = dir));

  it('names the element and the line of an NDJSON document that breaks a rule, after batches were written', async () => {
    const lines = [...paddedLines(2_600)];
    const bad = JSON.parse(lines[2_500]!) as ExportSession;
    lines[2_500] = JSON.stringify({ ...bad, meetingFormat: 7 });
    // A blank line first: the line number and the element index differ.
    fs.writeFileSync(path.join(cwd, 'late.ndjson'), `\n${lines.join('\n')}\n`);
    const result = await runCli(['import', 'late.ndjson'], { cwd });
    assert.notEqual(result.code, 0);
    assert.match(result.stderr, /Nothing was imported\. Line 2502: Element 2500: meetingFormat must be a string or null/);
    assert.equal(storedSessions(cwd), 0);
  });

  it('says which file it cannot read, from the thread that reads it', async () => {
    const result = await runCli(['import', 'missing.ndjson'], { cwd });
    assert.notEqual(result.code, 0);
    assert.match(result.stderr, /Cannot read missing\.ndjson: ENOENT\./);
    assert.equal(storedSessions(cwd), 0);
  });

  it('names the element of a JSON array that is not JSON', async () => {
    const lines = [...paddedLines(1_500)];
    lines[1_200] = '{"_id": tru}';
    fs.writeFileSync(path.join(cwd, 'broken.json'), `[${lines.join(',\n')}]`);
    const result = await runCli(['import', 'broken.json'], { cwd });
    assert.notEqual(result.code, 0);
    assert.match(result.stderr, /broken\.json is not valid JSON: element 1200: /);
    assert.equal(storedSessions(cwd), 0);
  });

  it('refuses text that is not UTF-8 instead of replacing it, in both forms', async () => {
    const [first, second] = [...paddedLines(2)];
    // "José" in Latin-1: the é is one byte, 0xE9, which UTF-8 never ends a text with.
    const latin1 = Buffer.from(second!.replace(PADDING, 'Jos\u00e9'), 'latin1');
    fs.writeFileSync(path.join(cwd, 'latin1.ndjson'), Buffer.concat([Buffer.from(`${first}\n`), latin1, Buffer.from('\n')]));
    const lines = await runCli(['import', 'latin1.ndjson'], { cwd });
    assert.notEqual(lines.code, 0);
    assert.match(lines.stderr, /latin1\.ndjson line 2 is not UTF-8 text\./);
    fs.writeFileSync(path.join(cwd, 'latin1.json'), Buffer.concat([Buffer.from(`[${first},`), latin1, Buffer.from(']')]));
    const array = await runCli(['import', 'latin1.json'], { cwd });
    assert.notEqual(array.code, 0);
    assert.match(array.stderr, /latin1\.json element 1 is not UTF-8 text\./);
    assert.equal(storedSessions(cwd), 0);
  });

  it('refuses a document longer than any can be as it reads it, in both forms', async () => {
    const huge = JSON.stringify(session({ _id: 'huge', coachNotes: 'x'.repeat(MAX_FILE_DOCUMENT_BYTES) }));
    const [first] = [...paddedLines(1)];
    fs.writeFileSync(path.join(cwd, 'huge.ndjson'), `${first}\n${huge}\n`);
    const lines = await runCli(['import', 'huge.ndjson'], { cwd });
    assert.notEqual(lines.code, 0);
    assert.match(lines.stderr, /huge\.ndjson line 2 is longer than 16,777,216 bytes, more than any document can be\./);
    fs.writeFileSync(path.join(cwd, 'huge.json'), `[${first},\n${huge}]`);
    const array = await runCli(['import', 'huge.json'], { cwd });
    assert.notEqual(array.code, 0);
    assert.match(array.stderr, /huge\.json element 1 is longer than 16,777,216 bytes/);
    assert.equal(storedSessions(cwd), 0);
  });

  it('names the element a document too large only as stored is, its instants written out in full', async () => {
    // Three instants without milliseconds: each 4 bytes longer as the store writes it.
    const short = (instant: string) => instant.replace('.000Z', 'Z');
    const doc = session({ _id: 'near-limit' });
    const shortened = { ...doc, createdAt: short(doc.createdAt), updatedAt: short(doc.updatedAt), coachNotes: '' };
    const pad = 2_000_000 - 6 - Buffer.byteLength(JSON.stringify(shortened));
    const text = JSON.stringify({ ...shortened, coachNotes: 'x'.repeat(pad) });
    assert.ok(Buffer.byteLength(text) <= 2_000_000, 'within the limit as written in the file');
    fs.writeFileSync(path.join(cwd, 'near-limit.ndjson'), `${text}\n`);
    const result = await runCli(['import', 'near-limit.ndjson'], { cwd });
    assert.notEqual(result.code, 0);
    assert.match(result.stderr, /Nothing was imported\. Line 1: Element 0: .*near-limit.* 2,000,00\d bytes/);
    assert.equal(storedSessions(cwd), 0);
  });

  it('says where after the array the file goes on', async () => {
    fs.writeFileSync(path.join(cwd, 'trailing.json'), `[${[...paddedLines(5)].join(',')}] garbage`);
    const result = await runCli(['import', 'trailing.json'], { cwd });
    assert.notEqual(result.code, 0);
    assert.match(result.stderr, /trailing\.json is not valid JSON: unexpected data after the end of the JSON array\./);
    assert.equal(storedSessions(cwd), 0);
  });

  it('names a bad document before a break of the array read in the same bytes, not the break', async () => {
    const lines = [...paddedLines(3)];
    lines[1] = JSON.stringify({ ...(JSON.parse(lines[1]!) as ExportSession), createdAt: 'yesterday' });
    fs.writeFileSync(path.join(cwd, 'bad-then-broken.json'), `[${lines.join(',')}] garbage`);
    const broken = await runCli(['import', 'bad-then-broken.json'], { cwd });
    assert.notEqual(broken.code, 0);
    assert.match(broken.stderr, /Nothing was imported\. Element 1: createdAt/);
    // The same with a document too long for any after it.
    const huge = JSON.stringify(session({ _id: 'huge', coachNotes: 'x'.repeat(MAX_FILE_DOCUMENT_BYTES) }));
    fs.writeFileSync(path.join(cwd, 'bad-then-huge.json'), `[${lines.join(',')},${huge}]`);
    const long = await runCli(['import', 'bad-then-huge.json'], { cwd });
    assert.notEqual(long.code, 0);
    assert.match(long.stderr, /Nothing was imported\. Element 1: createdAt/);
    assert.equal(storedSessions(cwd), 0);
  });

  it('imports from a pipe as from a file', async () => {
    const own = tempDir();
    const created = await runCli(['org', 'create', '--name', 'Piped', '--admin-email', 'p@piped.test'], { cwd: own });
    assert.equal(created.code, 0, created.stderr);
    const fifo = path.join(own, 'sessions.pipe');
    execFileSync('mkfifo', [fifo]);
    const importing = runCli(['import', fifo], { cwd: own });
    await fs.promises.writeFile(fifo, `${[...paddedLines(600)].join('\n')}\n`);
    const result = await importing;
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /Imported 600 sessions/);
    assert.equal(storedSessions(own), 600);
  });

  it('names the last element of a JSON array that disagrees with an earlier one', async () => {
    const lines = [...paddedLines(2_100)];
    const last = JSON.parse(lines[2_099]!) as ExportSession;
    lines[2_099] = JSON.stringify({ ...last, agentName: 'Someone Else' });
    fs.writeFileSync(path.join(cwd, 'disagree.json'), `[${lines.join(',')}]`);
    const result = await runCli(['import', 'disagree.json'], { cwd });
    assert.notEqual(result.code, 0);
    assert.match(result.stderr, /Element 2099: agentName disagrees with agentName of element 0 about user "agent-1"/);
    assert.equal(storedSessions(cwd), 0);
  });
});

/** The general reading of an RFC 3339 instant, as parseDateTime read every instant before its fast path. */
function generalReading(value: string): number | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/i.exec(value);
  if (!m) return null;
  const [year, month, day] = [Number(m[1]), Number(m[2]), Number(m[3])];
  // setUTCFullYear: Date.UTC would read the years 0 to 99 as 1900 to 1999.
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day);
  if (date.getUTCFullYear() !== year || date.getUTCMonth() !== month - 1 || date.getUTCDate() !== day) return null;
  if (Number(m[4]) > 23 || Number(m[5]) > 59 || Number(m[6]) > 59) return null;
  const ms = Date.parse(value.toUpperCase().replace(/(\.\d{3})\d+/, '$1'));
  return Number.isNaN(ms) ? null : ms;
}

describe('the planner refuses what a store would refuse only at the database', () => {
  it('names a document whose text holds the NUL character, in a file, from a server and by the API alike', () => {
    const withNul = session({ _id: 'nul', coachNotes: 'a\u0000b' });
    const text = Buffer.from(JSON.stringify(withNul));
    assert.match(new ImportPlanner().add(withNul, 0, text.length, text) ?? '', /^Element 0: a text holds the NUL character \(\\u0000\)/);
    const planned = planImport([session(), withNul]);
    assert.ok(!planned.ok);
    assert.match(planned.error, /^Element 1: a text holds the NUL character/);
    // A backslash followed by "u0000" is text like any other.
    const lookalike = session({ _id: 'lookalike', coachNotes: 'a\\u0000b' });
    const lookalikeText = Buffer.from(JSON.stringify(lookalike));
    assert.ok(lookalikeText.includes('\\\\u0000'));
    assert.equal(new ImportPlanner().add(lookalike, 0, lookalikeText.length, lookalikeText), null);
    assert.ok(planImport([lookalike]).ok);
  });

  it('names a point or to-do that lists one session twice', () => {
    const doc = session({ _id: 'twice' });
    doc.coachingPoints = [point(['twice', 'other', 'twice'])];
    assert.match(
      new ImportPlanner().add(doc, 4) ?? '',
      /^Element 4: coachingPoints\[0\]\.coachingFormIds names session "twice" more than once\.$/,
    );
    const withTodo = session({ _id: 'todo-twice', todos: [todo(['todo-twice', 'todo-twice'])] });
    assert.match(new ImportPlanner().add(withTodo, 0) ?? '', /todos\[0\]\.coachingFormIds names session "todo-twice" more than once/);
  });
});

describe('a planner rewound to its mark (a window fetched again)', () => {
  const ledgers: Array<[string, () => IdLedger]> = [
    ['in memory', () => new MemoryLedger()],
    ['on disk', () => new DiskLedger()],
  ];
  for (const [where, ledgerOf] of ledgers) {
    it(`forgets only what came after the mark, also when its id ledger grew in between (ledger ${where})`, () => {
      const ledger = ledgerOf();
      try {
        rewindAndRepeat(new ImportPlanner(undefined, ledger));
      } finally {
        ledger.close();
      }
    });
  }
});

describe('an id ledger whose temporary file cannot be written', () => {
  it('says so, naming the folder and what to do, instead of SQLite’s "disk I/O error"', () => {
    const folder = tempDir();
    // In a process of its own, each file it writes held to 1 MiB; the ledger keeps 8 MiB in memory before its file grows.
    const script = `
      const { DiskLedger } = await import(${JSON.stringify(new URL('../src/importer/disk-ledger.js', import.meta.url).href)});
      const ledger = new DiskLedger();
      let recorded = 0;
      try {
        for (; recorded < 2_000_000; recorded++) {
          ledger.firstOrEarlier(0, 'session-' + recorded, { print: recorded, element: recorded, key: 0 });
        }
        console.log(JSON.stringify({ recorded }));
      } catch (error) {
        console.log(JSON.stringify({ recorded, name: error.constructor.name, message: error.message }));
      } finally {
        ledger.close();
      }`;
    const shell = ['-c', `ulimit -f ${(1 << 20) / 512} && exec "$0" "$@"`, process.execPath, '--input-type=module', '-e', script];
    const outcome = JSON.parse(execFileSync('/bin/sh', shell, { env: { ...process.env, SQLITE_TMPDIR: folder } }).toString()) as {
      recorded: number;
      name?: string;
      message?: string;
    };
    assert.equal(outcome.name, 'ScratchFileError', JSON.stringify(outcome));
    assert.ok(outcome.recorded > 10_000, `the ledger failed only once its file grew (after ${outcome.recorded} ids)`);
    assert.match(
      outcome.message!,
      new RegExp(
        `^Nothing was imported: the import's temporary files could not be written in ${folder} \\(.+\\)\\. ` +
          'Make room there, or set SQLITE_TMPDIR to a folder with more\\.$',
      ),
    );
    assert.deepEqual(fs.readdirSync(folder), [], 'no temporary file is left');
  });
});

function rewindAndRepeat(planner: ImportPlanner): void {
  const before = linkedDocuments();
  for (const [element, doc] of before.entries()) assert.equal(planner.add(doc, element), null);
  planner.take();
  planner.mark();
  // Far more ids than the ledger's first index holds: it is rebuilt larger before the rewind.
  const part = Array.from({ length: 3_000 }, (_, i) =>
    session({ _id: `part-${i}`, coachingPoints: [point([`part-${i}`])], todos: [todo([`part-${i}`])] }),
  );
  for (const [i, doc] of part.entries()) assert.equal(planner.add(doc, before.length + i), null);
  planner.take();
  planner.rewind();
  const rewound = planner.counts();
  assert.deepEqual([rewound.sessions, rewound.coachingPoints, rewound.todos], [before.length, 1, 1]);
  // The part again: accepted, and none of its items is taken for one an earlier batch carried
  // (the store never saw the attempt given up: from-server.ts holds a window until it is whole).
  for (const [i, doc] of part.entries()) assert.equal(planner.add(doc, before.length + i), null);
  assert.deepEqual(planner.take().repeated, { points: [], todos: [] });
  assert.equal(planner.counts().sessions, before.length + part.length);
  // What came before the mark is still known.
  assert.match(planner.add(before[7]!, 9_999) ?? '', /Element 9999: _id "linked-00007" is already used by element 7\./);
  planner.mark();
  const next = session({ _id: 'after-the-part' });
  assert.equal(planner.add(next, 10_000), null);
  planner.take();
  // A point of an earlier batch, known now only by the ledger's fingerprint, told differently.
  const known = part[5]!.coachingPoints[0]!;
  const retold = session({
    _id: 'retold',
    coachingPoints: [{ ...known, coachingFormIds: [...known.coachingFormIds, 'retold'], agentNotes: 'Told differently' }],
  });
  const earlier = `coachingPoints[0] of element ${before.length + 5}`;
  assert.equal(
    planner.add(retold, 10_001),
    `Element 10001: coachingPoints[0] disagrees with ${earlier} about coaching point "${known._id}".`,
  );
}

describe('instants in the contract’s own form, as the import reads most of them', () => {
  it('read as the general reading reads them, one character changed or not', () => {
    for (let i = 0; i < 20_000; i++) {
      const text = new Date(Math.floor(Math.random() * 253_402_300_800_000)).toISOString();
      assert.equal(parseDateTime(text), generalReading(text), text);
      const at = Math.floor(Math.random() * text.length);
      const changed = `${text.slice(0, at)}${'019:.TZx-'[i % 9]}${text.slice(at + 1)}`;
      assert.equal(parseDateTime(changed), generalReading(changed), changed);
    }
    for (const bad of ['2025-02-29T00:00:00.000Z', '2025-01-01T24:00:00.000Z', '2025-01-01T00:60:00.000Z', '0099-02-29T00:00:00.000Z']) {
      assert.equal(parseDateTime(bad), null, bad);
    }
    assert.equal(parseDateTime('0099-01-01T00:00:00.000Z'), Date.parse('0099-01-01T00:00:00.000Z'), 'a day of the year 99 is real');
    assert.equal(parseDateTime('2024-02-29T23:59:59.999Z'), Date.UTC(2024, 1, 29, 23, 59, 59, 999));
  });
});

const backends = await storeBackends();

/** 2,500 sessions; a point and a to-do each on sessions of different batches. */
function linkedDocuments(): ExportSession[] {
  const docs = Array.from({ length: 2_500 }, (_, i) =>
    session({ _id: `linked-${String(i).padStart(5, '0')}`, createdAt: new Date(NOW - (i + 1) * 60_000).toISOString() }),
  );
  const shared = point([docs[10]!._id, docs[2_400]!._id], { score: '4' });
  docs[10]!.coachingPoints = [shared];
  docs[2_400]!.coachingPoints = [shared];
  const task = todo([docs[1_500]!._id, docs[3]!._id]);
  docs[3]!.todos = [task];
  docs[1_500]!.todos = [task];
  return docs;
}

/**
 * 1,500 sessions in three batches of 500 whose documents disagree about shared items: a point of
 * session 700 names session 0 (which lists nothing); session 5's point names session 1,200, which
 * lists nothing; a to-do of sessions 20 and 1,400 names session 900, which does not list it.
 */
function disagreeingDocuments(): ExportSession[] {
  const docs = Array.from({ length: 1_500 }, (_, i) =>
    session({ _id: `disagree-${String(i).padStart(5, '0')}`, createdAt: new Date(NOW - (i + 1) * 60_000).toISOString() }),
  );
  docs[700]!.coachingPoints = [point([docs[700]!._id, docs[0]!._id], { _id: 'named-later' })];
  docs[5]!.coachingPoints = [point([docs[5]!._id, docs[1_200]!._id], { _id: 'named-earlier' })];
  const task = todo([docs[20]!._id, docs[900]!._id, docs[1_400]!._id], { _id: 'named-twice' });
  docs[20]!.todos = [task];
  docs[1_400]!.todos = [task];
  return docs;
}

/** Batches of their own planners, so none can say which items another stored. */
async function* planned(batches: ExportSession[][]): AsyncGenerator<ImportPlan> {
  for (const docs of batches) {
    const result = planImport(docs);
    assert.ok(result.ok);
    yield result.plan;
  }
}

function pointRecordOf(p: ExportSession['coachingPoints'][number]): PointRecord {
  const { _id, coachingFormIds, createdAt, updatedAt, ...rest } = p;
  return { ...rest, id: _id, sessionIds: coachingFormIds, createdAt: Date.parse(createdAt), updatedAt: Date.parse(updatedAt) };
}

async function* batchesOf(docs: ExportSession[], size: number, failAfter = Infinity, rendered = false): AsyncGenerator<ImportPlan> {
  const planner = new ImportPlanner();
  for (const [element, doc] of docs.entries()) {
    if (element === failAfter) throw new Error('the file ended early');
    const error = planner.add(doc, element);
    if (error) throw new Error(error);
    if (planner.pending === size) yield rendered ? withDocuments(planner.take()) : planner.take();
  }
  if (planner.pending > 0) yield rendered ? withDocuments(planner.take()) : planner.take();
}

describe('a batch rendered where it was planned', () => {
  it('carries its documents as UTF-8 in one memory, transferred to the writer whole', async () => {
    const planner = new ImportPlanner();
    for (const [element, doc] of linkedDocuments().slice(0, 300).entries()) assert.equal(planner.add(doc, element), null);
    const plan = planner.take();
    const texts = renderImportedSessions(plan, {
      user: (id) => plan.users.find((u) => u.id === id)?.name ?? '',
      template: (id) => plan.templates.find((t) => t.id === id)?.name ?? '',
    }).map((d) => d.json);
    const batch = withDocuments(plan);
    const memory = memoryOf(batch);
    assert.equal(memory.length, 1);
    assert.ok(batch.rendered!.every((d) => d.utf8.buffer === memory[0]));
    assert.equal(
      memory[0]!.byteLength,
      texts.reduce((n, text) => n + Buffer.byteLength(text), 0),
      'no byte more than the documents',
    );
    const channel = new MessageChannel();
    const received = new Promise<ImportPlan>((resolve) => channel.port2.once('message', resolve));
    channel.port1.postMessage(batch, memory);
    const moved = await received;
    channel.port1.close();
    assert.equal(memory[0]!.byteLength, 0, 'transferred, not copied');
    const decoder = new TextDecoder();
    assert.deepEqual(
      moved.rendered!.map((d) => decoder.decode(d.utf8)),
      texts,
    );
    assert.equal(memoryOf(planner.take()).length, 0, 'a batch without documents transfers nothing');
  });
});

for (const backend of backends) {
  describe(`importBatches on ${backend.name}`, () => {
    it('stores what one whole plan stores, with points and to-dos shared across batches', async () => {
      await withFreshStore(backend, async (store) => {
        const docs = linkedDocuments();
        const whole = await createOrganization(store, { name: 'Whole', adminEmail: 'w@whole.test' }, NOW);
        const planned = planImport(docs);
        assert.ok(planned.ok);
        await store.applyImport(whole.orgId, planned.plan, NOW);
        const streamed = await createOrganization(store, { name: 'Streamed', adminEmail: 's@streamed.test' }, NOW);
        assert.equal(await store.importBatches(streamed.orgId, batchesOf(docs, 1_000), NOW), 2_500);
        const exported = await storedExport(store, streamed.orgId);
        assert.equal(exported, await storedExport(store, whole.orgId));
        const byId = sessionsById(exported);
        assert.deepEqual(byId.get('linked-02400')!.coachingPoints, docs[10]!.coachingPoints);
        assert.deepEqual(byId.get('linked-00003')!.todos, docs[1_500]!.todos);
        // Imported again into a database that has them: still the same.
        await store.importBatches(streamed.orgId, batchesOf(docs, 700), NOW);
        assert.equal(await storedExport(store, streamed.orgId), exported);
      });
    });

    it('stores the same from batches rendered where they were planned (the import’s reading thread)', async () => {
      await withFreshStore(backend, async (store) => {
        const docs = linkedDocuments();
        const planned = planImport(docs);
        assert.ok(planned.ok);
        const whole = await createOrganization(store, { name: 'Whole', adminEmail: 'w@whole.test' }, NOW);
        await store.applyImport(whole.orgId, planned.plan, NOW);
        const first = batchesOf(docs, 1_000, Infinity, true);
        const batch = (await first.next()).value as ImportPlan;
        // Every batch comes with its documents: the writer renders none of them itself.
        assert.equal(batch.rendered?.length, 1_000);
        const streamed = await createOrganization(store, { name: 'Streamed', adminEmail: 's@streamed.test' }, NOW);
        assert.equal(await store.importBatches(streamed.orgId, batchesOf(docs, 1_000, Infinity, true), NOW), 2_500);
        assert.equal(await storedExport(store, streamed.orgId), await storedExport(store, whole.orgId));
        await store.importBatches(streamed.orgId, batchesOf(docs, 700, Infinity, true), NOW);
        assert.equal(await storedExport(store, streamed.orgId), await storedExport(store, whole.orgId));
      });
    });

    it('lets an item’s coachingFormIds decide where documents disagree, whatever the batches', async () => {
      const docs = disagreeingDocuments();
      const ids = docs.map((doc) => doc._id);
      // Into empty tables (SQLite builds its indexes after the rows), and into a database with a session already.
      for (const stocked of [false, true]) {
        await withFreshStore(backend, async (store) => {
          if (stocked) {
            const other = await createOrganization(store, { name: 'Other', adminEmail: 'o@other.test' }, NOW);
            await store.importBatches(other.orgId, batchesOf([session({ _id: 'already-here' })], 500), NOW);
          }
          const streamed = await createOrganization(store, { name: 'Streamed', adminEmail: 's@streamed.test' }, NOW);
          assert.equal(await store.importBatches(streamed.orgId, batchesOf(docs, 500), NOW), docs.length);
          const exported = await renderedExport(store, streamed.orgId);
          // The same as one batch: where batches begin changes nothing.
          const whole = await createOrganization(store, { name: 'Whole', adminEmail: 'w@whole.test' }, NOW);
          const planned = planImport(docs);
          assert.ok(planned.ok);
          await store.applyImport(whole.orgId, planned.plan, NOW);
          assert.equal(exported, await storedExport(store, whole.orgId));
          const byId = sessionsById(exported);
          // A point of a later batch names session 0, which listed nothing…
          assert.deepEqual(
            byId.get(ids[0]!)!.coachingPoints.map((p) => p._id),
            ['named-later'],
          );
          // …a point of an earlier batch names session 1,200, which lists nothing…
          assert.deepEqual(
            byId.get(ids[1_200]!)!.coachingPoints.map((p) => p._id),
            ['named-earlier'],
          );
          assert.deepEqual(byId.get(ids[5]!)!.coachingPoints[0]!.coachingFormIds, [ids[5], ids[1_200]]);
          // …and a to-do names session 900, which does not list it, from two batches.
          assert.deepEqual(
            byId.get(ids[900]!)!.todos.map((t) => t._id),
            ['named-twice'],
          );
        });
      }
    });

    it('takes whole plans one after another into empty tables, an item shared between them', async () => {
      // Each plan from a planner of its own: none can say which items another stored.
      const shared = point(['w-1', 'w-2'], { _id: 'between-plans' });
      const batches = [[session({ _id: 'w-1', coachingPoints: [shared] })], [session({ _id: 'w-2', coachingPoints: [shared] })]];
      await withFreshStore(backend, async (store) => {
        const org = await createOrganization(store, { name: 'Plans', adminEmail: 'p@plans.test' }, NOW);
        assert.equal(await store.importBatches(org.orgId, planned(batches), NOW), 2);
        const byId = sessionsById(await renderedExport(store, org.orgId, 'plans'));
        for (const id of ['w-1', 'w-2']) assert.deepEqual(byId.get(id)!.coachingPoints, [shared], id);
      });
    });

    it('lets a new session’s own list replace links an earlier import wrote to it', async () => {
      await withFreshStore(backend, async (store) => {
        const org = await createOrganization(store, { name: 'Later', adminEmail: 'l@later.test' }, NOW);
        const shared = point(['session-a', 'session-c'], { _id: 'point-9' });
        await store.importBatches(org.orgId, batchesOf([session({ _id: 'session-a', coachingPoints: [shared] })], 500), NOW);
        await store.importBatches(org.orgId, batchesOf([session({ _id: 'session-c' })], 500), NOW);
        const byId = sessionsById(await renderedExport(store, org.orgId));
        assert.deepEqual(byId.get('session-a')!.coachingPoints[0]!.coachingFormIds, ['session-a']);
        assert.deepEqual(byId.get('session-c')!.coachingPoints, []);
      });
    });

    it('orders items made at the same instant by code point, whatever the database’s collation', async () => {
      // ICU's en-US sorts "a1" before "B1"; code point order, the import's render's, the other way.
      await withFreshStore(
        backend,
        async (store) => {
          const org = await createOrganization(store, { name: 'Ties', adminEmail: 't@ties.test' }, NOW);
          const at = '2024-01-10T09:00:00.000Z';
          const tied = session({
            _id: 'tied',
            coachingPoints: ['a1', 'B1'].map((_id) => point(['tied'], { _id, createdAt: at, updatedAt: at })),
          });
          await store.importBatches(org.orgId, batchesOf([tied], 500), NOW);
          // Each time also byte for byte what a whole render of the tables gives.
          const order = async () =>
            (JSON.parse(await renderedExport(store, org.orgId)) as ExportSession[])[0]!.coachingPoints.map((p) => p._id);
          assert.deepEqual(await order(), ['B1', 'a1']);
          // A point added at the same instant is spliced in where a whole render puts it.
          const added = pointRecordOf(point(['tied'], { _id: 'C0', createdAt: at, updatedAt: at }));
          await store.coaching(org.orgId, (tx) => tx.savePoint(added, true));
          assert.deepEqual(await order(), ['B1', 'C0', 'a1']);
        },
        { icuLocale: 'en-US' },
      );
    });

    it('exports sessions of one instant in code point order of their ids, whatever the database’s collation', async () => {
      await withFreshStore(
        backend,
        async (store) => {
          const org = await createOrganization(store, { name: 'Tied sessions', adminEmail: 't@tied.test' }, NOW);
          const at = '2024-01-10T09:00:00.000Z';
          const ids = ['a1', 'B1', 'b0', 'A2'];
          await store.importBatches(
            org.orgId,
            batchesOf(
              ids.map((_id) => session({ _id, createdAt: at })),
              500,
            ),
            NOW,
          );
          const codePointOrder = [...ids].sort();
          assert.deepEqual(codePointOrder, ['A2', 'B1', 'a1', 'b0']);
          const exported = JSON.parse(await renderedExport(store, org.orgId)) as ExportSession[];
          assert.deepEqual(
            exported.map((doc) => doc._id),
            codePointOrder,
          );
          // The reference render pages by the same order: a page of one session at a time.
          const paged: string[] = [];
          for await (const page of store.exportPages(org.orgId, ALL_TIME, 1)) paged.push(...page.map((doc) => doc._id));
          assert.deepEqual(paged, codePointOrder);
        },
        { icuLocale: 'en-US' },
      );
    });

    it('stores a lone surrogate as the database does, in the document as in the tables, by every import path', async () => {
      await withFreshStore(backend, async (store) => {
        // In a text column and in a log entry's descriptions, which the tables keep as JSON text.
        const entry = {
          userId: null,
          userEmail: null,
          actionType: 'updated',
          descriptions: ['notes \ud800x'],
          timestamp: '2024-05-01T10:00:00.000Z',
          ipAddress: null,
        };
        const docs = (prefix: string) => [session({ _id: `${prefix}-half`, coachNotes: '\ud800x', activityLog: [entry] })];
        const paths: Array<[string, (orgId: string) => Promise<unknown>]> = [
          [
            'one plan',
            async (orgId) => {
              const planned = planImport(docs('plan'));
              assert.ok(planned.ok);
              return store.applyImport(orgId, planned.plan, NOW);
            },
          ],
          ['batches', (orgId) => store.importBatches(orgId, batchesOf(docs('batch'), 500), NOW)],
          ['batches rendered where planned', (orgId) => store.importBatches(orgId, batchesOf(docs('thread'), 500, Infinity, true), NOW)],
        ];
        for (const [name, imported] of paths) {
          const org = await createOrganization(store, { name, adminEmail: `${name.length}@half.test` }, NOW);
          await imported(org.orgId);
          const exported = await renderedExport(store, org.orgId, name);
          const [doc] = JSON.parse(exported) as ExportSession[];
          assert.equal(doc!.coachNotes, '\ufffdx', name);
          assert.deepEqual(doc!.activityLog[0]!.descriptions, ['notes \ufffdx'], name);
        }
      });
    });

    it('ends two streamed imports of one new organization at once in one of them, not an error', async () => {
      await withFreshStore(backend, async (store) => {
        const org = await createOrganization(store, { name: 'Twice', adminEmail: 't@twice.test' }, NOW);
        const docs = linkedDocuments();
        const renamed = docs.map((doc) => ({ ...doc, coachNotes: 'second' }));
        const results = await Promise.allSettled([
          store.importBatches(org.orgId, batchesOf(docs, 1_000, Infinity, true), NOW),
          store.importBatches(org.orgId, batchesOf(renamed, 1_000, Infinity, true), NOW),
        ]);
        assert.deepEqual(
          results.map((r) => r.status),
          ['fulfilled', 'fulfilled'],
        );
        const notes = new Set((JSON.parse(await storedExport(store, org.orgId)) as ExportSession[]).map((d) => d.coachNotes));
        assert.equal(notes.size, 1);
      });
    });

    it('moves no session in the change feed when the same documents are imported again, by either path', async () => {
      await withFreshStore(backend, async (store) => {
        const org = await createOrganization(store, { name: 'Again', adminEmail: 'a@again.test' }, NOW);
        const docs = linkedDocuments();
        await store.importBatches(org.orgId, batchesOf(docs, 1_000), NOW);
        const feed = await store.changesAfter(org.orgId, null, 5_000);
        assert.equal(feed.length, docs.length);
        const last = feed.at(-1)!.position;
        await store.importBatches(org.orgId, batchesOf(docs, 700, Infinity, true), NOW + 1);
        const planned = planImport(docs);
        assert.ok(planned.ok);
        await store.applyImport(org.orgId, planned.plan, NOW + 2);
        assert.deepEqual(await store.changesAfter(org.orgId, last, 5_000), [], 'nothing changed, nothing in the feed');
        const changed = docs.map((doc, i) => (i === 7 ? { ...doc, coachNotes: 'changed' } : doc));
        await store.importBatches(org.orgId, batchesOf(changed, 1_000), NOW + 3);
        assert.deepEqual(
          (await store.changesAfter(org.orgId, last, 5_000)).map((c) => (JSON.parse(c.doc) as ExportSession)._id),
          [docs[7]!._id],
          'only the session whose document changed',
        );
      });
    });

    it('rolls back when stopped after its last batch was read, before its commit, its audit entry too', async () => {
      await withFreshStore(backend, async (store) => {
        const org = await createOrganization(store, { name: 'Stopped', adminEmail: 's@stopped.test' }, NOW);
        const controller = new AbortController();
        // The last batch read, then Ctrl-C while the import builds its indexes and commits.
        async function* thenStopped() {
          yield* batchesOf(linkedDocuments(), 1_000);
          controller.abort(new Error('stopped after the last batch'));
        }
        const audit = auditEntry(null, 'import', null, { source: 'stopped.ndjson' }, NOW);
        await assert.rejects(
          store.importBatches(org.orgId, thenStopped(), NOW, { audit, signal: controller.signal }),
          /stopped after the last batch/,
        );
        assert.equal(await storedExport(store, org.orgId), '[]');
        assert.deepEqual(await store.readAudit(org.orgId, { fromMs: null, toMs: null, action: 'import', after: null, limit: 10 }), []);
      });
    });

    it('leaves nothing when the last batch fails', async () => {
      await withFreshStore(backend, async (store) => {
        const org = await createOrganization(store, { name: 'Failing', adminEmail: 'f@failing.test' }, NOW);
        await assert.rejects(store.importBatches(org.orgId, batchesOf(linkedDocuments(), 1_000, 2_499), NOW), /ended early/);
        assert.equal(await storedExport(store, org.orgId), '[]');
      });
    });
  });
}

describe('what coachport import calls an error of reading its file', () => {
  it('is one the file system raised, not a database error crossing from the reading thread with a code and no call', () => {
    const missing = (() => {
      try {
        fs.readFileSync(path.join(tempDir(), 'missing.ndjson'));
      } catch (error) {
        return error;
      }
    })();
    assert.equal(isFileError(missing), true);
    // As the reading thread's failure is rebuilt (file-batches.ts): every key there, `syscall` undefined.
    const full = Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL', syscall: undefined });
    assert.equal(isFileError(full), false);
  });
});

describe('the last look at a streamed import’s signal before it commits', () => {
  it('sees a signal that came while the event loop was held (as by the index builds after the last batch)', async () => {
    const controller = new AbortController();
    process.once('SIGWINCH', () => controller.abort(new Error('signalled while held')));
    process.kill(process.pid, 'SIGWINCH');
    const until = Date.now() + 50;
    while (Date.now() < until) {
      // Held: no turn of the event loop, so the signal's handler has not run yet.
    }
    assert.equal(controller.signal.aborted, false);
    await assert.rejects(beforeCommit(controller.signal), /signalled while held/);
  });

  it('lets an import without a signal, or with one not aborted, commit', async () => {
    await beforeCommit(undefined);
    await beforeCommit(new AbortController().signal);
  });
});

describe('importBatches on SQLite opened for one transaction (coachport import)', () => {
  /** The batches, noting before each after the first whether the file had a rollback journal, and reading on `beside`. */
  async function* watched(batches: AsyncIterable<ImportPlan>, file: string, seen: boolean[], beside?: BetterSqlite3.Database) {
    for await (const batch of batches) {
      seen.push(fs.existsSync(`${file}-journal`));
      if (beside) assert.ok(Number(beside.prepare('select count(*) from coaching_sessions').pluck().get()) >= 0);
      yield batch;
    }
  }

  /** A fresh SQLite file opened as `coachport import` opens it, and a read-only query of the file beside it. */
  async function withImportStore(work: (store: Store, read: <R>(query: string) => R[]) => Promise<void>): Promise<void> {
    const database = await sqliteBackend.create();
    const file = (database.config as { file: string }).file;
    const store = await openStore(database.config, { backgroundCheckpoints: false, withoutWal: true });
    const read = <R>(query: string): R[] => {
      const db = new BetterSqlite3(file, { readonly: true });
      try {
        return db.prepare(query).all() as R[];
      } finally {
        db.close();
      }
    };
    try {
      await work(store, read);
    } finally {
      await store.close();
      await database.drop();
    }
  }
  const at = (n: number) => `2024-05-0${n}T10:00:00.000Z`;

  it('gives every document a feed position of its own when a later batch renders an earlier one again', async () => {
    await withImportStore(async (store, read) => {
      const org = await createOrganization(store, { name: 'Positions', adminEmail: 'p@positions.test' }, NOW);
      const shared = point(['p-2', 'p-3'], { _id: 'shared-point' });
      const batches = [
        [session({ _id: 'p-1', createdAt: at(1) }), session({ _id: 'p-2', createdAt: at(2) })],
        // The point names p-2, which did not list it: p-2's document is written again after the batches.
        [session({ _id: 'p-3', createdAt: at(3), coachingPoints: [shared] })],
        [session({ _id: 'p-4', createdAt: at(4) })],
      ];
      await store.importBatches(org.orgId, planned(batches), NOW);
      const twice = read('select seq, count(*) as n from session_documents group by seq having n > 1');
      assert.deepEqual(twice, [], 'no two documents at one position, which a page cut between them would skip');
      const exported = sessionsById(await renderedExport(store, org.orgId));
      assert.deepEqual(exported.get('p-2')!.coachingPoints, [shared]);
    });
  });

  it('writes through a rollback journal when alone on the file, and through the WAL beside another connection', async () => {
    const database = await sqliteBackend.create();
    const file = (database.config as { file: string }).file;
    const store = await openStore(database.config, { backgroundCheckpoints: false, withoutWal: true });
    try {
      const alone = await createOrganization(store, { name: 'Alone', adminEmail: 'a@alone.test' }, NOW);
      const journal: boolean[] = [];
      assert.equal(await store.importBatches(alone.orgId, watched(batchesOf(linkedDocuments(), 500), file, journal), NOW), 2_500);
      assert.ok(journal.slice(1).every(Boolean), `a rollback journal while the import wrote: ${journal}`);
      const reader = new BetterSqlite3(file, { readonly: true });
      try {
        assert.equal(reader.pragma('journal_mode', { simple: true }), 'wal', 'WAL again after the import');
        // A server's connection on the file: the import (the same sessions again) cannot leave WAL mode, and the reader reads on.
        const besideJournal: boolean[] = [];
        await store.importBatches(alone.orgId, watched(batchesOf(linkedDocuments(), 500), file, besideJournal, reader), NOW);
        assert.ok(
          besideJournal.every((exists) => !exists),
          'no rollback journal beside another connection',
        );
      } finally {
        reader.close();
      }
      assert.equal(JSON.parse(await storedExport(store, alone.orgId)).length, 2_500);
    } finally {
      await store.close();
      await database.drop();
    }
  });
});

describe('the documents of an NDJSON file, read by their bytes', () => {
  it('finds the byte-order mark and the form of a pipe that sends its first bytes one by one', async () => {
    const { readDocuments } = await import('../src/importer/read-file.js');
    const dir = tempDir();
    try {
      for (const [form, body, ids] of [
        ['array', '[{"_id":"a"},{"_id":"b"}]', ['a', 'b']],
        ['lines', '{"_id":"c"}\n{"_id":"d"}\n', ['c', 'd']],
      ] as const) {
        const fifo = path.join(dir, `${form}.pipe`);
        execFileSync('mkfifo', [fifo]);
        const sending = (async () => {
          const out = await fs.promises.open(fifo, 'w');
          for (const byte of [0xef, 0xbb, 0xbf, 0x20]) {
            await out.write(Buffer.from([byte]));
            await new Promise((resolve) => setTimeout(resolve, 20));
          }
          await out.write(body);
          await out.close();
        })();
        const read = [];
        for await (const doc of readDocuments(fifo)) read.push((doc.value as { _id: string })._id);
        await sending;
        assert.deepEqual(read, ids, form);
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('numbers lines and elements as a reader of lines would, whatever the line endings, blank lines and chunks', async () => {
    const { readDocuments } = await import('../src/importer/read-file.js');
    const dir = tempDir();
    try {
      const long = { _id: 'long', coachNotes: 'é'.repeat(1_200_000) };
      const lines = ['\uFEFF{"_id":"first"}', '', '  \t', '{"_id":"crlf"}\r', JSON.stringify(long), '\u00a0', '{"_id":"last, no newline"}'];
      const file = path.join(dir, 'mixed.ndjson');
      fs.writeFileSync(file, lines.join('\n'));
      const read = [];
      for await (const doc of readDocuments(file)) read.push(doc);
      assert.deepEqual(
        read.map(({ element, line, value, bytes }) => ({ element, line, id: (value as { _id: string })._id, bytes })),
        [
          { element: 0, line: 1, id: 'first', bytes: 15 },
          { element: 1, line: 4, id: 'crlf', bytes: 14 },
          { element: 2, line: 5, id: 'long', bytes: Buffer.byteLength(JSON.stringify(long)) },
          { element: 3, line: 7, id: 'last, no newline', bytes: 26 },
        ],
      );
      fs.writeFileSync(file, '{"_id":"fine"}\n{"_id": oops}\n');
      await assert.rejects(async () => {
        for await (const _ of readDocuments(file));
      }, /mixed\.ndjson line 2 is not valid JSON/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('tells an array from NDJSON in a file shorter than the byte-order mark, and a gzip file from either', async () => {
    const { readDocuments } = await import('../src/importer/read-file.js');
    const dir = tempDir();
    try {
      const documents = async (text: string) => {
        const file = path.join(dir, 'short.json');
        fs.writeFileSync(file, text);
        const read = [];
        for await (const doc of readDocuments(file)) read.push(doc.value);
        return read;
      };
      assert.deepEqual(await documents('[]'), [], 'an empty array');
      assert.deepEqual(await documents('{}'), [{}], 'one NDJSON line');
      assert.deepEqual(await documents(' '), []);
      assert.deepEqual(await documents(''), []);
      const gzipped = path.join(dir, 'sessions.ndjson.gz');
      fs.writeFileSync(gzipped, gzipSync('{"_id":"a"}\n'));
      await assert.rejects(async () => {
        for await (const _ of readDocuments(gzipped));
      }, /sessions\.ndjson\.gz is gzip-compressed: import what it holds, such as coachport import <\(zcat .*sessions\.ndjson\.gz\)/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
