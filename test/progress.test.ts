import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { Progress } from '../src/cli/progress.js';

/** The lines a Progress writes, as a terminal that is not a TTY would show them. */
function lines(): { stream: NodeJS.WriteStream; written: string[] } {
  const written: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      written.push(chunk.toString());
      done();
    },
  }) as unknown as NodeJS.WriteStream;
  return { stream, written };
}

describe('progress of an export or import', () => {
  it('counts the bytes of a window fetched again once, not its cut-short attempt too', () => {
    const { stream, written } = lines();
    const progress = new Progress(2, { stream, tty: false });
    const window = { startDate: '2024-01-01', endDate: '2024-03-30' };
    progress.clientEvent({ type: 'bytes', window, bytes: 3 * 1_048_576 });
    progress.clientEvent({ type: 'retry', window, attempt: 1, delayMs: 500, reason: 'the connection was reset' });
    progress.clientEvent({ type: 'bytes', window, bytes: 5 * 1_048_576 });
    progress.windowDone(window, 10, 0);
    const next = { startDate: '2024-03-31', endDate: '2024-06-28' };
    progress.clientEvent({ type: 'bytes', window: next, bytes: 1_048_576 });
    progress.windowDone(next, 2, 1);
    assert.match(written[0]!, /^retrying 2024-01-01\.\.2024-03-30 in 1 s: the connection was reset\n$/);
    assert.match(written[1]!, /^window 1\/2 2024-01-01\.\.2024-03-30: 10 sessions \(10 sessions, 5\.0 MB, /);
    assert.match(written[2]!, /^window 2\/2 2024-03-31\.\.2024-06-28: 2 sessions \(12 sessions, 6\.0 MB, /);
  });

  it('with --json writes one JSON object a line, on a terminal too, and never a bar', () => {
    const { stream, written } = lines();
    const progress = new Progress(2, { stream, tty: true, json: true });
    const window = { startDate: '2024-01-01', endDate: '2024-03-30' };
    progress.clientEvent({ type: 'bytes', window, bytes: 3 * 1_048_576 });
    progress.clientEvent({ type: 'retry', window, attempt: 1, delayMs: 1500, reason: 'the connection was reset' });
    progress.clientEvent({ type: 'bytes', window, bytes: 5 * 1_048_576 });
    progress.windowDone(window, 10, 0);
    progress.note('the server asked to wait');
    progress.pageDone('page 2', 4);
    progress.end();
    const parsed = written.map((line) => {
      assert.ok(line.endsWith('\n') && !line.includes('\r'), JSON.stringify(line));
      return JSON.parse(line) as Record<string, Record<string, unknown> | string>;
    });
    assert.deepEqual(parsed[0], {
      retry: { startDate: '2024-01-01', endDate: '2024-03-30', attempt: 1, inSeconds: 2, reason: 'the connection was reset' },
    });
    const done = parsed[1]!.progress as Record<string, unknown>;
    assert.deepEqual(
      { ...done, bytesPerSecond: typeof done.bytesPerSecond, etaSeconds: typeof done.etaSeconds },
      {
        window: 1,
        windows: 2,
        startDate: '2024-01-01',
        endDate: '2024-03-30',
        sessions: 10,
        totalSessions: 10,
        bytes: 5 * 1_048_576,
        bytesPerSecond: 'number',
        etaSeconds: 'number',
      },
    );
    assert.deepEqual(parsed[2], { note: 'the server asked to wait' });
    assert.equal((parsed[3]!.progress as Record<string, unknown>).page, 2);
    assert.equal((parsed[3]!.progress as Record<string, unknown>).totalSessions, 14);
    assert.equal(parsed.length, 4);
  });

  it('gives pages of unknown count no ETA, and says a retry without a window either way', () => {
    const { stream, written } = lines();
    const json = new Progress(0, { stream, json: true });
    json.retry({ inSeconds: 3, reason: 'the server answered 503' });
    json.pageDone('page', 7, { mode: 'feed' });
    const [retry, page] = written.map((line) => JSON.parse(line) as Record<string, Record<string, unknown>>);
    assert.deepEqual(retry, { retry: { inSeconds: 3, reason: 'the server answered 503' } });
    assert.deepEqual(
      { ...page!.progress, bytesPerSecond: null },
      { page: 1, mode: 'feed', sessions: 7, totalSessions: 7, bytes: 0, bytesPerSecond: null, etaSeconds: null },
    );
    const plain = lines();
    new Progress(0, { stream: plain.stream, tty: false }).retry({ inSeconds: 3, reason: 'the server answered 503' });
    assert.deepEqual(plain.written, ['retrying in 3 s: the server answered 503\n']);
  });

  it('times the ETA of a resumed export by the windows of this run only', () => {
    const { stream, written } = lines();
    let now = 0;
    const progress = new Progress(10, { stream, json: true, now: () => now });
    // Eight windows were done before; the ninth takes 60 s, so the tenth is due in 60 s (not 60 / 9).
    now = 60_000;
    progress.windowDone({ startDate: '2024-01-01', endDate: '2024-03-30' }, 5, 8);
    const { window, etaSeconds } = (JSON.parse(written[0]!) as { progress: { window: number; etaSeconds: number } }).progress;
    assert.deepEqual({ window, etaSeconds }, { window: 9, etaSeconds: 60 });
  });
});
