import assert from 'node:assert/strict';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { tempDir } from './helpers/backends.js';
import { SUPPORTED_NODE, npmStart, runtimeOf } from './helpers/npm-start.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

describe('the runtime npm start brings', () => {
  it('serves from a supported Node line (22, 24 or 26), even when the system Node is older', async () => {
    const server = await npmStart(ROOT, { DATABASE_URL: path.join(tempDir(), 'coachport.db') });
    try {
      const actual = await runtimeOf(server.pid);
      assert.match(actual, SUPPORTED_NODE, `/proc/${server.pid}/exe --version`);
      assert.equal(server.loggedNode, actual, 'the start-up line names the runtime that really runs');
      assert.equal((await fetch(`${server.url}/healthz`)).status, 200);
    } finally {
      await server.stop();
    }
  });

  it('runs this test suite on a supported line too', () => {
    assert.match(process.version, SUPPORTED_NODE);
  });
});
