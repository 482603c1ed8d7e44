import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { bytesHoldLoneSurrogate, hasLoneSurrogate } from '../src/store/documents/document-text.js';

/**
 * A document holding a lone surrogate is rendered from the tables instead of spliced or kept as
 * rendered (neither database stores one as given); text that merely holds a backslash before `ud`
 * is not one, so a note with a Windows path (`C:\udata`) keeps the cheaper writes.
 */
describe('hasLoneSurrogate', () => {
  const cases: Array<[string, string, boolean]> = [
    ['a high surrogate alone', '\ud800x', true],
    ['a low surrogate alone', 'x\udfff', true],
    ['a lone surrogate after an escaped backslash', '\\\ud83d', true],
    ['a pair (written as it is, not escaped)', '\ud83d\ude00', false],
    ['a backslash before ud', 'C:\\udata', false],
    ['the text of an escape', '\\ud83d', false],
    ['two backslashes before ud', '\\\\udf', false],
    ['no backslash', 'plain', false],
  ];
  for (const [name, text, expected] of cases) {
    it(`${expected ? 'finds' : 'finds none in'} ${name}`, () => {
      const json = JSON.stringify({ coachNotes: text });
      assert.equal(hasLoneSurrogate(json), expected, json);
      assert.equal(bytesHoldLoneSurrogate(Buffer.from(json, 'utf8')), expected, json);
    });
  }
});
