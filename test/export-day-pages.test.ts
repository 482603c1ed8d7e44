import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import BetterSqlite3 from 'better-sqlite3';
import fc from 'fast-check';
import { createOrganization } from '../src/accounts/organizations.js';
import type { Actor } from '../src/coaching/actor.js';
import { DomainError } from '../src/coaching/errors.js';
import { createPoint, deletePoint } from '../src/coaching/items.js';
import { createSession, deleteSession, updateSession } from '../src/coaching/sessions.js';
import { ConfigError, loadConfig } from '../src/config.js';
import type { ExportWindow } from '../src/export/window.js';
import { generateSeed } from '../src/seed/generate.js';
import { openStore } from '../src/store/open.js';
import { connect } from '../src/store/sqlite/connect.js';
import { DayPageBuilder, EVICT_ROWS, PART_FILE_KEPT_MS } from '../src/store/sqlite/day-page-builder.js';
import { pagesDirOf, partFileName } from '../src/store/sqlite/day-page-files.js';
import { DocumentPages, utcDayStart } from '../src/store/sqlite/document-pages.js';
import type { Store } from '../src/store/store.js';
import { sqliteBackend, type TestDatabase } from './helpers/backends.js';
import { pollUntil } from './helpers/deadline.js';
import { bytesOf } from './helpers/documents.js';

const DAY = 86_400_000;
const NOW = Date.parse('2025-04-01T12:00:00.000Z');
const FIRST_DAY = Date.parse('2025-03-20T00:00:00.000Z');
/** The seeded days and the meetings around them. */
const WIDE: ExportWindow = { axis: 'createdAt', fromMs: FIRST_DAY - 5 * DAY, toMs: NOW + 20 * DAY };

/** The window's documents joined as the export joins them, read straight from the documents. */
function reference(file: string, orgId: string, window: ExportWindow): Buffer {
  const db = new BetterSqlite3(file, { readonly: true });
  try {
    const axis = window.axis === 'meetingDate' ? 'meeting_date' : 'created_at';
    const docs = db
      .prepare<[string, number, number], Buffer>(
        `select doc from session_documents_full where org_id = ? and ${axis} between ? and ? order by ${axis}, session_id`,
      )
      .pluck()
      .all(orgId, window.fromMs, window.toMs);
    return Buffer.from(docs.map((doc) => doc.toString('utf8')).join(','));
  } finally {
    db.close();
  }
}

/** The paged days of an organization on an axis (0 createdAt, 1 meetingDate), with their sessions (their markers, part 0). */
function pagedDays(file: string, orgId: string, axis: number): Map<number, number> {
  const db = new BetterSqlite3(file, { readonly: true });
  try {
    const rows = db
      .prepare<[string, number], { day: number; sessions: number }>(
        'select day, sessions from export_day_pages where org_id = ? and axis = ? and part = 0',
      )
      .all(orgId, axis);
    return new Map(rows.map((r) => [r.day, r.sessions]));
  } finally {
    db.close();
  }
}

/** The documents' parts kept for an organization, markers aside. */
function partsOf(file: string, orgId: string): number {
  const db = new BetterSqlite3(file, { readonly: true });
  try {
    return db.prepare<[string], number>('select count(*) from export_day_pages where org_id = ? and part > 0').pluck().get(orgId)!;
  } finally {
    db.close();
  }
}

/** The file names of an organization's parts of a createdAt day, in order; their BLOBs are empty (day-page-files.ts). */
function partFiles(file: string, orgId: string, day: number): string[] {
  const db = new BetterSqlite3(file, { readonly: true });
  try {
    const parts = db
      .prepare<[string, number], { build: number; part: number; bytes: number }>(
        `select build, part, length(docs) as bytes from export_day_pages
         where org_id = ? and axis = 0 and day = ? and part > 0 order by part`,
      )
      .all(orgId, day);
    assert.ok(parts.length > 0 && parts.every((p) => p.bytes === 0), 'the parts hold their bytes in files');
    return parts.map((p) => partFileName(orgId, 0, day, p.build, p.part));
  } finally {
    db.close();
  }
}

/** The window read at once through DocumentPages, as an export reads it, in one snapshot of the file. */
function readNow(file: string, orgId: string, window: ExportWindow): Buffer {
  const pages = new DocumentPages(connect(file, true), orgId, window);
  const parts: Buffer[] = [];
  try {
    for (let page = pages.read(); page !== null; page = pages.read()) parts.push(page.docs);
  } finally {
    pages.close();
  }
  return Buffer.concat(parts);
}

/** Asks `builder` for the window's days and waits until it has built them (or given up). */
async function built(builder: DayPageBuilder, orgId: string, window: ExportWindow): Promise<void> {
  builder.exported(orgId, window);
  await pollUntil(() => builder.queued() === 0, 'the builder');
}

/** Drops every page of the organization, straight in the file. */
function dropPages(file: string, orgId: string): void {
  const db = connect(file, false);
  try {
    db.prepare('delete from export_day_pages where org_id = ?').run(orgId);
  } finally {
    db.close();
  }
}

/**
 * A `between` hook for checkedBuilder that, the first time a build of one of the organization's
 * createdAt days is under way (its part 1 written, no marker yet), does `act` to that day, on `db`.
 */
function duringABuild(db: BetterSqlite3.Database, orgId: string, act: (day: number) => void) {
  let day: number | null = null;
  const building = db
    .prepare<[string], number>(
      `select p.day from export_day_pages p where p.org_id = ? and p.axis = 0 and p.part = 1 and not exists (
         select 1 from export_day_pages m where m.org_id = p.org_id and m.axis = 0 and m.day = p.day and m.part = 0)`,
    )
    .pluck();
  return {
    between: () => {
      if (day !== null) return;
      day = building.get(orgId) ?? null;
      if (day !== null) act(day);
    },
    /** The day acted on, once it was. */
    day: () => day,
  };
}

/**
 * A builder whose every step on the writer is followed by `between` (a write of the test's own)
 * and then by exports of both axes, each checked against the documents: whatever state a step
 * leaves, an export is right.
 */
function checkedBuilder(
  file: string,
  orgId: string,
  window: ExportWindow,
  clock: () => number,
  between: (step: number) => void = () => {},
) {
  let steps = 0;
  return new DayPageBuilder(
    file,
    async (work) => {
      const result = work();
      between(++steps);
      for (const axis of ['createdAt', 'meetingDate'] as const) {
        const w = { ...window, axis };
        assert.ok(readNow(file, orgId, w).equals(reference(file, orgId, w)), `an export after step ${steps} (${axis})`);
      }
      return result;
    },
    (error) => assert.fail(error),
    clock,
  );
}

/**
 * SQLite keeps the days an export read joined (export_day_pages, migration 011; day-page-builder.ts),
 * so the next export of them reads a few large BLOBs. Whatever is written, an export is byte for
 * byte the documents of its snapshot: the writes' triggers delete the pages of the days they touch
 * in their own transaction.
 */
for (const threads of [0, 1]) {
  describe(`export day pages (${threads === 0 ? 'read on the event loop' : 'read in a thread'})`, () => {
    let database: TestDatabase;
    let store: Store;
    let file: string;
    let orgId: string;
    let actor: Actor;
    let sessionIds: string[];

    const settled = () => pollUntil(() => store.exportPagesQueued() === 0, 'the day pages to be built');
    const exported = (window: ExportWindow) => bytesOf(store.exportDocuments(orgId, window));
    /** Builds `window` with a checked builder that does `act` on `db` to the first day caught mid-build; returns that day. */
    const buildActingOnADay = async (db: BetterSqlite3.Database, act: (day: number) => void, window: ExportWindow) => {
      const build = duringABuild(db, orgId, act);
      const builder = checkedBuilder(file, orgId, WIDE, Date.now, build.between);
      try {
        await built(builder, orgId, window);
      } finally {
        await builder.stop();
      }
      const day = build.day();
      assert.ok(day !== null, 'a day was acted on while it was being built');
      return day;
    };

    before(async () => {
      database = await sqliteBackend.create();
      file = (database.config as { file: string }).file;
      // Log entries archived past three: some writes below fold a log into session_log_archive.
      store = await openStore({ kind: 'sqlite', file, exportThreads: threads }, { logFoldAt: 3 });
      const org = await createOrganization(store, { name: 'Pages', adminEmail: 'pages@example.test' }, NOW);
      orgId = org.orgId;
      actor = { orgId, user: { id: org.userId, email: 'pages@example.test', name: 'Admin', role: 'admin' }, ipAddress: null };
      // About 6 MB over four days: days of two parts and more (SQLITE_PAGE_BYTES each).
      await store.applyImport(orgId, generateSeed({ sessions: 1200, days: 4, seed: 7, endMs: NOW, nowMs: NOW }), NOW);
      const db = new BetterSqlite3(file, { readonly: true });
      sessionIds = db
        .prepare<[string], string>('select session_id from session_documents where org_id = ? order by session_id')
        .pluck()
        .all(orgId);
      db.close();
    });
    after(async () => {
      await store.close();
      await database.drop();
    });

    it('keeps the days of an export joined after it, and the next export reads them, byte for byte', async () => {
      const first = await exported(WIDE);
      assert.ok(first.equals(reference(file, orgId, WIDE)), 'the first export reads the documents');
      await settled();
      const days = pagedDays(file, orgId, 0);
      assert.equal(days.size, 4, 'every seeded day is paged');
      assert.equal(
        [...days.values()].reduce((a, b) => a + b, 0),
        1200,
        'with every session once',
      );
      assert.ok(partsOf(file, orgId) > 4, 'in parts of about a megabyte');
      assert.ok((await exported(WIDE)).equals(first), 'the next export, from the pages, is the same bytes');
      // A part changed behind the store's back shows in the export: it is read from the part's file.
      const db = connect(file, false);
      try {
        const day = Math.min(...days.keys());
        const [name] = partFiles(file, orgId, day);
        const docs = fs.readFileSync(path.join(pagesDirOf(file), name!), 'utf8');
        fs.writeFileSync(path.join(pagesDirOf(file), name!), docs.replace(/"_id":"/, '"_id":"PAGED-'));
        assert.match((await exported(WIDE)).toString('utf8'), /"_id":"PAGED-/);
        db.prepare('delete from export_day_pages where org_id = ? and axis = 0 and day = ?').run(orgId, day);
      } finally {
        db.close();
      }
      assert.ok((await exported(WIDE)).equals(first), 'a day without pages is read from the documents again');
    });

    it('reads the days a window holds only in part from the documents', async () => {
      await exported(WIDE);
      await settled();
      const days = [...pagedDays(file, orgId, 0).keys()].sort((a, b) => a - b);
      assert.ok(days.length >= 3);
      // From the middle of the first paged day to the middle of the third: the second read from its pages.
      const window: ExportWindow = { axis: 'createdAt', fromMs: days[0]! + 5 * 3_600_000, toMs: days[2]! + 7 * 3_600_000 };
      const bytes = await exported(window);
      assert.ok(bytes.equals(reference(file, orgId, window)));
      assert.ok(bytes.length < reference(file, orgId, WIDE).length);
    });

    it("reads on from the documents where a part's file is gone or is no part, and the next build pages that day again", async () => {
      await exported(WIDE);
      await settled();
      const dir = pagesDirOf(file);
      const days = [...pagedDays(file, orgId, 0).keys()].sort((a, b) => a - b);
      assert.equal(days.length, 4);
      const names = days.map((day) => partFiles(file, orgId, day));
      assert.ok(names[0]!.length >= 2, 'a day of two parts and more');
      // The second part of a day: read after the first, from the documents after the first's sessions.
      fs.unlinkSync(path.join(dir, names[0]![1]!));
      // The first part of another: the whole day from its documents.
      fs.unlinkSync(path.join(dir, names[1]![0]!));
      // Parts that are no parts: a comma alone, and a part without its leading comma.
      fs.writeFileSync(path.join(dir, names[2]![0]!), ',');
      fs.writeFileSync(path.join(dir, names[3]![0]!), fs.readFileSync(path.join(dir, names[3]![0]!)).subarray(1));
      const expected = reference(file, orgId, WIDE);
      assert.ok(readNow(file, orgId, WIDE).equals(expected), 'read at once');
      const fromThird: ExportWindow = { axis: 'createdAt', fromMs: days[2]!, toMs: WIDE.toMs };
      assert.ok(readNow(file, orgId, fromThird).equals(reference(file, orgId, fromThird)), 'a first page whose part is no part');
      assert.ok((await exported(WIDE)).equals(expected), 'exported');
      await settled();
      days.forEach((day, i) => {
        const rebuilt = partFiles(file, orgId, day);
        assert.ok(!rebuilt.some((name) => names[i]!.includes(name)), `day ${i} built again`);
        for (const name of rebuilt) assert.ok(fs.existsSync(path.join(dir, name)), name);
      });
      assert.ok((await exported(WIDE)).equals(expected), 'from their new parts');
      // A report of a build since replaced drops nothing.
      const standing = partFiles(file, orgId, days[0]!);
      const builder = checkedBuilder(file, orgId, WIDE, Date.now);
      try {
        builder.exported(orgId, WIDE, [{ day: days[0]!, build: -1 }]);
        await pollUntil(() => builder.queued() === 0, 'the builder');
      } finally {
        await builder.stop();
      }
      assert.deepEqual(partFiles(file, orgId, days[0]!), standing);
    });

    it('reads parts that keep their bytes in their BLOB, as parts built before the files did', async () => {
      await exported(WIDE);
      await settled();
      const dir = pagesDirOf(file);
      const day = Math.min(...pagedDays(file, orgId, 0).keys());
      const names = partFiles(file, orgId, day);
      const db = connect(file, false);
      try {
        const setBlob = db.prepare('update export_day_pages set docs = ? where org_id = ? and axis = 0 and day = ? and part = ?');
        for (const [i, name] of names.entries()) setBlob.run(fs.readFileSync(path.join(dir, name)), orgId, day, i + 1);
        for (const name of names) fs.unlinkSync(path.join(dir, name));
        assert.ok(readNow(file, orgId, WIDE).equals(reference(file, orgId, WIDE)));
        // Changed behind the store's back, the BLOB shows in the export: it is read.
        const first = db.prepare('select docs from export_day_pages where org_id = ? and axis = 0 and day = ? and part = 1').pluck();
        setBlob.run(Buffer.from((first.get(orgId, day) as Buffer).toString('utf8').replace(/"_id":"/, '"_id":"BLOB-')), orgId, day, 1);
        assert.match((await exported(WIDE)).toString('utf8'), /"_id":"BLOB-/);
        db.prepare('delete from export_day_pages where org_id = ? and axis = 0 and day = ?').run(orgId, day);
      } finally {
        db.close();
      }
    });

    it('deletes a part file without its row once the sweep has seen it so for an hour and it was written an hour ago', async () => {
      await exported(WIDE);
      await settled();
      const dir = pagesDirOf(file);
      const files = () => [...fs.readdirSync(dir)].sort();
      const writtenAt = (name: string, ms: number) => fs.utimesSync(path.join(dir, name), ms / 1000, ms / 1000);
      const dropped = files();
      dropPages(file, orgId);
      let now = Date.now();
      const builder = checkedBuilder(file, orgId, WIDE, () => now);
      // The sweep runs at most hourly, with the unused days' eviction, after a build: here, of a window without documents.
      const sweepAnHourOn = async () => {
        now += PART_FILE_KEPT_MS + 60_000;
        await built(builder, orgId, { axis: 'createdAt', fromMs: NOW + 400 * DAY, toMs: NOW + 401 * DAY });
      };
      try {
        // Builds the days again, in files of their own, then sweeps a first time.
        await built(builder, orgId, WIDE);
        const rebuilt = files().filter((name) => !dropped.includes(name));
        assert.ok(rebuilt.length > 0);
        assert.deepEqual(files(), [...dropped, ...rebuilt].sort(), 'files seen without their row for the first time stay');
        fs.writeFileSync(path.join(dir, 'late'), ',{}');
        writtenAt('late', now - 3 * PART_FILE_KEPT_MS);
        await sweepAnHourOn();
        assert.deepEqual(files(), [...rebuilt, 'late'].sort(), "the dropped rows' files go; one seen for the first time stays");
        writtenAt('late', now + PART_FILE_KEPT_MS + 60_000);
        await sweepAnHourOn();
        assert.deepEqual(files(), [...rebuilt, 'late'].sort(), 'seen for an hour, but written within it: stays');
        await sweepAnHourOn();
        assert.deepEqual(files(), rebuilt, 'then goes; the files of rows stay, however old');
      } finally {
        await builder.stop();
      }
      assert.ok((await exported(WIDE)).equals(reference(file, orgId, WIDE)));
    });

    it('leaves a day unpaged when a write lands between two of its parts, and every export meanwhile is right', async () => {
      await settled();
      const direct = connect(file, false);
      try {
        dropPages(file, orgId);
        // A write to one of the sessions of a day being built.
        const touch = direct.prepare(
          `update session_documents set seq = seq where rowid = (
             select min(rowid) from session_documents where org_id = ? and created_at between ? and ?)`,
        );
        const touched = await buildActingOnADay(direct, (day) => touch.run(orgId, day, day + DAY - 1), WIDE);
        const days = pagedDays(file, orgId, 0);
        assert.ok(!days.has(touched), 'that day is left unpaged');
        assert.equal(days.size, 3, 'the other three are paged');
        const left = direct
          .prepare<[string, number], number>('select count(*) from export_day_pages where org_id = ? and day = ?')
          .pluck()
          .get(orgId, touched);
        assert.equal(left, 0, 'and its parts dropped');
      } finally {
        direct.close();
      }
      assert.ok((await exported(WIDE)).equals(reference(file, orgId, WIDE)));
    });

    it('gives a build up, dropping only its own parts, when another build writes parts of the same day', async () => {
      await settled();
      const direct = connect(file, false);
      try {
        dropPages(file, orgId);
        // A part of another build of the same day (7), written while this one is under way.
        const intrude = direct.prepare(
          `insert into export_day_pages (org_id, axis, day, part, build, used_at, sessions, docs)
           values (?, 0, ?, 99, 7, ?, 1, x'2c7b7d')`,
        );
        const intruded = await buildActingOnADay(direct, (day) => intrude.run(orgId, day, Date.now()), {
          ...WIDE,
          toMs: Date.parse('2025-03-29T23:59:59.999Z'),
        });
        const left = direct
          .prepare<[string, number], { part: number; build: number }>(
            'select part, build from export_day_pages where org_id = ? and day = ?',
          )
          .all(orgId, intruded);
        assert.deepEqual(left, [{ part: 99, build: 7 }], "the other build's part stays, this build's are gone, no marker");
        dropPages(file, orgId);
      } finally {
        direct.close();
      }
    });

    it('builds nothing while another process holds the write lock, says nothing of it, and builds once it is free', async () => {
      await settled();
      dropPages(file, orgId);
      const direct = connect(file, false);
      try {
        const builder = checkedBuilder(file, orgId, WIDE, Date.now);
        try {
          direct.exec('begin immediate');
          await built(builder, orgId, WIDE);
          direct.exec('commit');
          assert.equal(pagedDays(file, orgId, 0).size, 0, 'nothing built, and no error reported (checkedBuilder fails on one)');
          await built(builder, orgId, WIDE);
          assert.equal(pagedDays(file, orgId, 0).size, 4);
        } finally {
          if (direct.inTransaction) direct.exec('rollback');
          await builder.stop();
        }
      } finally {
        direct.close();
      }
    });

    it('does not build the current UTC day or later ones, which are still being written', async () => {
      await settled();
      const direct = connect(file, false);
      const days = direct
        .prepare<[string], number>(
          'select distinct created_at - created_at % 86400000 as day from session_documents where org_id = ? order by day',
        )
        .pluck()
        .all(orgId);
      direct.close();
      dropPages(file, orgId);
      assert.ok(days.length >= 4);
      // The builder's clock in the middle of the third seeded day.
      const builder = checkedBuilder(file, orgId, WIDE, () => days[2]! + 12 * 3_600_000);
      try {
        await built(builder, orgId, WIDE);
      } finally {
        await builder.stop();
      }
      assert.deepEqual(
        [...pagedDays(file, orgId, 0).keys()].sort((a, b) => a - b),
        days.slice(0, 2),
      );
    });

    it('reads a day whose parts are not whole from the documents', async () => {
      await exported(WIDE);
      await settled();
      const [first, second] = [...pagedDays(file, orgId, 0).keys()].sort((a, b) => a - b);
      const direct = connect(file, false);
      try {
        // A part gone from one day, a part of another build in the other: neither is read.
        direct.prepare('delete from export_day_pages where org_id = ? and axis = 0 and day = ? and part = 1').run(orgId, first);
        direct
          .prepare('update export_day_pages set build = build + 1 where org_id = ? and axis = 0 and day = ? and part = 2')
          .run(orgId, second);
      } finally {
        direct.close();
      }
      assert.ok((await exported(WIDE)).equals(reference(file, orgId, WIDE)));
      assert.ok(readNow(file, orgId, WIDE).equals(reference(file, orgId, WIDE)));
    });

    it('builds a day once when two builders build it at the same time, and every export meanwhile is right', async () => {
      await settled();
      dropPages(file, orgId);
      const builders = [checkedBuilder(file, orgId, WIDE, Date.now), checkedBuilder(file, orgId, WIDE, Date.now)];
      try {
        for (const builder of builders) builder.exported(orgId, WIDE);
        await pollUntil(() => builders.every((b) => b.queued() === 0), 'the builders');
      } finally {
        await Promise.all(builders.map((b) => b.stop()));
      }
      assert.equal(pagedDays(file, orgId, 0).size, 4, 'each day paged by one of them, whose parts the other left alone');
      assert.ok((await exported(WIDE)).equals(reference(file, orgId, WIDE)));
    });

    it('leaves alone a day another builder paged while this build was on earlier days', async () => {
      await settled();
      dropPages(file, orgId);
      const read = new BetterSqlite3(file, { readonly: true });
      const lastCreated = read
        .prepare<[string], number>('select max(created_at) from session_documents where org_id = ?')
        .pluck()
        .get(orgId)!;
      const lastDay = utcDayStart(lastCreated);
      const partsOfLastDay = read.prepare<[string, number], { rowid: number; build: number }>(
        'select rowid, build from export_day_pages where org_id = ? and axis = 0 and day = ? order by part',
      );
      // While this builder writes its first part (of the window's first day), another pages the last day.
      let steps = 0;
      let pagedByTheOther: Array<{ rowid: number; build: number }> = [];
      const other = checkedBuilder(file, orgId, WIDE, Date.now);
      const builder = new DayPageBuilder(
        file,
        async (work) => {
          const result = work();
          if (++steps === 2) {
            await built(other, orgId, { axis: 'createdAt', fromMs: lastDay, toMs: lastDay + DAY - 1 });
            pagedByTheOther = partsOfLastDay.all(orgId, lastDay);
          }
          return result;
        },
        (error) => assert.fail(error),
      );
      try {
        await built(builder, orgId, WIDE);
      } finally {
        await Promise.all([builder.stop(), other.stop()]);
      }
      try {
        assert.ok(pagedByTheOther.length > 1, 'the other builder paged the last day');
        assert.ok(steps > 2, 'this builder went on after it');
        assert.equal(pagedDays(file, orgId, 0).size, 4, 'every day paged');
        assert.deepEqual(
          partsOfLastDay.all(orgId, lastDay),
          pagedByTheOther,
          "the other builder's parts of the last day, as it wrote them",
        );
      } finally {
        read.close();
      }
    });

    it('replaces the parts an unfinished build left, and pages the day only once all of its own are written', async () => {
      const day = Date.parse('2025-03-30T00:00:00.000Z');
      const db = connect(file, false);
      try {
        db.prepare('delete from export_day_pages where org_id = ? and axis = 0 and day = ?').run(orgId, day);
        // A build stopped (long ago) after two of its parts, its second with bytes that are no document.
        const stray = db.prepare(
          'insert into export_day_pages (org_id, axis, day, part, build, used_at, sessions, docs) values (?, 0, ?, ?, 1, 0, 1, ?)',
        );
        stray.run(orgId, day, 1, Buffer.from(',{"stray":1}'));
        stray.run(orgId, day, 2, Buffer.from(',{"stray":2}'));
      } finally {
        db.close();
      }
      assert.ok(!pagedDays(file, orgId, 0).has(day), 'parts without their marker are no page');
      assert.ok((await exported(WIDE)).equals(reference(file, orgId, WIDE)), 'and are never read');
      await settled();
      assert.ok(pagedDays(file, orgId, 0).has(day), 'the next build pages the day');
      const exportedAfter = await exported(WIDE);
      assert.ok(exportedAfter.equals(reference(file, orgId, WIDE)));
      assert.doesNotMatch(exportedAfter.toString('utf8'), /stray/);
    });

    it('drops the pages of the days a write touches, in its own transaction, and only those', async () => {
      const meeting: ExportWindow = { ...WIDE, axis: 'meetingDate' };
      await exported(WIDE);
      await exported(meeting);
      await settled();
      const [created, meetings] = [pagedDays(file, orgId, 0), pagedDays(file, orgId, 1)];
      assert.ok(meetings.size >= 3, `${meetings.size} meeting days paged`);
      const id = sessionIds[3]!;
      const docs = JSON.parse(`[${reference(file, orgId, WIDE)}]`) as Array<{ _id: string; createdAt: string; meetingDate: string | null }>;
      const doc = docs.find((d) => d._id === id)!;
      const createdDay = Math.floor(Date.parse(doc.createdAt) / DAY) * DAY;
      const oldMeeting = Math.floor(Date.parse(doc.meetingDate!) / DAY) * DAY;
      const newMeeting = [...meetings.keys()].find((d) => d !== oldMeeting)!;
      await updateSession(store, actor, id, { meetingDate: new Date(newMeeting + 3_600_000).toISOString() }, NOW);
      const [createdAfter, meetingsAfter] = [pagedDays(file, orgId, 0), pagedDays(file, orgId, 1)];
      assert.deepEqual(
        [...createdAfter.keys()].sort(),
        [...created.keys()].filter((d) => d !== createdDay).sort(),
        'its creation day only',
      );
      assert.deepEqual(
        [...meetingsAfter.keys()].sort(),
        [...meetings.keys()].filter((d) => d !== oldMeeting && d !== newMeeting).sort(),
        'the meeting days it left and joined only',
      );
      assert.ok((await exported(WIDE)).equals(reference(file, orgId, WIDE)));
      assert.ok((await exported(meeting)).equals(reference(file, orgId, meeting)));
    });

    it('reads one snapshot throughout an export while writes drop and rebuild its pages', async () => {
      await exported(WIDE);
      await settled();
      const expected = reference(file, orgId, WIDE);
      const pages = new DocumentPages(connect(file, true), orgId, WIDE, () => 64 * 1024);
      const parts: Buffer[] = [];
      try {
        parts.push(pages.read()!.docs);
        // Sessions the seed deleted are refused (DomainError) and stay as they are.
        const refused = (error: unknown) => assert.ok(error instanceof DomainError, String(error));
        for (const id of sessionIds.slice(0, 40))
          await updateSession(store, actor, id, { coachNotes: `changed ${id}` }, NOW).catch(refused);
        await deleteSession(store, actor, sessionIds.at(-1)!, NOW).catch(refused);
        await exported(WIDE);
        await settled();
        for (let page = pages.read(); page !== null; page = pages.read()) parts.push(page.docs);
      } finally {
        pages.close();
      }
      assert.ok(Buffer.concat(parts).equals(expected), 'the export that began before the writes');
      assert.ok(!reference(file, orgId, WIDE).equals(expected), 'the writes changed the documents');
      assert.ok((await exported(WIDE)).equals(reference(file, orgId, WIDE)), 'and the next export has them');
    });

    it('drops the days no export has read for 30 days, a few rows at a time, and keeps those read since', async () => {
      await exported(WIDE);
      await exported({ ...WIDE, axis: 'meetingDate' });
      await settled();
      const rows = () => {
        const db = new BetterSqlite3(file, { readonly: true });
        try {
          return db.prepare<[string], number>('select count(*) from export_day_pages where org_id = ?').pluck().get(orgId)!;
        } finally {
          db.close();
        }
      };
      assert.ok(rows() > 3 * EVICT_ROWS, `${rows()} rows: dropped over several transactions`);
      const day = Math.max(...pagedDays(file, orgId, 0).keys());
      let now = Date.now();
      const builder = checkedBuilder(file, orgId, WIDE, () => now);
      try {
        now += 20 * DAY;
        await built(builder, orgId, { axis: 'createdAt', fromMs: day, toMs: day + DAY - 1 });
        now += 11 * DAY;
        // A window without documents: the builder looks for unused days, and builds nothing.
        await built(builder, orgId, { axis: 'createdAt', fromMs: NOW + 400 * DAY, toMs: NOW + 401 * DAY });
      } finally {
        await builder.stop();
      }
      assert.deepEqual([...pagedDays(file, orgId, 0).keys()], [day], 'the day exported 11 days ago stays');
      assert.equal(pagedDays(file, orgId, 1).size, 0, 'the meeting days, exported 31 days ago, are gone');
      const db = new BetterSqlite3(file, { readonly: true });
      try {
        const days = db.prepare<[string], number>('select distinct day from export_day_pages where org_id = ?').pluck().all(orgId);
        assert.deepEqual(days, [day], 'with their parts');
      } finally {
        db.close();
      }
      assert.ok((await exported(WIDE)).equals(reference(file, orgId, WIDE)));
    });

    it('after any sequence of writes and exports, every export is the documents of its snapshot', async () => {
      const window = fc.record({
        axis: fc.constantFrom('createdAt' as const, 'meetingDate' as const),
        from: fc.integer({ min: -6, max: 12 }),
        days: fc.integer({ min: 0, max: 25 }),
      });
      const write = fc.oneof(
        fc.record({ kind: fc.constant('notes' as const), session: fc.nat(1199), text: fc.string({ maxLength: 40 }) }),
        fc.record({ kind: fc.constant('meeting' as const), session: fc.nat(1199), day: fc.integer({ min: -6, max: 25 }) }),
        fc.record({ kind: fc.constant('point' as const), sessions: fc.uniqueArray(fc.nat(1199), { minLength: 1, maxLength: 3 }) }),
        fc.record({ kind: fc.constant('unpoint' as const) }),
        fc.record({ kind: fc.constant('create' as const) }),
        fc.record({ kind: fc.constant('delete' as const), session: fc.nat(1199) }),
      );
      const points: string[] = [];
      const direct = new BetterSqlite3(file, { readonly: true });
      const people = direct
        .prepare<[string], { id: string; role: string }>("select id, role from users where org_id = ? and role in ('coach', 'agent')")
        .all(orgId);
      direct.close();
      const coach = people.find((p) => p.role === 'coach')!.id;
      const agent = people.find((p) => p.role === 'agent')!.id;
      await fc.assert(
        fc.asyncProperty(fc.array(fc.tuple(write, window, fc.boolean()), { minLength: 3, maxLength: 12 }), async (steps) => {
          for (const [w, win, settle] of steps) {
            const id = 'session' in w ? sessionIds[w.session % sessionIds.length]! : '';
            try {
              if (w.kind === 'notes') await updateSession(store, actor, id, { coachNotes: w.text }, NOW);
              else if (w.kind === 'meeting')
                await updateSession(store, actor, id, { meetingDate: new Date(FIRST_DAY + w.day * DAY + 3_600_000).toISOString() }, NOW);
              else if (w.kind === 'point') {
                const ids = w.sessions.map((i) => sessionIds[i % sessionIds.length]!);
                points.push(
                  (await createPoint(store, actor, { coachingFormIds: ids, type: 'strength', classification: 'qa' } as never, NOW))._id,
                );
              } else if (w.kind === 'unpoint' && points.length > 0) await deletePoint(store, actor, points.pop()!, NOW);
              else if (w.kind === 'create')
                sessionIds.push((await createSession(store, actor, { coachingFormName: 'New', agentId: agent, coachId: coach }, NOW))._id);
              else if (w.kind === 'delete') await deleteSession(store, actor, id, NOW);
            } catch (error) {
              // A session deleted by an earlier step: refused, nothing written.
              if (!(error instanceof DomainError)) throw error;
            }
            const exportWindow: ExportWindow = {
              axis: win.axis,
              fromMs: FIRST_DAY + win.from * DAY,
              toMs: FIRST_DAY + (win.from + win.days + 1) * DAY - 1,
            };
            const bytes = await exported(exportWindow);
            assert.ok(bytes.equals(reference(file, orgId, exportWindow)), `after ${JSON.stringify(w)}, ${JSON.stringify(win)}`);
            if (settle) await settled();
          }
        }),
        { numRuns: Number(process.env.DAY_PAGE_RUNS ?? 25) },
      );
    });
  });
}

describe('SQLITE_EXPORT_DAY_PAGES', () => {
  it('is on unless set to 0 or false, and refuses anything else', () => {
    const config = (value: string | undefined) => loadConfig({ SQLITE_EXPORT_DAY_PAGES: value }).database;
    assert.equal((config(undefined) as { exportDayPages: boolean }).exportDayPages, true);
    assert.equal((config('0') as { exportDayPages: boolean }).exportDayPages, false);
    assert.equal((config('false') as { exportDayPages: boolean }).exportDayPages, false);
    assert.throws(
      () => config('sometimes'),
      (error: unknown) => error instanceof ConfigError && /SQLITE_EXPORT_DAY_PAGES must be 1 or 0/.test(error.message),
    );
  });

  it('off, builds no pages, and drops those kept when the store opens', async () => {
    const database = await sqliteBackend.create();
    const file = (database.config as { file: string }).file;
    try {
      let store = await openStore({ kind: 'sqlite', file });
      const { orgId } = await createOrganization(store, { name: 'Off', adminEmail: 'off@example.test' }, NOW);
      await store.applyImport(orgId, generateSeed({ sessions: 60, days: 3, seed: 2, endMs: NOW, nowMs: NOW }), NOW);
      await bytesOf(store.exportDocuments(orgId, WIDE));
      await pollUntil(() => store.exportPagesQueued() === 0, 'the day pages to be built');
      assert.equal(pagedDays(file, orgId, 0).size, 3);
      await store.close();
      assert.ok(fs.readdirSync(pagesDirOf(file)).length >= 3, 'their parts in files');
      store = await openStore({ kind: 'sqlite', file, exportDayPages: false });
      try {
        assert.equal(pagedDays(file, orgId, 0).size, 0, 'the pages kept are dropped');
        assert.ok(!fs.existsSync(pagesDirOf(file)), 'with their files');
        const bytes = await bytesOf(store.exportDocuments(orgId, WIDE));
        assert.ok(bytes.equals(reference(file, orgId, WIDE)));
        await new Promise((resolve) => setTimeout(resolve, 100));
        assert.equal(pagedDays(file, orgId, 0).size, 0, 'and none are built');
      } finally {
        await store.close();
      }
    } finally {
      await database.drop();
    }
  });
});
