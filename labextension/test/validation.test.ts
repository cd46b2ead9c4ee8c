import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { sessionCellSource } from '../src/cells';
import {
  DEFAULT_SCOPES,
  IConnectionFormInput,
  loginChoiceFor,
  loginUrlFor,
  validateConnectionForm,
  validateConnectionName,
  validateLoginUrl,
  validateScopes
} from '../src/validation';

function form(extra: Partial<IConnectionFormInput> = {}): IConnectionFormInput {
  return {
    name: 'prod',
    clientId: '3MVG9abc.DEF_ghi',
    clientSecret: 'ABCDEF0123456789',
    loginHost: 'production',
    customLoginUrl: '',
    scopes: 'api refresh_token',
    ...extra
  };
}

describe('validateConnectionName', () => {
  it('accepts names of letters, digits, _ . -', () => {
    for (const name of ['prod', 'a', 'Sandbox_2', 'my.org-dev', 'x'.repeat(64)]) {
      assert.equal(validateConnectionName(name), null, name);
    }
  });
  it('rejects empty, too long and other characters', () => {
    for (const name of ['', '   ', 'x'.repeat(65), 'my org', 'a/b', 'a"b', "a'b", 'é', 'a\nb', '<b>']) {
      assert.equal(typeof validateConnectionName(name), 'string', JSON.stringify(name));
    }
  });
});

describe('validateLoginUrl', () => {
  it('accepts https URLs and normalizes the trailing slash', () => {
    assert.deepEqual(validateLoginUrl('https://login.salesforce.com'), {
      url: 'https://login.salesforce.com'
    });
    assert.deepEqual(validateLoginUrl(' https://acme.my.salesforce.com/ '), {
      url: 'https://acme.my.salesforce.com'
    });
    assert.deepEqual(validateLoginUrl('HTTPS://Acme.My.Salesforce.com:443/'), {
      url: 'https://acme.my.salesforce.com'
    });
  });
  it('accepts http only for loopback hosts', () => {
    assert.deepEqual(validateLoginUrl('http://localhost:8765'), { url: 'http://localhost:8765' });
    assert.deepEqual(validateLoginUrl('http://127.0.0.1:8765/'), { url: 'http://127.0.0.1:8765' });
    assert.deepEqual(validateLoginUrl('http://[::1]:8765'), { url: 'http://[::1]:8765' });
    for (const url of [
      'http://login.salesforce.com',
      'http://127.0.0.2:8765',
      'http://localhost.evil.com',
      'http://10.0.0.1'
    ]) {
      assert.ok(validateLoginUrl(url).error, url);
    }
  });
  it('rejects other schemes, missing scheme, credentials, query and fragment', () => {
    for (const url of [
      '',
      'login.salesforce.com',
      '//login.salesforce.com',
      'ftp://login.salesforce.com',
      'javascript:alert(1)',
      'https://',
      'https://user:pw@login.salesforce.com',
      'https://login.salesforce.com?x=1',
      'https://login.salesforce.com/#frag',
      'https://login.salesforce.com/?',
      'https://login.salesforce.com/some/path',
      'https://acme.my.salesforce.com/services/oauth2/authorize'
    ]) {
      assert.ok(validateLoginUrl(url).error, url);
    }
  });
});

describe('validateScopes', () => {
  it('defaults when empty and normalizes spaces', () => {
    assert.deepEqual(validateScopes(''), { scopes: DEFAULT_SCOPES });
    assert.deepEqual(validateScopes('  '), { scopes: 'api refresh_token' });
    assert.deepEqual(validateScopes(' api   refresh_token\tweb api '), {
      scopes: 'api refresh_token web'
    });
  });
  it('rejects characters outside RFC 6749 scope tokens', () => {
    assert.ok(validateScopes('api "x"').error);
    assert.ok(validateScopes('api a\\b').error);
    assert.ok(validateScopes('api é').error);
  });
});

describe('validateConnectionForm', () => {
  it('builds the PUT payload for a valid form', () => {
    assert.deepEqual(validateConnectionForm(form({ name: ' prod ', clientSecret: ' s3cret\n' })), {
      ok: true,
      name: 'prod',
      payload: {
        client_id: '3MVG9abc.DEF_ghi',
        client_secret: 's3cret',
        login_url: 'https://login.salesforce.com',
        scopes: 'api refresh_token'
      }
    });
  });
  it('uses the sandbox host, and the custom URL only when custom is chosen', () => {
    const sandbox = validateConnectionForm(
      form({ loginHost: 'sandbox', customLoginUrl: 'garbage' })
    );
    assert.ok(sandbox.ok);
    assert.equal(sandbox.payload.login_url, 'https://test.salesforce.com');
    const custom = validateConnectionForm(
      form({ loginHost: 'custom', customLoginUrl: 'http://127.0.0.1:9000/' })
    );
    assert.ok(custom.ok);
    assert.equal(custom.payload.login_url, 'http://127.0.0.1:9000');
  });
  it('collects every error at once', () => {
    const result = validateConnectionForm({
      name: 'my org',
      clientId: '',
      clientSecret: '   ',
      loginHost: 'custom',
      customLoginUrl: 'http://example.com',
      scopes: 'api "x"'
    });
    assert.equal(result.ok, false);
    if (!result.ok) {
      assert.deepEqual(Object.keys(result.errors).sort(), [
        'clientId',
        'clientSecret',
        'loginUrl',
        'name',
        'scopes'
      ]);
    }
  });
  it('rejects a client id with spaces and an empty custom URL', () => {
    const result = validateConnectionForm(
      form({ clientId: 'abc def', loginHost: 'custom', customLoginUrl: '' })
    );
    assert.equal(result.ok, false);
    if (!result.ok) {
      assert.ok(result.errors.clientId);
      assert.ok(result.errors.loginUrl);
      assert.equal(result.errors.name, undefined);
    }
  });
  it('rejects an unknown login host choice', () => {
    const result = validateConnectionForm(
      form({ loginHost: 'toString' as IConnectionFormInput['loginHost'] })
    );
    assert.equal(result.ok, false);
  });
});

describe('sessionCellSource', () => {
  it('builds the cell', () => {
    assert.equal(
      sessionCellSource('prod'),
      'import ak_salesforce_nb as aksf\nsf = aksf.session("prod")'
    );
    assert.equal(
      sessionCellSource(' my.org-dev '),
      'import ak_salesforce_nb as aksf\nsf = aksf.session("my.org-dev")'
    );
  });
  it('refuses names that could break out of the string literal', () => {
    assert.throws(() => sessionCellSource('x"); import os; ("'));
    assert.throws(() => sessionCellSource(''));
  });
});

describe('loginChoiceFor', () => {
  it('picks the listed hosts and keeps any other as a custom URL', () => {
    assert.deepEqual(loginChoiceFor('https://login.salesforce.com'), {
      choice: 'production',
      customLoginUrl: ''
    });
    assert.deepEqual(loginChoiceFor('https://test.salesforce.com/'), {
      choice: 'sandbox',
      customLoginUrl: ''
    });
    const custom = loginChoiceFor('https://acme.my.salesforce.com');
    assert.deepEqual(custom, {
      choice: 'custom',
      customLoginUrl: 'https://acme.my.salesforce.com'
    });
    assert.equal(loginUrlFor(custom.choice, custom.customLoginUrl), 'https://acme.my.salesforce.com');
  });
});
