import assert from 'node:assert/strict';
import type { ExportSession } from '../../src/contract/schemas.js';
import type { ExportWindow } from '../../src/export/window.js';
import type { ExportChunk, Store } from '../../src/store/store.js';

/** Every session of an organization, whatever its dates: the createdAt axis over all time. */
export const ALL_TIME: ExportWindow = { axis: 'createdAt', fromMs: 0, toMs: 8.64e15 };

/** An export's chunks joined: the bytes a client would get between the brackets. */
export async function bytesOf(chunks: AsyncIterable<ExportChunk>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of chunks) parts.push(Buffer.from(chunk.data));
  return Buffer.concat(parts);
}

/** The export body as the read model serves it: the stored documents, exactly as streamed. */
export async function storedExport(store: Store, orgId: string, window: ExportWindow = ALL_TIME): Promise<string> {
  const chunks: Buffer[] = [Buffer.from('[')];
  for await (const chunk of store.exportDocuments(orgId, window))
    chunks.push(typeof chunk.data === 'string' ? Buffer.from(chunk.data) : chunk.data);
  chunks.push(Buffer.from(']'));
  return Buffer.concat(chunks).toString('utf8');
}

/** The same export rendered now from the normalized tables by the portable path: the reference. */
export async function portableExport(store: Store, orgId: string, window: ExportWindow = ALL_TIME): Promise<string> {
  const docs: unknown[] = [];
  for await (const page of store.exportPages(orgId, window)) docs.push(...page);
  return JSON.stringify(docs);
}

/** The stored export, once checked to be byte for byte what a whole render of the tables gives. */
export async function renderedExport(store: Store, orgId: string, message?: string): Promise<string> {
  const stored = await storedExport(store, orgId);
  assert.equal(stored, await portableExport(store, orgId), message);
  return stored;
}

/** An export's sessions by id. */
export const sessionsById = (exported: string): Map<string, ExportSession> =>
  new Map((JSON.parse(exported) as ExportSession[]).map((doc) => [doc._id, doc]));
