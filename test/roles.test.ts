import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import type { TSchema } from '@sinclair/typebox';
import { ROLES } from '../src/accounts/roles.js';
import { DirectorySchema, MeSchema, UpdateUserBody } from '../src/contract/account-schemas.js';
import { CreateUserBody, UserSchema } from '../src/contract/coaching-schemas.js';

const literals = (schema: TSchema) => (schema.anyOf as TSchema[]).map((member) => member.const as string);

function sourceFiles(folder: string): string[] {
  return fs.readdirSync(folder, { withFileTypes: true }).flatMap((entry) => {
    const file = path.posix.join(folder, entry.name);
    if (entry.isDirectory()) return sourceFiles(file);
    return /\.tsx?$/.test(entry.name) ? [file] : [];
  });
}

test('the three roles are listed in one place in src/ and web/src/ (the frozen migrations aside)', () => {
  const listing = /(['"])(?:admin|coach|agent)\1/g;
  const places = ['src', 'web/src']
    .flatMap(sourceFiles)
    .filter((file) => !file.startsWith('src/store/migrations/'))
    .flatMap((file) =>
      fs
        .readFileSync(file, 'utf8')
        .split('\n')
        .map((line, i) => ({ where: `${file}:${i + 1}`, roles: new Set([...line.matchAll(listing)].map((m) => m[0].slice(1, -1))) }))
        .filter((line) => line.roles.size === 3)
        .map((line) => line.where),
    );
  assert.deepEqual(places, ['src/accounts/roles.ts:5']);
});

test('every schema that names a role offers exactly ROLES', () => {
  assert.deepEqual(ROLES, ['admin', 'coach', 'agent']);
  assert.deepEqual(literals(UserSchema.properties.role), [...ROLES]);
  assert.deepEqual(literals(MeSchema.properties.user.properties.role), [...ROLES]);
  assert.deepEqual(literals(CreateUserBody.properties.role), [...ROLES]);
  assert.deepEqual(literals(UpdateUserBody.properties.role), [...ROLES]);
  assert.deepEqual(literals(DirectorySchema.properties.users.items.properties.role), [...ROLES]);
});

test("the frozen first migration's CHECK allows exactly ROLES", () => {
  const migration = fs.readFileSync('src/store/migrations/001-initial.ts', 'utf8');
  const check = /role in \(([^)]*)\)/.exec(migration);
  assert.ok(check, 'the users table checks its role');
  assert.deepEqual(
    check[1]!.split(',').map((role) => role.trim().replace(/^'|'$/g, '')),
    [...ROLES],
  );
});
