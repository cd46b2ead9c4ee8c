import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import {
  MessageDeduplicator,
  OAUTH_CHANNEL_NAME,
  OAUTH_MESSAGE_TYPE,
  parseOAuthMessage
} from '../src/messages';

const PAGE = 'https://jupyter.example.com';

function msg(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { type: 'ak-salesforce-nb:oauth', name: 'prod', state: 'connected', ...extra };
}

describe('parseOAuthMessage', () => {
  it('uses the names the callback page uses', () => {
    assert.equal(OAUTH_CHANNEL_NAME, 'ak-salesforce-nb');
    assert.equal(OAUTH_MESSAGE_TYPE, 'ak-salesforce-nb:oauth');
  });

  it('accepts a connected message from the own origin', () => {
    assert.deepEqual(parseOAuthMessage(msg(), PAGE, PAGE), {
      type: 'ak-salesforce-nb:oauth',
      name: 'prod',
      state: 'connected'
    });
  });

  it('accepts an error message and keeps its text', () => {
    assert.deepEqual(
      parseOAuthMessage(msg({ state: 'error', message: 'access_denied: end-user denied' }), PAGE, PAGE),
      {
        type: 'ak-salesforce-nb:oauth',
        name: 'prod',
        state: 'error',
        message: 'access_denied: end-user denied'
      }
    );
  });

  it('accepts the expected connection name', () => {
    assert.ok(parseOAuthMessage(msg(), PAGE, PAGE, 'prod'));
  });

  it('rejects a foreign origin', () => {
    assert.equal(parseOAuthMessage(msg(), 'https://evil.example.com', PAGE), null);
    assert.equal(parseOAuthMessage(msg(), 'https://login.salesforce.com', PAGE), null);
    // Same host, other scheme or port: another origin.
    assert.equal(parseOAuthMessage(msg(), 'http://jupyter.example.com', PAGE), null);
    assert.equal(parseOAuthMessage(msg(), 'https://jupyter.example.com:8443', PAGE), null);
    // Prefix tricks.
    assert.equal(parseOAuthMessage(msg(), 'https://jupyter.example.com.evil.io', PAGE), null);
    assert.equal(parseOAuthMessage(msg(), `${PAGE}/`, PAGE), null);
  });

  it('rejects opaque and empty origins', () => {
    assert.equal(parseOAuthMessage(msg(), 'null', 'null'), null);
    assert.equal(parseOAuthMessage(msg(), '', ''), null);
    assert.equal(parseOAuthMessage(msg(), '', PAGE), null);
  });

  it('rejects a wrong type', () => {
    assert.equal(parseOAuthMessage(msg({ type: 'ak-salesforce-nb:other' }), PAGE, PAGE), null);
    assert.equal(parseOAuthMessage(msg({ type: 'AK-SALESFORCE-NB:OAUTH' }), PAGE, PAGE), null);
    assert.equal(parseOAuthMessage(msg({ type: undefined }), PAGE, PAGE), null);
    // webpack dev server, React devtools and others post messages too.
    assert.equal(parseOAuthMessage({ source: 'react-devtools', payload: {} }, PAGE, PAGE), null);
  });

  it('rejects a wrong connection name', () => {
    assert.equal(parseOAuthMessage(msg(), PAGE, PAGE, 'sandbox'), null);
    assert.equal(parseOAuthMessage(msg({ name: 'PROD' }), PAGE, PAGE, 'prod'), null);
    // An unset expected name (empty string) matches nothing.
    assert.equal(parseOAuthMessage(msg(), PAGE, PAGE, ''), null);
  });

  it('rejects unknown states', () => {
    for (const state of ['waiting', 'Connected', '', null, 1, undefined]) {
      assert.equal(parseOAuthMessage(msg({ state }), PAGE, PAGE), null, String(state));
    }
  });

  it('rejects malformed data', () => {
    for (const data of [
      null,
      undefined,
      'ak-salesforce-nb:oauth',
      42,
      true,
      [],
      ['ak-salesforce-nb:oauth', 'prod', 'connected'],
      JSON.stringify(msg()),
      msg({ name: '' }),
      msg({ name: 42 }),
      msg({ name: ['prod'] }),
      msg({ name: 'x'.repeat(201) }),
      msg({ message: 42 }),
      msg({ message: { html: '<b>' } }),
      new Date()
    ]) {
      assert.equal(parseOAuthMessage(data, PAGE, PAGE), null, JSON.stringify(data));
    }
  });

  it('does not take inherited properties', () => {
    const proto = { type: 'ak-salesforce-nb:oauth', name: 'prod', state: 'connected' };
    assert.equal(parseOAuthMessage(Object.create(proto), PAGE, PAGE), null);
  });

  it('drops an empty message and truncates a long one', () => {
    const empty = parseOAuthMessage(msg({ message: '' }), PAGE, PAGE);
    assert.ok(empty);
    assert.equal('message' in empty, false);
    const nullMessage = parseOAuthMessage(msg({ message: null }), PAGE, PAGE);
    assert.ok(nullMessage);
    const long = parseOAuthMessage(msg({ message: 'a'.repeat(5000) }), PAGE, PAGE);
    assert.ok(long);
    assert.equal(long.message?.length, 1000);
  });

  it('ignores extra fields', () => {
    const parsed = parseOAuthMessage(msg({ access_token: 'secret' }), PAGE, PAGE);
    assert.deepEqual(parsed, { type: 'ak-salesforce-nb:oauth', name: 'prod', state: 'connected' });
  });
});

describe('MessageDeduplicator', () => {
  const parsed = (state: 'connected' | 'error', name = 'prod') => ({
    type: 'ak-salesforce-nb:oauth' as const,
    name,
    state
  });

  it('drops the second copy within the window, accepts it later', () => {
    let now = 1000;
    const dedupe = new MessageDeduplicator(3000, () => now);
    assert.equal(dedupe.accept(parsed('connected')), true);
    now += 10;
    assert.equal(dedupe.accept(parsed('connected')), false);
    assert.equal(dedupe.accept(parsed('connected', 'sandbox')), true);
    assert.equal(dedupe.accept(parsed('error')), true);
    now += 5000;
    assert.equal(dedupe.accept(parsed('connected')), true);
  });
});
