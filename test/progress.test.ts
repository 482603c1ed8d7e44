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
    const progress = new Progress(2, stream, false);
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
    const progress = new Progress(2, stream, true, true);
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
    assert.equal((parsed[3]!.progress as Record<string, unknown>).step, 'page 2');
    assert.equal((parsed[3]!.progress as Record<string, unknown>).totalSessions, 14);
    assert.equal(parsed.length, 4);
  });
});
