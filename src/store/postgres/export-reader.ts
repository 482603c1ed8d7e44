import net from 'node:net';
import { finished } from 'node:stream/promises';
import pg from 'pg';
import { to as copyTo, type CopyToStreamQuery } from 'pg-copy-streams';
import type { ExportWindow } from '../../export/window.js';
import { toError } from '../../to-error.js';
import type { ExportChunk } from '../store.js';
import { CopyBinaryDocuments } from './copy-binary.js';
import { EXPORT_CHUNK_BYTES } from '../export-chunk.js';

/** How long an abandoned export may take to stop its COPY before its connection is closed instead. */
const STOP_TIMEOUT_MS = 5000;
/** The copy stream's buffer: past it the socket is no longer read and PostgreSQL waits. */
const COPY_BUFFER_BYTES = 256 * 1024;

/** `COPY` takes no bind parameters: the window goes in as literals, the org id escaped by pg. */
function copyStatement(orgId: string, window: ExportWindow): string {
  if (!Number.isSafeInteger(window.fromMs) || !Number.isSafeInteger(window.toMs)) throw new Error('export window bounds must be integers');
  const axis = window.axis === 'meetingDate' ? 'meeting_date' : 'created_at';
  return (
    `copy (select doc from session_documents_full where org_id = ${pg.escapeLiteral(orgId)}` +
    ` and ${axis} >= ${window.fromMs} and ${axis} <= ${window.toMs} order by ${axis}, session_id collate "C")` +
    ' to stdout (format binary)'
  );
}

/**
 * The stored documents of a window as one `COPY ... TO STDOUT (FORMAT binary)` on a pooled
 * connection: one statement, so one snapshot, in (org, axis, id) index order, streamed as
 * PostgreSQL sends it. pg-copy-streams hands over the raw protocol bytes, so documents reach the
 * socket without being decoded into strings and encoded again, with no page round trips and no
 * `string_agg`. Back-pressure: the copy stream stops reading the socket while its buffer is full,
 * so a slow client makes PostgreSQL wait instead of memory grow. A failure (the database gone, a
 * broken copy) throws, so the response is cut, and closes the connection. Stopping early cancels
 * the COPY, drops what was already in flight and returns the connection to the pool ready for the
 * next query once the cancel is seen to land (closing it instead if it is not, in time).
 */
export async function* postgresStoredDocuments(pool: pg.Pool, orgId: string, window: ExportWindow): AsyncGenerator<ExportChunk> {
  const statement = copyStatement(orgId, window);
  const client = await pool.connect();
  // The COPY lasts as long as its client takes to read, which a database's or role's
  // statement_timeout (30 s is common on managed PostgreSQL) would cut short at any size. The
  // export runs without it and restores it before the connection goes back to the pool; a client
  // that stops reading is cut by EXPORT_STALL_TIMEOUT_MS instead.
  try {
    await client.query('set statement_timeout = 0');
  } catch (error) {
    client.release(toError(error));
    throw error;
  }
  const copy = client.query(copyTo(statement, { highWaterMark: COPY_BUFFER_BYTES }));
  // Errors are read through the iterator or `finished`; one arriving after those stopped listening
  // (a cancel racing the copy's end) must not be an unhandled 'error' event.
  copy.on('error', () => undefined);
  const reader = new CopyBinaryDocuments(EXPORT_CHUNK_BYTES);
  let outcome: 'reading' | 'ended' | 'failed' = 'reading';
  let failure: Error | undefined;
  try {
    for await (const data of copy.iterator({ destroyOnReturn: false }) as AsyncIterable<Buffer>) {
      for (const chunk of reader.push(data)) yield chunk;
    }
    const last = reader.end();
    outcome = 'ended';
    if (last) yield last;
  } catch (error) {
    outcome = 'failed';
    failure = toError(error);
    throw error;
  } finally {
    // A connection in an unknown state is closed, never handed to the next query.
    if (outcome === 'failed') client.release(failure);
    else client.release((outcome === 'reading' ? await stopCopy(client, copy) : undefined) ?? (await restoreTimeout(client)));
  }
}

/** The connection's own statement_timeout back; an error when that failed and it must be closed. */
const restoreTimeout = (client: pg.PoolClient): Promise<Error | undefined> =>
  client.query('reset statement_timeout').then(() => undefined, toError);

/**
 * Stops a COPY its reader walked away from: asks PostgreSQL to cancel it, and reads and drops
 * what is in flight until the copy fails with the cancel. Answers an error when the connection
 * must be closed rather than reused: a copy that ended before the cancel reached it leaves that
 * cancel on its way, and a cancel request says nothing of when it lands (a proxy or pooler on the
 * path may answer it at once), so it could stop the connection's next query.
 */
async function stopCopy(client: pg.PoolClient, copy: CopyToStreamQuery): Promise<Error | undefined> {
  const stopped = finished(copy).then(
    () => new Error('the abandoned COPY ended before its cancel reached it'),
    (error: unknown) => (isQueryCanceled(error) ? undefined : toError(error)),
  );
  copy.resume();
  cancelRequest(client);
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<Error>((resolve) => {
    timer = setTimeout(() => resolve(new Error('the abandoned COPY did not stop in time')), STOP_TIMEOUT_MS);
  });
  try {
    return await Promise.race([stopped, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

const isQueryCanceled = (error: unknown) => error instanceof Error && 'code' in error && error.code === '57014';

/** What node-postgres keeps of a connection that a cancel request needs (not in its types). */
interface BackendKey {
  host: string;
  port: number;
  processID: number;
  secretKey: number;
}

/**
 * PostgreSQL's CancelRequest, sent on a connection of its own as the protocol wants: no login,
 * the server acts on it and closes.
 */
function cancelRequest(client: pg.PoolClient): void {
  const { host, port, processID, secretKey } = client as unknown as BackendKey;
  const packet = Buffer.alloc(16);
  packet.writeInt32BE(16, 0);
  packet.writeInt32BE(80877102, 4); // the cancel request code: 1234 << 16 | 5678
  packet.writeInt32BE(processID, 8);
  packet.writeInt32BE(secretKey, 12);
  const socket = host.startsWith('/') ? net.connect(`${host}/.s.PGSQL.${port}`) : net.connect(port, host);
  socket.on('connect', () => socket.end(packet));
  socket.on('error', () => undefined);
  // Nothing waits for it: a host that drops packets must not keep it, or the process, for minutes.
  socket.setTimeout(STOP_TIMEOUT_MS, () => socket.destroy());
  socket.unref();
}
