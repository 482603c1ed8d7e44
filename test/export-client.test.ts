import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { getEventListeners } from 'node:events';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import type { ExportApiError } from '../src/client/errors.js';
import { apiUrl, ExportClient, type ExportClientOptions } from '../src/client/export-client.js';
import { RawJsonArraySplitter } from '../src/client/json-array-bytes.js';
import { realClock } from '../src/client/pacer.js';
import { planWindows } from '../src/client/windows.js';
import { TABLE_NAMES, TABLES, tableRows } from '../src/client/tables.js';
import { CsvWriter } from '../src/client/writers/csv-writer.js';
import { csvRow } from '../src/client/writers/csv-text.js';
import { JsonWriter } from '../src/client/writers/json-writer.js';
import type { ExportSession } from '../src/contract/schemas.js';
import { tempDir } from './helpers/backends.js';
import { VirtualClock } from './helpers/clock.js';
import { startFaultServer, json } from './helpers/fault-server.js';
import { point, session, todo } from './helpers/fixtures.js';
import { pollUntil } from './helpers/deadline.js';
import { closedPort } from './helpers/ports.js';
import { BIN, jsonLines, runCli, startServe } from './helpers/processes.js';
import { startTestServer, type TestServer } from './helpers/server.js';
import { writeUnevenly } from './helpers/uneven-writes.js';

async function collect(iterable: AsyncIterable<ExportSession>): Promise<ExportSession[]> {
  const out: ExportSession[] = [];
  for await (const s of iterable) out.push(s);
  return out;
}

describe('planning windows', () => {
  it('covers any range with windows of at most 90 inclusive days, no gap, no overlap', () => {
    const windows = planWindows('2023-01-01', '2024-12-31');
    assert.equal(windows[0]!.startDate, '2023-01-01');
    assert.equal(windows.at(-1)!.endDate, '2024-12-31');
    for (let i = 0; i < windows.length; i++) {
      const w = windows[i]!;
      const days = (Date.parse(w.endDate) - Date.parse(w.startDate)) / 86_400_000 + 1;
      assert.ok(days >= 1 && days <= 90, `${w.startDate}..${w.endDate} is ${days} days`);
      if (i > 0) assert.equal(Date.parse(w.startDate) - Date.parse(windows[i - 1]!.endDate), 86_400_000);
    }
    assert.deepEqual(planWindows('2024-02-29', '2024-02-29'), [{ startDate: '2024-02-29', endDate: '2024-02-29' }]);
    assert.throws(() => planWindows('2024-02-02', '2024-02-01'), /before/);
  });
});

describe('writers stopped before their first window', () => {
  it('leave a valid empty array and CSV tables with their headers', () => {
    const dir = tempDir();
    try {
      const json = new JsonWriter(path.join(dir, 'x.json'), false, null);
      json.write(session());
      json.finish({ interrupted: true });
      assert.deepEqual(JSON.parse(fs.readFileSync(path.join(dir, 'x.json'), 'utf8')), []);
      const csv = new CsvWriter(path.join(dir, 'tables'), null);
      csv.write(session());
      csv.finish({ interrupted: true });
      assert.match(fs.readFileSync(path.join(dir, 'tables', 'sessions.csv'), 'utf8'), /^_id,coachingFormName,[^\n]*\r\n$/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('splitting a streamed JSON array at document boundaries, unparsed', () => {
  const split = (text: string, size: number) => {
    const bytes = Buffer.from(text);
    const splitter = new RawJsonArraySplitter();
    const got: Array<{ text: string; canonical: boolean }> = [];
    for (let i = 0; i < bytes.length; i += size) {
      for (const e of splitter.push(bytes.subarray(i, i + size))) got.push({ text: e.bytes.toString(), canonical: e.canonical });
    }
    splitter.end();
    return got;
  };

  it("gives each element's own bytes whatever the chunking, and says which are JSON.stringify's own", () => {
    const canonical = [
      { a: '],[{"x"', b: [true, false, null, []], 'ü😀': 'tab\t"q"\\ line\nend' },
      { c: {}, '1x': true, '': null, '0\n1': [] },
      'str"\\',
      null,
      [[]],
    ];
    const other = ['{"a": 1}', '{"a":"\\u00e9"}', '{"a":"\\/"}', '{"10":true,"a":null}', '{"a":1.50}', '{"a":tru}', '{"a""b"}'];
    other.push('{"a":"x\u0001"}');
    const text = `[${canonical.map((v) => JSON.stringify(v)).join(',')},${other.join(' ,\n')}]`;
    for (const size of [1, 2, 3, 7, 64, text.length]) {
      const got = split(text, size);
      const expected = canonical.map((v) => ({ text: JSON.stringify(v), canonical: true }));
      assert.deepEqual(got.slice(0, canonical.length), expected, `chunks of ${size}`);
      assert.deepEqual(
        got.slice(canonical.length).map((e) => e.canonical),
        other.map(() => false),
        `chunks of ${size}`,
      );
      assert.deepEqual(
        got.slice(canonical.length).map((e) => e.text.trim()),
        other,
      );
    }
    assert.deepEqual(split('[]', 1), []);
    assert.deepEqual(split(' [ {"a":[]} ]\n', 2), [{ text: '{"a":[]}', canonical: true }]);
    const cut = new RawJsonArraySplitter();
    cut.push(Buffer.from('[{"a":1},{"b"'));
    assert.throws(() => cut.end(), /ended before/);
    assert.throws(() => new RawJsonArraySplitter().push(Buffer.from('{"error":"x"}')), /not a JSON array/);
    assert.equal(split('[{"a":"\xff"}]', 4)[0]!.canonical, true);
    const invalid = new RawJsonArraySplitter().push(Buffer.from([0x5b, 0x22, 0xff, 0x22, 0x5d]));
    assert.equal(invalid[0]!.canonical, false, 'bytes that are not UTF-8 are never copied');
  });
});

describe('splitting a streamed JSON array, chunks not kept', () => {
  it('keeps no view of a chunk once it has been pushed, so its reader may reuse or give back its memory', () => {
    const text = Buffer.from(JSON.stringify([{ a: 'x'.repeat(50) }, { b: 'é'.repeat(40), c: [1, { d: null }] }, 'last']));
    for (let cut = 1; cut < text.length; cut++) {
      const splitter = new RawJsonArraySplitter();
      const first = Buffer.from(text.subarray(0, cut));
      const elements = splitter.push(first).map((element) => Buffer.from(element.bytes).toString());
      first.fill(0x7b);
      for (const element of splitter.push(Buffer.from(text.subarray(cut)))) elements.push(element.bytes.toString());
      splitter.end();
      assert.deepEqual(
        elements.map((element) => JSON.parse(element) as unknown),
        JSON.parse(text.toString()),
        `cut at ${cut}`,
      );
    }
  });
});

describe('the splitter against JSON.parse, over random texts', () => {
  // Pieces of JSON, right and wrong: escapes of every kind, keys that are integers, control
  // characters, numbers, literals cut short, whitespace, unbalanced quotes and brackets.
  const PIECES = [
    '{',
    '}',
    '[',
    ']',
    ',',
    ':',
    '"a"',
    '"1"',
    '"12"',
    '""',
    '"\\u00e9"',
    '"\\n"',
    '"\\/"',
    '"\\"',
    '"ü😀"',
    '"x\u0001"',
    'true',
    'fals',
    'null',
    'nul',
    '1.5',
    '0',
    ' ',
    '\n',
    '"',
    '\\',
    '{"a":"b"}',
    '[[]]',
    '{"0a":[true]}',
    // Long enough for the scan's sixteen-byte steps, each kind of end at a different lane.
    `"${'x'.repeat(20)}"`,
    `"${'y'.repeat(13)}\\n${'z'.repeat(18)}"`,
    `"${'w'.repeat(17)}\u0002${'v'.repeat(20)}"`,
    `"${'é'.repeat(9)}😀${'u'.repeat(20)}"`,
    `"${'1'.repeat(18)}"`,
    `"${'2'.repeat(15)}a${'3'.repeat(20)}"`,
    `"${'\\\\'.repeat(9)}"`,
    `"${'\\u00e9'.repeat(3)}"`,
  ];
  let seed = 7;
  const random = (n: number) => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed % n;
  };
  const elementsOf = (bytes: Buffer, size: number, check: boolean) => {
    const splitter = new RawJsonArraySplitter({ check });
    const got: Array<{ text: string; canonical: boolean }> = [];
    try {
      for (let i = 0; i < bytes.length; i += size)
        for (const e of splitter.push(bytes.subarray(i, i + size))) got.push({ text: e.bytes.toString(), canonical: e.canonical });
      splitter.end();
      return got;
    } catch (error) {
      return (error as Error).message;
    }
  };

  it('vouches only for what JSON.stringify writes, and for every number-free text it writes; the boundaries are the unchecked ones', () => {
    let vouched = 0;
    for (let round = 0; round < 20_000; round++) {
      const parts = Array.from({ length: 1 + random(10) }, () => PIECES[random(PIECES.length)]!);
      const text = `[${parts.join('')}]`;
      const bytes = Buffer.from(text);
      const size = [1 + random(9), 10 + random(40), bytes.length][random(3)]!;
      const checked = elementsOf(bytes, size, true);
      const unchecked = elementsOf(bytes, size, false);
      if (typeof checked === 'string') {
        assert.equal(typeof unchecked, 'string', `${text}: ${checked}`);
        continue;
      }
      assert.notEqual(typeof unchecked, 'string', text);
      assert.deepEqual(
        checked.map((e) => e.text),
        (unchecked as typeof checked).map((e) => e.text),
        text,
      );
      for (const element of checked) {
        let rewritten: string | null = null;
        try {
          rewritten = JSON.stringify(JSON.parse(element.text));
        } catch {
          // Not JSON: never vouched for.
        }
        const same = rewritten === element.text;
        if (element.canonical) {
          vouched++;
          assert.ok(same, `${element.text} was vouched for but JSON.stringify writes ${rewritten}`);
        } else if (!/[0-9]/.test(element.text.replace(/"(?:[^"\\]|\\.)*"/g, '""')) && !/"[0-9]+":/.test(element.text)) {
          // Numbers and integer-like keys are never vouched for: JSON.stringify may write them otherwise.
          assert.ok(!same, `${element.text} is JSON.stringify's own but was not vouched for`);
        }
      }
    }
    assert.ok(vouched > 1000, `${vouched} elements vouched for`);
  });
});

describe('splitting a streamed JSON array at document boundaries, for a caller that parses each', () => {
  const split = (text: string | Buffer, size: number) => {
    const bytes = Buffer.from(text);
    const splitter = new RawJsonArraySplitter({ check: false });
    const got: string[] = [];
    for (let i = 0; i < bytes.length; i += size) {
      for (const e of splitter.push(new Uint8Array(bytes.subarray(i, i + size)))) {
        assert.equal(e.canonical, false, 'nothing is vouched for without the check');
        got.push(e.bytes.toString());
      }
    }
    splitter.end();
    return got;
  };

  it('finds the same elements as the checking splitter, backslash runs cut across chunks included', () => {
    const values = [
      { a: 'x\\', b: '\\"', c: '"\\\\"' },
      { d: ['],[{', '}', '{'], e: '\\\\\\"' },
      'q\\\\',
      `${'long text without a quote '.repeat(4)}"${'x'.repeat(60)}`,
      null,
      [[], {}],
    ];
    const elements = [...values.map((v) => JSON.stringify(v)), '{"a": 1.50 }', '{"a":"\\u00e9\\/"}', '{"a":tru}'];
    const text = ` [ ${elements.join(' ,\n')} ]\n`;
    for (let size = 1; size <= 9; size++) assert.deepEqual(split(text, size), elements, `chunks of ${size}`);
    for (const size of [24, 25, 64, text.length]) assert.deepEqual(split(text, size), elements, `chunks of ${size}`);
    assert.deepEqual(split('[]', 1), []);
    const cut = new RawJsonArraySplitter({ check: false });
    cut.push(Buffer.from('[{"a":"b\\'));
    assert.throws(() => cut.end(), /ended before/);
    assert.throws(() => new RawJsonArraySplitter({ check: false }).push(Buffer.from('{"error":"x"}')), /not a JSON array/);
    assert.throws(() => new RawJsonArraySplitter({ check: false }).push(Buffer.from('[{"a":1}}]')), /unexpected }/);
  });
});

describe('the export client against a real Coachport server', () => {
  let server: TestServer;
  let token: string;
  let all: ExportSession[];
  let cwd: string;

  before(async () => {
    server = await startTestServer();
    ({ token } = await server.createOrg());
    cwd = tempDir();
    // Two years, with sessions on the first and last millisecond of window edges and points
    // shared across windows.
    const docs: ExportSession[] = [];
    for (const w of planWindows('2023-01-01', '2024-12-31')) {
      for (const at of [`${w.startDate}T00:00:00.000Z`, `${w.endDate}T23:59:59.999Z`, `${w.startDate}T12:00:00.000Z`]) {
        docs.push(session({ createdAt: at, updatedAt: at, coachNotes: `edge, "${at}"\nline` }));
      }
    }
    for (let i = 1; i < docs.length; i += 3) {
      const shared = point([docs[i]!._id, docs[i + 1]!._id], { subject: 'a,b' });
      docs[i]!.coachingPoints = [shared];
      docs[i + 1]!.coachingPoints = [shared];
      docs[i]!.todos = [todo([docs[i]!._id], { description: '' })];
      docs[i]!.activityLog = [
        {
          userId: 'coach-1',
          userEmail: null,
          actionType: 'created',
          descriptions: ['x, "y"'],
          timestamp: docs[i]!.createdAt,
          ipAddress: null,
        },
      ];
    }
    // Text the server escapes (\u0001) is parsed and written again by the client; the rest is copied as sent.
    docs.push(session({ createdAt: '2024-06-01T00:00:00.000Z', coachNotes: 'ñ "q"\n\t\u0001\u2028 😀 \\ / </script>' }));
    docs.push(session({ createdAt: '2022-12-31T23:59:59.999Z' }), session({ createdAt: '2025-01-01T00:00:00.000Z' }));
    const reply = await server.request('POST', '/api/v1/coaching-sessions/import', { token, body: docs });
    assert.equal(reply.status, 200, reply.text);

    // The server's own answer, window by window.
    all = [];
    for (const w of planWindows('2023-01-01', '2024-12-31')) {
      const page = await server.exportSessions(token, { ...w, timeAxis: 'createdAt' });
      all.push(...(page.json as ExportSession[]));
    }
    assert.equal(all.length, docs.length - 2);
  });
  after(async () => {
    await server.close();
    fs.rmSync(cwd, { recursive: true, force: true });
  });

  const fast = (extra: Partial<ExportClientOptions> = {}) =>
    new ExportClient({ baseUrl: server.url, token, perSecond: 1000, perMinute: 100_000, ...extra });

  it("exports a two-year range equal to the union of the server's windows, nothing lost or repeated", async () => {
    const got = await collect(fast().exportRange({ from: '2023-01-01', to: '2024-12-31', timeAxis: 'createdAt' }));
    assert.deepEqual(got, all);
    assert.equal(new Set(got.map((s) => s._id)).size, got.length);
  });

  const cli = (format: string, out: string, extra: string[] = []) =>
    runCli(
      [
        'export',
        '--url',
        server.url,
        '--from',
        '2023-01-01',
        '--to',
        '2024-12-31',
        '--time-axis',
        'createdAt',
        '--format',
        format,
        '--out',
        out,
        '--per-second',
        '1000',
        '--per-minute',
        '100000',
        ...extra,
      ],
      { cwd, env: { COACHPORT_TOKEN: token } },
    );

  it("coachport export --format json writes one array in the API's shape", async () => {
    const result = await cli('json', 'all.json');
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(JSON.parse(fs.readFileSync(path.join(cwd, 'all.json'), 'utf8')), all);
    assert.match(result.stderr, /window 9\/9/);
  });

  it('coachport export --format ndjson writes one session a line, and with --json says what it wrote', async () => {
    const result = await cli('ndjson', 'all.ndjson', ['--json']);
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(JSON.parse(result.stdout), {
      exported: { sessions: all.length, windows: 9, resumedAfter: 0, format: 'ndjson', out: 'all.ndjson' },
    });
    // And its progress as one JSON object a line on stderr.
    const progress = jsonLines<{ progress: { window: number; totalSessions: number } }>(result.stderr);
    assert.deepEqual(
      progress.map((p) => p.progress.window),
      [1, 2, 3, 4, 5, 6, 7, 8, 9],
    );
    assert.equal(progress.at(-1)!.progress.totalSessions, all.length);
    const lines = fs.readFileSync(path.join(cwd, 'all.ndjson'), 'utf8').trim().split('\n');
    assert.deepEqual(
      lines.map((l) => JSON.parse(l)),
      all,
    );
  });

  it('writes NDJSON and JSON byte for byte as JSON.stringify of each parsed document (the client before SPEC §13)', async () => {
    let raw = '';
    for (const w of planWindows('2023-01-01', '2024-12-31')) {
      raw += (await server.exportSessions(token, { ...w, timeAxis: 'createdAt' })).text;
    }
    assert.ok(raw.includes('\\u0001') && raw.includes('😀'), 'the server escapes the control character, and sends the emoji as it is');
    const previous = all.map((d) => JSON.stringify(d));
    assert.equal((await cli('ndjson', 'same.ndjson')).code, 0);
    assert.equal(fs.readFileSync(path.join(cwd, 'same.ndjson'), 'utf8'), previous.map((t) => `${t}\n`).join(''));
    assert.equal((await cli('json', 'same.json')).code, 0);
    assert.equal(fs.readFileSync(path.join(cwd, 'same.json'), 'utf8'), `[${previous.map((t) => `\n${t}`).join(',')}\n]\n`);
    const range = ['--from', '2023-01-01', '--to', '2024-12-31', '--per-second', '1000', '--per-minute', '100000'];
    const stdout = await runCli(['export', '--url', server.url, ...range, '--format', 'ndjson'], { cwd, env: { COACHPORT_TOKEN: token } });
    assert.equal(stdout.stdout, previous.map((t) => `${t}\n`).join(''));
  });

  it('coachport export --format csv writes tables with each record once and nothing lost', async () => {
    const result = await cli('csv', 'tables');
    assert.equal(result.code, 0, result.stderr);
    const read = (name: string) => parseCsv(fs.readFileSync(path.join(cwd, 'tables', `${name}.csv`), 'utf8'));
    const sessions = read('sessions');
    assert.deepEqual(
      sessions.map((r) => r._id),
      all.map((s) => s._id),
    );
    assert.deepEqual(
      sessions.map((r) => r.coachNotes),
      all.map((s) => s.coachNotes),
    );
    const points = read('coaching_points');
    const uniquePoints = new Map(all.flatMap((s) => s.coachingPoints).map((p) => [p._id, p]));
    assert.deepEqual(points.map((r) => r._id).sort(), [...uniquePoints.keys()].sort());
    assert.equal(
      read('coaching_point_sessions').length,
      [...uniquePoints.values()].reduce((n, p) => n + p.coachingFormIds.length, 0),
    );
    const todos = read('todos');
    assert.equal(todos[0]!.description, '', 'an empty string stays an empty string');
    assert.equal(todos[0]!.completedAt, null, 'null stays null');
    assert.equal(read('activity_log')[0]!.descriptions, '["x, \\"y\\""]');
    assert.ok(!fs.existsSync(path.join(cwd, 'tables', '.coachport-export.json')), 'no resume state is left after success');
  });

  it('says the token is wrong, with its own exit code, and leaves --out and standard output as they were', async () => {
    const args = ['export', '--url', server.url, '--from', '2024-01-01', '--to', '2024-01-02', '--token', 'cp_wrong'];
    fs.writeFileSync(path.join(cwd, 'x.json'), '{"precious":1}');
    for (const format of ['json', 'ndjson']) {
      const result = await runCli([...args, '--format', format, '--out', 'x.json'], { cwd });
      assert.equal(result.code, 3);
      assert.match(result.stderr, /API token was refused \(401\)/);
      assert.equal(fs.readFileSync(path.join(cwd, 'x.json'), 'utf8'), '{"precious":1}', format);
    }
    const toStdout = await runCli(args, { cwd });
    assert.deepEqual([toStdout.code, toStdout.stdout], [3, '']);
    fs.mkdirSync(path.join(cwd, 'kept-tables'), { recursive: true });
    fs.writeFileSync(path.join(cwd, 'kept-tables', 'sessions.csv'), 'precious\r\n');
    const csv = await runCli([...args, '--format', 'csv', '--out', 'kept-tables'], { cwd });
    assert.equal(csv.code, 3);
    assert.deepEqual(fs.readdirSync(path.join(cwd, 'kept-tables')), ['sessions.csv']);
    assert.equal(fs.readFileSync(path.join(cwd, 'kept-tables', 'sessions.csv'), 'utf8'), 'precious\r\n');
    // No folder is made for an export that never wrote.
    for (const [format, out] of [
      ['csv', 'new-tables'],
      ['json', 'new-folder/x.json'],
    ]) {
      assert.equal((await runCli([...args, '--format', format!, '--out', out!], { cwd })).code, 3);
      assert.ok(!fs.existsSync(path.join(cwd, out!.split('/')[0]!)), `${out} made`);
    }
  });

  it('leaves standard output an unclosed array when the export fails after a window, and no spool folder behind', async () => {
    const first = session({ createdAt: '2024-01-01T08:00:00.000Z' });
    const fault = await startFaultServer((_req, res, call) =>
      call === 1 ? json(res, 200, [first]) : json(res, 403, { error: 'This token may not export.' }),
    );
    const tmp = tempDir();
    try {
      const args = ['export', '--url', fault.url, '--from', '2024-01-01', '--to', '2024-04-30', '--token', token, '--per-second', '1000'];
      const result = await runCli(args, { cwd, env: { TMPDIR: tmp } });
      assert.equal(result.code, 3, result.stderr);
      assert.equal(result.stdout, `[\n${JSON.stringify(first)}`, 'the first window, and no closing bracket');
      assert.throws(() => JSON.parse(result.stdout));
      assert.deepEqual(fs.readdirSync(tmp), []);
    } finally {
      await fault.close();
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });

  it('removes its spool folder when the reader of standard output goes away (exit 141)', async () => {
    const docs = Array.from({ length: 2000 }, (_, i) => session({ createdAt: '2024-01-01T08:00:00.000Z', coachNotes: `n${i}`.repeat(50) }));
    const fault = await startFaultServer((_req, res) => json(res, 200, docs));
    const tmp = tempDir();
    try {
      const args = [
        BIN,
        'export',
        '--url',
        fault.url,
        '--from',
        '2024-01-01',
        '--to',
        '2024-01-01',
        '--token',
        token,
        '--format',
        'ndjson',
      ];
      const child = spawn(process.execPath, args, { cwd, env: { ...process.env, TMPDIR: tmp }, stdio: ['ignore', 'pipe', 'ignore'] });
      // The reader takes the first bytes of a 2 MB export and goes away, like `| head -c 100`.
      child.stdout.once('data', () => child.stdout.destroy());
      const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
      assert.equal(code, 141);
      assert.deepEqual(fs.readdirSync(tmp), [], 'no spool folder is left');
    } finally {
      await fault.close();
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });

  it("shows the server's 400 message and names an unreachable server", async () => {
    const bad = await runCli(['export', '--url', server.url, '--from', '2024-02-30', '--to', '2024-03-01', '--token', token], { cwd });
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--from must be a calendar day/);
    const port = await closedPort();
    const nowhere = await runCli(
      ['export', '--url', `http://127.0.0.1:${port}`, '--from', '2024-01-01', '--to', '2024-01-01', '--token', token, '--out', 'n.json'],
      { cwd },
    );
    assert.equal(nowhere.code, 4);
    assert.match(nowhere.stderr, new RegExp(`Cannot reach http://127\\.0\\.0\\.1:${port}/`));
  });

  it('refuses a --url with credentials, an address that is not one and an --out it cannot write, before asking anything', async () => {
    const port = await closedPort();
    const days = ['--from', '2024-01-01', '--to', '2024-01-01', '--token', token];
    fs.mkdirSync(path.join(cwd, 'a-folder'), { recursive: true });
    fs.writeFileSync(path.join(cwd, 'a-file'), '');
    const cases: Array<[string[], RegExp]> = [
      [['--url', `http://admin:cp_IN_URL@127.0.0.1:${port}`, '--out', 'c.json'], /--url must not hold a user name or password/],
      [['--url', `127.0.0.1:${port}`], /--url must be the http:\/\/ or https:\/\/ address of a server/],
      [['--url', server.url, '--out', 'a-folder'], /--out a-folder is a folder: --format json writes one file/],
      [['--url', server.url, '--format', 'csv', '--out', 'a-file'], /--out a-file is a file: --format csv writes a folder/],
      [['--url', server.url, '--per-second', '0'], /--per-second must be a positive whole number/],
      [['--url', server.url, '--out', 'a-file/x.json'], /Cannot write to --out a-file\/x\.json: (ENOTDIR|EEXIST)/],
    ];
    for (const [args, message] of cases) {
      const result = await runCli(['export', ...days, ...args], { cwd });
      assert.equal(result.code, 2, result.stderr);
      assert.match(result.stderr, message);
      assert.ok(!result.stderr.includes('cp_IN_URL') && !result.stderr.includes(token), result.stderr);
    }
    const reversed = await runCli(['export', '--url', server.url, '--from', '2024-02-01', '--to', '2024-01-01', '--token', token], { cwd });
    assert.match(reversed.stderr, /--to \(2024-01-01\) is before --from \(2024-02-01\)/);
    // A file's missing folders are made, as a CSV folder is.
    const nested = await runCli(['export', '--url', server.url, ...days, '--out', 'new/deeper/all.json'], { cwd });
    assert.equal(nested.code, 0, nested.stderr);
    assert.deepEqual(JSON.parse(fs.readFileSync(path.join(cwd, 'new', 'deeper', 'all.json'), 'utf8')), []);
  });
});

describe('the export client against a server that misbehaves', () => {
  const window = { from: '2024-01-01', to: '2024-01-05', timeAxis: 'createdAt' as const };
  const one = session({ createdAt: '2024-01-02T00:00:00.000Z' });
  const options = (url: string, clock: VirtualClock, extra: Partial<ExportClientOptions> = {}): ExportClientOptions => ({
    baseUrl: url,
    token: 'cp_test',
    clock,
    retry: { maxAttempts: 4, baseDelayMs: 100, maxDelayMs: 1_000 },
    idleTimeoutMs: 300,
    ...extra,
  });

  it('honours Retry-After on 429 instead of hammering', async () => {
    const clock = new VirtualClock();
    const server = await startFaultServer((_req, res, call) =>
      call <= 2 ? json(res, 429, { error: 'Too many requests in the past minute.' }, { 'retry-after': '7' }) : json(res, 200, [one]),
    );
    try {
      const got = await collect(new ExportClient(options(server.url, clock)).exportRange(window));
      assert.deepEqual(got, [one]);
      assert.equal(server.seen.length, 3);
      assert.equal(clock.sleeps.filter((ms) => ms === 7_000).length, 2, 'waited the 7 s it was told, twice');
      assert.equal(server.seen[0]!.headers.apitoken, 'cp_test');
    } finally {
      await server.close();
    }
  });

  it('waits out a 503 with Retry-After (a busy server) as told, beyond the attempts a failure has', async () => {
    const clock = new VirtualClock();
    const busy = { error: 'Too many exports are running; try again shortly.' };
    const server = await startFaultServer((_req, res, call) =>
      call <= 5 ? json(res, 503, busy, { 'retry-after': '3' }) : json(res, 200, [one]),
    );
    try {
      // Four attempts for failures (options above); five busy answers are waited out all the same.
      const got = await collect(new ExportClient(options(server.url, clock)).exportRange(window));
      assert.deepEqual(got, [one]);
      assert.equal(server.seen.length, 6);
      assert.equal(clock.sleeps.filter((ms) => ms === 3_000).length, 5, 'waited the 3 s it was told, each time');
    } finally {
      await server.close();
    }
  });

  it('reads a server address with or without a path, or with the API’s own root', () => {
    const cases: Array<[string, string]> = [
      ['http://h:3000', 'http://h:3000/api/v1/coaching-sessions'],
      ['http://h:3000/', 'http://h:3000/api/v1/coaching-sessions'],
      ['https://h/coaching', 'https://h/coaching/api/v1/coaching-sessions'],
      ['https://h/coaching/', 'https://h/coaching/api/v1/coaching-sessions'],
      ['https://h/api/v1', 'https://h/api/v1/coaching-sessions'],
      ['https://h/coaching/api/v1/', 'https://h/coaching/api/v1/coaching-sessions'],
    ];
    for (const [base, url] of cases) assert.equal(apiUrl(base, 'coaching-sessions').toString(), url, base);
  });

  it('keeps the path of a server behind a proxy, and asks the change feed there too', async () => {
    const clock = new VirtualClock();
    const server = await startFaultServer((req, res) =>
      req.url.includes('/changes') ? json(res, 404, { error: 'none' }) : json(res, 200, [one]),
    );
    try {
      for (const base of [`${server.url}/coaching`, `${server.url}/coaching/`]) {
        const client = new ExportClient(options(base, clock));
        assert.deepEqual(await collect(client.exportRange(window)), [one]);
        await client.changes(null, 10).catch(() => undefined);
      }
      const paths = server.seen.map((r) => r.url.split('?')[0]);
      assert.deepEqual([...new Set(paths)], ['/coaching/api/v1/coaching-sessions', '/coaching/api/v1/coaching-sessions/changes']);
      assert.equal(paths.filter((p) => p === '/coaching/api/v1/coaching-sessions').length, 2, 'one export a base');
    } finally {
      await server.close();
    }
  });

  it('spaces its calls to 1 a second and 30 a minute', async () => {
    const clock = new VirtualClock();
    const times: number[] = [];
    const server = await startFaultServer((_req, res) => {
      times.push(clock.now());
      json(res, 200, []);
    });
    try {
      await collect(
        new ExportClient(options(server.url, clock)).exportRange({ from: '2015-01-01', to: '2024-12-31', timeAxis: 'createdAt' }),
      );
      assert.ok(times.length > 31);
      for (let i = 1; i < times.length; i++) assert.ok(times[i]! - times[i - 1]! >= 1000, 'one a second');
      for (let i = 30; i < times.length; i++) assert.ok(times[i]! - times[i - 30]! >= 60_000, 'thirty a minute');
    } finally {
      await server.close();
    }
  });

  it('counts a call from when its answer began, so a slow first arrival does not make the next one too early', async () => {
    // Each request reaches the server 40 ms after it was sent, the first 250 ms after (a cold server):
    // counted from sending, the second call would arrive 790 ms after the first in the server's window.
    const clock = new VirtualClock();
    const arrivals: number[] = [];
    const server = await startFaultServer((_req, res, call) => {
      clock.time += call === 1 ? 250 : 40;
      arrivals.push(clock.now());
      json(res, 200, []);
    });
    try {
      const retries: unknown[] = [];
      const onEvent = (event: { type: string }) => event.type === 'retry' && retries.push(event);
      await collect(
        new ExportClient(options(server.url, clock, { onEvent })).exportRange({
          from: '2024-01-01',
          to: '2024-12-31',
          timeAxis: 'createdAt',
        }),
      );
      assert.equal(arrivals.length, 5);
      for (let i = 1; i < arrivals.length; i++) assert.ok(arrivals[i]! - arrivals[i - 1]! >= 1000, `call ${i + 1} a second after`);
      assert.deepEqual(retries, []);
    } finally {
      await server.close();
    }
  });

  it('retries 500s with growing, jittered, bounded back-off, then succeeds', async () => {
    // Five failures, then an answer; 20 runs. The delays come from the client's own retry reports, apart from pacing.
    // Caps 100, 200, 400, 800 (then bounded at 1,000): a client with no back-off, a fixed one, one that does
    // not grow or one past the bound fails below; random chance passing a broken client is below 1e-20.
    const runs: number[][] = [];
    for (let run = 0; run < 20; run++) {
      const clock = new VirtualClock();
      const server = await startFaultServer((_req, res, call) =>
        call <= 5 ? json(res, 500, { error: 'Internal server error.' }) : json(res, 200, [one]),
      );
      const delays: number[] = [];
      const onEvent = (event: { type: string; delayMs?: number }) => {
        if (event.type === 'retry') delays.push(event.delayMs!);
      };
      try {
        const client = new ExportClient(
          options(server.url, clock, { onEvent, retry: { maxAttempts: 6, baseDelayMs: 100, maxDelayMs: 1_000 } }),
        );
        assert.deepEqual(await collect(client.exportRange(window)), [one]);
        assert.equal(server.seen.length, 6);
        assert.equal(delays.length, 5);
        runs.push(delays);
      } finally {
        await server.close();
      }
    }
    const caps = [100, 200, 400, 800, 1_000];
    for (const delays of runs) {
      for (const [i, ms] of delays.entries()) assert.ok(ms >= 0 && ms <= caps[i]!, `retry ${i + 1} waited ${ms} ms, cap ${caps[i]}`);
    }
    const at = (i: number) => runs.map((delays) => delays[i]!);
    assert.ok(Math.max(...at(4)) > caps[0]! && Math.max(...at(3)) > caps[1]!, 'the back-off grows past the first caps');
    for (let i = 0; i < caps.length; i++) assert.ok(new Set(at(i)).size > 1, `retry ${i + 1} is jittered`);
  });

  it('opens a spool file only for a response it reads, and removes the one of a response cut short', async () => {
    // Before, each refused attempt opened (and truncated) the window's one spool file and never closed it: a
    // late truncation could empty the file after the answer that succeeded had been written to it.
    const clock = new VirtualClock();
    const spoolDir = tempDir('spool');
    const server = await startFaultServer((_req, res, call) => {
      if (call <= 2) return json(res, 500, { error: 'Internal server error.' });
      if (call === 3) {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.write(`[${JSON.stringify(one)},`);
        setTimeout(() => res.socket?.destroy(), 20);
        return;
      }
      json(res, 200, [one]);
    });
    const openSpools = () =>
      fs.readdirSync('/proc/self/fd').filter((fd) => {
        try {
          return fs.readlinkSync(`/proc/self/fd/${fd}`).startsWith(spoolDir);
        } catch {
          return false;
        }
      });
    try {
      const client = new ExportClient(options(server.url, clock, { spoolDir }));
      for await (const completed of client.exportWindows(window)) {
        assert.deepEqual(await collect(completed.sessions()), [one]);
        const [exportDir] = fs.readdirSync(spoolDir);
        const spools = () => fs.readdirSync(path.join(spoolDir, exportDir!));
        await pollUntil(() => openSpools().length === 0 && spools().length === 1, 'the spool files closed, the cut one removed');
        assert.deepEqual(spools(), ['window-0-2.ndjson'], 'only the answer read whole is kept');
      }
      assert.equal(server.seen.length, 4);
      assert.deepEqual(fs.readdirSync(spoolDir), []);
    } finally {
      await server.close();
      fs.rmSync(spoolDir, { recursive: true, force: true });
    }
  });

  it("gives up after the last attempt with the server's message", async () => {
    const clock = new VirtualClock();
    const server = await startFaultServer((_req, res) =>
      json(res, 503, { error: 'The service is temporarily unavailable; try again shortly.' }),
    );
    try {
      await assert.rejects(collect(new ExportClient(options(server.url, clock)).exportRange(window)), (error: ExportApiError) => {
        assert.equal(error.kind, 'server');
        assert.match(error.message, /503: The service is temporarily unavailable/);
        return true;
      });
      assert.equal(server.seen.length, 4);
    } finally {
      await server.close();
    }
  });

  it('fetches a window again when the connection resets mid-body, and delivers it once', async () => {
    const clock = new VirtualClock();
    const two = session({ createdAt: '2024-01-03T00:00:00.000Z' });
    const server = await startFaultServer((_req, res, call) => {
      if (call === 1) {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.write(`[${JSON.stringify(one)},`);
        setTimeout(() => res.socket?.destroy(), 20);
      } else json(res, 200, [one, two]);
    });
    try {
      const got = await collect(new ExportClient(options(server.url, clock)).exportRange(window));
      assert.deepEqual(
        got.map((s) => s._id),
        [one._id, two._id],
      );
      assert.equal(server.seen.length, 2);
    } finally {
      await server.close();
    }
  });

  it('does not follow a redirect, which would take the token along, and says where it points (or refuses one it cannot read)', async () => {
    const server = await startFaultServer((_req, res) => {
      res.writeHead(308, { location: 'https://export.example.test/api/v1/coaching-sessions' });
      res.end();
    });
    try {
      await assert.rejects(
        collect(new ExportClient(options(server.url, new VirtualClock())).exportRange(window)),
        (error: ExportApiError) => {
          assert.equal(error.kind, 'bad_request');
          assert.match(
            error.message,
            /answered 308, sending the request to https:\/\/export\.example\.test: give that address as the server's \(--url/,
          );
          return true;
        },
      );
      assert.equal(server.seen.length, 1);
    } finally {
      await server.close();
    }
    const badLocation = await startFaultServer((_req, res) => {
      res.writeHead(302, { location: 'http://[not-a-host' });
      res.end();
    });
    try {
      await assert.rejects(
        collect(new ExportClient(options(badLocation.url, new VirtualClock())).exportRange(window)),
        (error: ExportApiError) => error.kind === 'bad_request' && /refused the request \(302\)/.test(error.message),
      );
    } finally {
      await badLocation.close();
    }
  });

  it('undoes gzip, and fetches a window again when its gzip is cut short', async () => {
    const clock = new VirtualClock();
    const two = session({ createdAt: '2024-01-03T00:00:00.000Z', coachNotes: 'ü😀'.repeat(5_000) });
    const packed = zlib.gzipSync(JSON.stringify([one, two]));
    const server = await startFaultServer((_req, res, call) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip' });
      if (call === 1) {
        res.write(packed.subarray(0, packed.length >> 1));
        setTimeout(() => res.socket?.destroy(), 20);
      } else res.end(packed);
    });
    try {
      const got = await collect(new ExportClient(options(server.url, clock, { gzip: true })).exportRange(window));
      assert.deepEqual(got, [one, two]);
      assert.equal(server.seen.length, 2);
      assert.match(String(server.seen[0]!.headers['accept-encoding']), /gzip/);
    } finally {
      await server.close();
    }
  });

  it('coachport export writes each file whole when a window is cut short and fetched again, U+2028 in text included', async () => {
    const two = session({ createdAt: '2024-01-03T00:00:00.000Z', coachNotes: 'line\u2028separator\u2029' });
    const shared = point([one._id, two._id]);
    const docs = [
      { ...one, coachingPoints: [shared] },
      { ...two, coachingPoints: [shared] },
    ];
    const server = await startFaultServer((_req, res, call) => {
      // Each export's first answer stops in the middle of the second session.
      if (call % 2 === 1) {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.write(`[${JSON.stringify(docs[0])},${JSON.stringify(docs[1]).slice(0, 60)}`);
        setTimeout(() => res.socket?.destroy(), 20);
      } else json(res, 200, docs);
    });
    const cwd = tempDir();
    try {
      const run = async (format: string, out: string, extra: string[] = []) => {
        const args = ['--from', '2024-01-01', '--to', '2024-01-05', '--per-second', '1000', '--per-minute', '100000', '--token', 'cp_test'];
        const result = await runCli(['export', '--url', server.url, ...args, '--format', format, '--out', out, ...extra], { cwd });
        assert.equal(result.code, 0, result.stderr);
        assert.match(result.stderr, /retrying/);
      };
      await run('ndjson', 'x.ndjson');
      assert.equal(fs.readFileSync(path.join(cwd, 'x.ndjson'), 'utf8'), docs.map((d) => `${JSON.stringify(d)}\n`).join(''));
      await run('json', 'x.json');
      assert.deepEqual(JSON.parse(fs.readFileSync(path.join(cwd, 'x.json'), 'utf8')), docs);
      await run('csv', 'tables');
      const read = (name: string) => parseCsv(fs.readFileSync(path.join(cwd, 'tables', `${name}.csv`), 'utf8'));
      assert.deepEqual(
        read('sessions').map((r) => [r._id, r.coachNotes]),
        docs.map((d) => [d._id, d.coachNotes]),
      );
      // The shared point was met in the discarded attempt too; it is written once, after the retry.
      assert.deepEqual(
        read('coaching_points').map((r) => r._id),
        [shared._id],
      );
      assert.equal(read('coaching_point_sessions').length, 2);
      // A server on this machine is asked for the export plain: there is no network to spare.
      assert.deepEqual(new Set(server.seen.map((r) => r.headers['accept-encoding'])), new Set(['identity']));
      await run('ndjson', 'z.ndjson', ['--gzip']);
      assert.match(String(server.seen.at(-1)!.headers['accept-encoding']), /gzip/);
    } finally {
      await server.close();
      fs.rmSync(cwd, { recursive: true, force: true });
    }
  });

  it('abandons a response that stops sending, and says so', async () => {
    const clock = new VirtualClock();
    const server = await startFaultServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('[');
    });
    try {
      await assert.rejects(
        collect(new ExportClient(options(server.url, clock, { retry: { maxAttempts: 2 } })).exportRange(window)),
        (error: ExportApiError) => {
          assert.equal(error.kind, 'network');
          assert.match(error.message, /stopped sending \(no data for 300 ms\)/);
          return true;
        },
      );
      assert.equal(server.seen.length, 2);
    } finally {
      await server.close();
    }
  });

  it("writes CSV from JSON in any form as from JSON.stringify's, parsing each document once, and refuses malformed text", async () => {
    const two = session({ createdAt: '2024-01-03T00:00:00.000Z', coachNotes: '=é "q", \\ / \r\n\u2028', agentNotes: '' });
    const docs = [one, two];
    const canonical = JSON.stringify(docs);
    // The same documents as another server may write them: spaces, line breaks, \u and \/ escapes.
    const other = JSON.stringify(docs, null, 1).replaceAll('é', '\\u00e9').replaceAll('/', '\\/');
    const notUtf8 = Buffer.concat([Buffer.from('[{"_id":"'), Buffer.from([0xff]), Buffer.from('"}]')]);
    const bodies: Record<string, Buffer> = {
      canonical: Buffer.from(canonical),
      other: Buffer.from(other),
      malformed: Buffer.from('[{"_id": oops}]'),
      'not-utf8': notUtf8,
    };
    let body = '';
    const server = await startFaultServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(bodies[body]);
    });
    const cwd = tempDir();
    // On this thread, as on one core, and on threads that take the response's bytes, as `coachport export` on more.
    const exportCsv = async (name: string, threads = 0) => {
      body = name;
      const writer = new CsvWriter(path.join(cwd, `${name}-${threads}`), null, {}, { threads });
      const client = new ExportClient(options(server.url, new VirtualClock(), { retry: { maxAttempts: 1 } }));
      const sink = {
        text: (json: Uint8Array) => writer.writeText(json),
        discard: () => writer.discard(),
        parses: writer.parsesText,
        writeLeading: (bytes: Buffer, at: number) => writer.writeLeading!(bytes, at),
        response: writer.response,
      };
      try {
        for await (const _ of client.exportWindowsInto(window, sink)) writer.commit();
      } finally {
        writer.finish({ interrupted: false });
      }
      return Object.fromEntries(TABLE_NAMES.map((t) => [t, fs.readFileSync(writer.fileOf(t), 'utf8')]));
    };
    try {
      const fromCanonical = await exportCsv('canonical');
      const rows = tableRows(docs);
      for (const t of TABLE_NAMES) assert.equal(fromCanonical[t], csvRow(TABLES[t]) + rows[t].map((r) => csvRow(r)).join(''), t);
      assert.match(fromCanonical.sessions!, /"'=é ""q"", \\ \/ \r\n\u2028",""/);
      assert.deepEqual(await exportCsv('other'), fromCanonical);
      assert.deepEqual(await exportCsv('canonical', 2), fromCanonical);
      assert.deepEqual(await exportCsv('other', 2), fromCanonical);
      for (const threads of [0, 2]) {
        for (const name of ['malformed', 'not-utf8']) {
          await assert.rejects(exportCsv(name, threads), (error: ExportApiError) => {
            assert.equal(error.kind, 'protocol');
            assert.match(error.message, /sent a malformed response/);
            return true;
          });
        }
      }
    } finally {
      await server.close();
      fs.rmSync(cwd, { recursive: true, force: true });
    }
  });

  it("gives a plain response's memory back chunk by chunk to a sink that copies, and writes the same NDJSON", async () => {
    // 600 documents (a few MB) in writes of uneven sizes, so the socket's reads cut documents anywhere.
    const docs = Array.from({ length: 600 }, (_, i) => ({ ...one, _id: `doc-${i}`, coachNotes: 'é'.repeat((i * 37) % 9_000) }));
    const body = Buffer.from(`[${docs.map((doc) => JSON.stringify(doc)).join(',')}]`);
    const server = await startFaultServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      writeUnevenly(res, body, 200_000);
    });
    const given = Object.getOwnPropertyDescriptor(ArrayBuffer.prototype, 'transfer')!;
    const dir = tempDir('coachport-copies-');
    try {
      const exportInto = async (file: string, copies: boolean) => {
        let givenBack = 0;
        Object.defineProperty(ArrayBuffer.prototype, 'transfer', {
          ...given,
          value(this: ArrayBuffer, length?: number) {
            if (length === 0) givenBack += this.byteLength;
            return (given.value as (length?: number) => ArrayBuffer).call(this, length);
          },
        });
        try {
          const writer = new JsonWriter(file, true, null);
          const client = new ExportClient(options(server.url, new VirtualClock(), { gzip: false }));
          const sink = { text: writer.writeText.bind(writer), discard: writer.discard.bind(writer), copies };
          for await (const _ of client.exportWindowsInto(window, sink)) writer.commit();
          writer.finish({ interrupted: false });
        } finally {
          Object.defineProperty(ArrayBuffer.prototype, 'transfer', given);
        }
        return givenBack;
      };
      const expected = docs.map((doc) => `${JSON.stringify(doc)}\n`).join('');
      const copied = await exportInto(path.join(dir, 'copied.ndjson'), true);
      assert.equal(fs.readFileSync(path.join(dir, 'copied.ndjson'), 'utf8'), expected);
      // All but memory shared with other buffers (Node's pool) and the last read's, given back with the end.
      assert.ok(copied > body.length / 2, `${copied} of ${body.length} bytes' memory given back`);
      assert.equal(await exportInto(path.join(dir, 'kept.ndjson'), false), 0, 'a sink that may keep views keeps the memory too');
      assert.equal(fs.readFileSync(path.join(dir, 'kept.ndjson'), 'utf8'), expected);
    } finally {
      await server.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('does not count the time its own sink holds the answer back as the server being silent', async () => {
    // The second document comes 250 ms after the first, while the sink is still busy with that one, and ends at 600 ms.
    const server = await startFaultServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write(`[${JSON.stringify(one)},`);
      setTimeout(() => res.write(JSON.stringify({ ...one, _id: 'second' })), 250);
      setTimeout(() => res.end(']'), 600);
    });
    try {
      // The idle timeout is 300 ms; the sink takes 500 ms over a document, as an import's busy writer may.
      const client = new ExportClient(options(server.url, new VirtualClock()));
      const received: string[] = [];
      const sink = {
        text: async (bytes: Uint8Array) => {
          received.push((JSON.parse(Buffer.from(bytes).toString('utf8')) as { _id: string })._id);
          await new Promise((resolve) => setTimeout(resolve, 500));
        },
        discard: () => received.splice(0),
      };
      for await (const _ of client.exportWindowsInto(window, sink));
      assert.deepEqual(received, [one._id, 'second']);
      assert.equal(server.seen.length, 1, 'asked once: no window abandoned and fetched again');
    } finally {
      await server.close();
    }
  });

  it('reports malformed JSON clearly', async () => {
    const clock = new VirtualClock();
    const server = await startFaultServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('[{"_id": oops}]');
    });
    try {
      await assert.rejects(
        collect(new ExportClient(options(server.url, clock, { retry: { maxAttempts: 1 } })).exportRange(window)),
        (error: ExportApiError) => {
          assert.equal(error.kind, 'protocol');
          assert.match(error.message, /sent a malformed response/);
          return true;
        },
      );
    } finally {
      await server.close();
    }
  });

  it('leaves no abort listener behind a wait that ran out (sync --watch waits thousands of times on one signal)', async () => {
    const controller = new AbortController();
    for (let i = 0; i < 20; i++) await realClock.sleep(1, controller.signal);
    assert.equal(getEventListeners(controller.signal, 'abort').length, 0);
    const stopped = realClock.sleep(60_000, controller.signal);
    controller.abort(new Error('stopped'));
    await assert.rejects(stopped, /stopped/);
  });

  it('asks for no further window once stopped between two, while nothing was waiting', async () => {
    const server = await startFaultServer((_req, res) => json(res, 200, [one]));
    try {
      const controller = new AbortController();
      const client = new ExportClient(
        options(server.url, new VirtualClock(), { perSecond: 1_000, perMinute: 100_000, signal: controller.signal }),
      );
      const windows = client.exportWindows({ from: '2024-01-01', to: '2024-12-31', timeAxis: 'createdAt' });
      assert.equal((await windows.next()).done, false);
      // Ctrl-C while the first window is being written out, before the next is asked for.
      controller.abort(new Error('stopped between windows'));
      await assert.rejects(windows.next(), /stopped between windows/);
      assert.equal(server.seen.length, 1);
    } finally {
      await server.close();
    }
  });

  it('does not retry a refused token', async () => {
    const server = await startFaultServer((_req, res) => json(res, 401, { error: 'The API token is not valid.' }));
    try {
      await assert.rejects(collect(new ExportClient(options(server.url, new VirtualClock())).exportRange(window)), /API token was refused/);
      assert.equal(server.seen.length, 1);
    } finally {
      await server.close();
    }
  });
});

describe('coachport export whose output cannot be written', () => {
  it('says so with exit 1 and asks the server once: a full disk is not the server failing', async () => {
    const docs = [session({ createdAt: '2020-01-02T08:00:00.000Z' })];
    const server = await startFaultServer((_req, res) => json(res, 200, docs));
    try {
      // /dev/full refuses every write (ENOSPC), and the file's preparation (EINVAL) before it.
      const args = ['export', '--url', server.url, '--token', 't', '--from', '2020-01-01', '--to', '2020-01-31'];
      for (const format of ['ndjson', 'json']) {
        const result = await runCli([...args, '--format', format, '--out', '/dev/full'], { cwd: tempDir() });
        assert.equal(result.code, 1, result.stderr);
        assert.match(result.stderr, /Cannot write the export: E[A-Z]+/);
      }
      assert.equal(server.seen.length, 2, 'one request for each, none retried');
    } finally {
      await server.close();
    }
  });
});

describe('coachport export --resume', () => {
  it('continues an interrupted export from the last completed window without repeating rows', async () => {
    const server = await startTestServer();
    const cwd = tempDir();
    let stall: Awaited<ReturnType<typeof startFaultServer>> | undefined;
    try {
      const { token } = await server.createOrg();
      const docs = planWindows('2020-01-01', '2020-12-31').map((w) => session({ createdAt: `${w.startDate}T08:00:00.000Z` }));
      assert.equal((await server.request('POST', '/api/v1/coaching-sessions/import', { token, body: docs })).status, 200);
      // The third window never answers; the export is interrupted while it waits.
      let stalling = true;
      stall = await startFaultServer(async (req, res) => {
        if (stalling && req.body.startDate >= '2020-05-30') return;
        const upstream = await fetch(`${server.url}/api/v1/coaching-sessions`, {
          method: 'POST',
          headers: { apiToken: token, 'content-type': 'application/json' },
          body: JSON.stringify(req.body),
        });
        res.writeHead(upstream.status, { 'content-type': 'application/json' });
        res.end(await upstream.text());
      });
      const args = [
        'export',
        '--from',
        '2020-01-01',
        '--to',
        '2020-12-31',
        '--format',
        'csv',
        '--out',
        'out',
        '--per-second',
        '1000',
        '--per-minute',
        '100000',
        '--token',
        token,
      ];
      const { spawn } = await import('node:child_process');
      const { BIN } = await import('./helpers/processes.js');
      const child = spawn(process.execPath, [BIN, ...args, '--url', stall.url], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      await pollUntil(() => stall!.seen.length >= 3, 'the third window request').catch((error) => {
        child.kill('SIGKILL');
        throw new Error(`${(error as Error).message}; the export said: ${stderr}`);
      });
      const code = await new Promise<number | null>((resolve) => {
        child.once('exit', resolve);
        child.kill('SIGINT');
      });
      assert.equal(code, 130, stderr);
      assert.match(stderr, /Interrupted after 2 of 5 windows/);
      const partial = parseCsv(fs.readFileSync(path.join(cwd, 'out', 'sessions.csv'), 'utf8'));
      assert.deepEqual(
        partial.map((r) => r._id),
        docs.slice(0, 2).map((d) => d._id),
      );

      const elsewhere = await runCli([...args, '--url', server.url, '--resume'], { cwd });
      assert.equal(elsewhere.code, 2, 'a resume against another server is refused');
      assert.match(elsewhere.stderr, /had --url/);
      stalling = false;
      // A table cut shorter (or gone) since cannot be continued: refused, nothing written.
      const table = path.join(cwd, 'out', 'sessions.csv');
      const kept = fs.readFileSync(table);
      fs.truncateSync(table, 10);
      const cut = await runCli([...args, '--url', stall.url, '--resume'], { cwd });
      assert.equal(cut.code, 2, cut.stderr);
      assert.match(
        cut.stderr,
        /sessions\.csv holds 10 bytes, fewer than the \d+ the interrupted export wrote, so the export cannot be continued/,
      );
      fs.rmSync(table);
      const gone = await runCli([...args, '--url', stall.url, '--resume'], { cwd });
      assert.equal(gone.code, 2, gone.stderr);
      assert.match(gone.stderr, /sessions\.csv is gone/);
      assert.ok(!fs.existsSync(table), 'the refused resume wrote nothing');
      fs.writeFileSync(table, kept);
      // --out spelt otherwise (its full path): the same folder, continued, not begun again.
      const spelt = args.map((arg) => (arg === 'out' ? path.join(cwd, 'out') : arg));
      const resumed = await runCli([...spelt, '--url', stall.url, '--resume'], { cwd });
      assert.equal(resumed.code, 0, resumed.stderr);
      const full = parseCsv(fs.readFileSync(path.join(cwd, 'out', 'sessions.csv'), 'utf8'));
      assert.deepEqual(
        full.map((r) => r._id),
        docs.map((d) => d._id),
      );
    } finally {
      await stall?.close();
      await server.close();
      fs.rmSync(cwd, { recursive: true, force: true });
    }
  });
});

/** RFC 4180 back into records; unquoted empty is null, quoted empty is "". */
function parseCsv(text: string): Array<Record<string, string | null>> {
  const rows: Array<Array<string | null>> = [];
  let row: Array<string | null> = [];
  let i = 0;
  while (i < text.length) {
    let value: string | null;
    if (text[i] === '"') {
      value = '';
      i++;
      for (;;) {
        const q = text.indexOf('"', i);
        value += text.slice(i, q);
        i = q + 1;
        if (text[i] === '"') {
          value += '"';
          i++;
        } else break;
      }
    } else {
      const rest = text.slice(i);
      const end = rest.search(/,|\r\n/);
      value = rest.slice(0, end) === '' ? null : rest.slice(0, end);
      i += end;
    }
    row.push(value);
    if (text.startsWith('\r\n', i)) {
      rows.push(row);
      row = [];
      i += 2;
    } else i++;
  }
  const [header, ...records] = rows;
  return records.map((r) => Object.fromEntries(header!.map((h, k) => [h!, r[k] ?? null])));
}

describe('coachport export of a seeded server, run as a person runs it', () => {
  it('writes CSV of 8,000 sessions to the end while its writer threads hold the response back', async () => {
    const cwd = tempDir();
    const created = await runCli(['org', 'create', '--name', 'Seeded', '--admin-email', 'a@seeded.test'], { cwd });
    assert.equal(created.code, 0, created.stderr);
    const token = /cp_[A-Za-z0-9_-]+/.exec(created.stdout + created.stderr)![0];
    const seeded = await runCli(['seed', '--sessions', '8000', '--days', '89', '--end', '2025-03-31'], { cwd });
    assert.equal(seeded.code, 0, seeded.stderr);
    const serve = await startServe({ cwd });
    try {
      // Enough for the CSV threads to hold the response back: with nothing keeping the process
      // alive meanwhile, it once ended mid-export with exit code 13 (an unsettled top-level await).
      // No pipes to it, as from a terminal sent to files: an open pipe would keep it alive.
      const args = [
        'export',
        '--url',
        serve.url,
        '--token',
        token,
        '--from',
        '2025-01-01',
        '--to',
        '2025-03-31',
        '--format',
        'csv',
        '--out',
        'tables',
      ];
      const child = spawn(process.execPath, [BIN, ...args], { cwd, stdio: 'ignore' });
      const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
      assert.equal(code, 0);
      const rows = fs
        .readFileSync(path.join(cwd, 'tables', 'sessions.csv'), 'utf8')
        .trimEnd()
        .split('\r\n');
      assert.equal(rows.length, 8_001, 'a header and every session');
    } finally {
      await serve.stop();
      fs.rmSync(cwd, { recursive: true, force: true });
    }
  });
});
