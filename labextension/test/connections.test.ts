import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import {
  errorMessageFromBody,
  parseAuthorizeUrl,
  parseConnection,
  parseConnectionList,
  parseDefaults,
  stateLabel
} from '../src/connections';

describe('parseConnectionList', () => {
  it('parses, fills missing fields and sorts by name', () => {
    const list = parseConnectionList({
      connections: [
        {
          name: 'sandbox',
          state: 'ready',
          message: 'Ready to authorize.',
          client_id: 'cid',
          login_url: 'https://test.salesforce.com',
          scopes: 'api refresh_token',
          callback_url: 'http://localhost:8888/oauth/redirect/salesforce',
          instance_url: null,
          username: null,
          organization_id: null,
          user_id: null,
          updated_at: '2025-01-01T00:00:00Z'
        },
        {
          name: 'prod',
          state: 'connected',
          username: 'ada@acme.com',
          scopes: ['api', 'refresh_token'],
          updated_at: 1735689600
        },
        { state: 'connected' },
        'garbage'
      ]
    });
    assert.deepEqual(
      list.map(c => c.name),
      ['prod', 'sandbox']
    );
    assert.equal(list[0].username, 'ada@acme.com');
    assert.equal(list[0].scopes, 'api refresh_token');
    assert.equal(list[0].instance_url, '');
    assert.equal(list[0].updated_at, '1735689600');
    assert.equal(list[1].instance_url, '');
    assert.equal(list[1].message, 'Ready to authorize.');
  });
  it('throws on a body without a connections list', () => {
    assert.throws(() => parseConnectionList({}));
    assert.throws(() => parseConnectionList(null));
    assert.throws(() => parseConnectionList({ connections: {} }));
  });
  it('defaults a missing state', () => {
    assert.equal(parseConnection({ name: 'x' })?.state, 'not_configured');
  });
});

describe('stateLabel', () => {
  it('labels known and unknown states', () => {
    assert.equal(stateLabel('reauthorization_required'), 'reauthorization required');
    assert.equal(stateLabel('waiting'), 'waiting for authorization');
    assert.equal(stateLabel('refreshing'), 'refreshing');
    assert.equal(stateLabel('toString'), 'toString');
  });
});

describe('parseAuthorizeUrl', () => {
  it('reads authorize_url', () => {
    assert.equal(
      parseAuthorizeUrl({ authorize_url: '/oauth/start/salesforce?state=s' }),
      '/oauth/start/salesforce?state=s'
    );
    assert.equal(parseAuthorizeUrl({ authorize_url: '' }), null);
    assert.equal(parseAuthorizeUrl({}), null);
    assert.equal(parseAuthorizeUrl(null), null);
  });
});

describe('errorMessageFromBody', () => {
  it('prefers the server message', () => {
    assert.equal(
      errorMessageFromBody(400, 'Bad Request', '{"message": "Invalid login_url"}'),
      'Invalid login_url'
    );
  });
  it('falls back to the status', () => {
    assert.match(errorMessageFromBody(500, 'Internal Server Error', '<html>'), /HTTP 500/);
    assert.match(errorMessageFromBody(404, 'Not Found', ''), /server extension/);
  });
});

describe('parseDefaults', () => {
  it('reads the server defaults for new connections, or null', () => {
    assert.deepEqual(
      parseDefaults({
        connections: [],
        defaults: { login_url: 'https://acme.my.salesforce.com', scopes: 'api id' }
      }),
      { login_url: 'https://acme.my.salesforce.com', scopes: 'api id' }
    );
    assert.equal(parseDefaults({ connections: [] }), null);
    assert.equal(parseDefaults({ defaults: { login_url: 5, scopes: 'api' } }), null);
    assert.equal(parseDefaults(null), null);
  });
});
