import assert from 'node:assert/strict';
import http from 'node:http';
import { describe, it } from 'node:test';
import { storeBackends } from './helpers/backends.js';
import { within } from './helpers/deadline.js';
import { importBulkySessions, startTestServer } from './helpers/server.js';

/**
 * On PostgreSQL an export holds a connection for as long as its client takes to read (one COPY).
 * Exports take theirs from a pool of their own (EXPORT_CONCURRENCY connections), so readers that
 * read nothing cannot leave the rest of the API waiting for a connection.
 */
const WINDOW = { startDate: '2031-01-01', endDate: '2031-03-31', timeAxis: 'createdAt' };
const EXPORTS = 11;

for (const backend of (await storeBackends()).filter((b) => b.name === 'postgres')) {
  describe('exports on PostgreSQL beside the rest of the API', () => {
    it(`answers other requests while ${EXPORTS} exports, more than the requests' pool, wait on readers that read nothing`, async () => {
      const server = await startTestServer({ backend, configure: (c) => ({ ...c, exportConcurrency: EXPORTS + 1 }) });
      const held: http.ClientRequest[] = [];
      try {
        const { token } = await server.createOrg();
        // About 20 MB a window: far more than a socket that nobody reads lets through.
        await importBulkySessions(server, token, 4_000, 5_000, Date.UTC(2031, 0, 1));
        const started = Array.from(
          { length: EXPORTS },
          () =>
            new Promise<number>((resolve, reject) => {
              const request = http.request(
                `${server.url}/api/v1/coaching-sessions`,
                { method: 'POST', headers: { apiToken: token, 'content-type': 'application/json' } },
                (response) => {
                  response.pause();
                  resolve(response.statusCode ?? 0);
                },
              );
              request.on('error', reject);
              request.end(JSON.stringify(WINDOW));
              held.push(request);
            }),
        );
        assert.deepEqual(await Promise.all(started), Array(EXPORTS).fill(200));
        const me = await within(server.request('GET', '/api/v1/me', { token }), 'GET /api/v1/me beside the held exports', 10_000);
        assert.equal(me.status, 200, me.text);
      } finally {
        for (const request of held) request.destroy();
        await server.close();
      }
    });
  });
}
