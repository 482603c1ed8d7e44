import assert from 'node:assert/strict';
import fs from 'node:fs';
import { test } from 'node:test';

const read = (lang: string) => JSON.parse(fs.readFileSync(`web/src/locales/${lang}.json`, 'utf8')) as Record<string, string>;
const placeholders = (text: string) => [...text.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();

test('every message key exists in English and Korean, with the same placeholders and no empty text', () => {
  const en = read('en');
  const ko = read('ko');
  assert.deepEqual(Object.keys(ko).sort(), Object.keys(en).sort());
  for (const [key, text] of Object.entries(en)) {
    assert.notEqual(text.trim(), '', `en ${key} is empty`);
    assert.notEqual(ko[key]!.trim(), '', `ko ${key} is empty`);
    assert.deepEqual(placeholders(ko[key]!), placeholders(text), `placeholders of ${key}`);
  }
});

test('the names SPEC §5 fixes are the English texts of the console', () => {
  const en = read('en');
  assert.equal(en['signIn.email'], 'Email');
  assert.equal(en['signIn.password'], 'Password');
  assert.equal(en['signIn.submit'], 'Sign in');
  assert.equal(en['invite.password'], 'New password');
  assert.equal(en['invite.submit'], 'Set password');
  assert.equal(en['nav.sessions'], 'Sessions');
  assert.equal(en['nav.dashboard'], 'Dashboard');
  assert.equal(en['nav.signOut'], 'Sign out');
});

test('every key the console looks up is defined', () => {
  const en = read('en');
  const used = new Set<string>();
  const walk = (dir: string) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const file = `${dir}/${entry.name}`;
      if (entry.isDirectory()) walk(file);
      else if (/\.tsx?$/.test(entry.name))
        for (const m of fs.readFileSync(file, 'utf8').matchAll(/\bt\('([a-zA-Z]+\.[a-zA-Z.]+)'/g)) used.add(m[1]!);
    }
  };
  walk('web/src');
  assert.ok(used.size > 100, `found ${used.size} keys`);
  for (const key of used) assert.ok(key in en, `${key} is looked up but not in en.json`);
});
