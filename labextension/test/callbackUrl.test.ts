import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import {
  computeCallbackUrls,
  describeCallbackUrls,
  normalizePath,
  resolvePopupUrl
} from '../src/callbackUrl';

describe('computeCallbackUrls', () => {
  it('root base URL', () => {
    assert.deepEqual(computeCallbackUrls({ origin: 'http://localhost:8888', baseUrl: '/' }), [
      'http://localhost:8888/oauth/redirect/salesforce'
    ]);
  });

  it('non-root base URL', () => {
    assert.deepEqual(
      computeCallbackUrls({ origin: 'https://jupyter.example.com', baseUrl: '/lab-server/' }),
      ['https://jupyter.example.com/lab-server/oauth/redirect/salesforce']
    );
  });

  it('absolute base URL as PageConfig.getBaseUrl() returns it', () => {
    assert.deepEqual(
      computeCallbackUrls({
        origin: 'https://jupyter.example.com',
        baseUrl: 'https://jupyter.example.com/user/ada/'
      }),
      ['https://jupyter.example.com/user/ada/oauth/redirect/salesforce']
    );
    assert.deepEqual(
      computeCallbackUrls({ origin: 'http://127.0.0.1:8888', baseUrl: 'http://127.0.0.1:8888/' }),
      ['http://127.0.0.1:8888/oauth/redirect/salesforce']
    );
  });

  it('missing or doubled slashes', () => {
    const expected = ['https://h.example/base/oauth/redirect/salesforce'];
    for (const baseUrl of ['base', '/base', 'base/', '/base/', '//base//']) {
      assert.deepEqual(
        computeCallbackUrls({ origin: 'https://h.example', baseUrl }),
        expected,
        baseUrl
      );
    }
    assert.deepEqual(computeCallbackUrls({ origin: 'https://h.example/', baseUrl: '' }), [
      'https://h.example/oauth/redirect/salesforce'
    ]);
    assert.deepEqual(computeCallbackUrls({ origin: 'https://h.example', baseUrl: '/a/b' }), [
      'https://h.example/a/b/oauth/redirect/salesforce'
    ]);
  });

  it('JupyterHub without hubHost: hub-wide URL first, on the page origin', () => {
    assert.deepEqual(
      computeCallbackUrls({
        origin: 'https://hub.example.com',
        baseUrl: '/user/ada/',
        hubPrefix: '/hub/',
        hubHost: '',
        hubUser: 'ada'
      }),
      [
        'https://hub.example.com/hub/user-redirect/oauth/redirect/salesforce',
        'https://hub.example.com/user/ada/oauth/redirect/salesforce'
      ]
    );
  });

  it('JupyterHub with hubHost (subdomains)', () => {
    assert.deepEqual(
      computeCallbackUrls({
        origin: 'https://ada.users.example.com',
        baseUrl: 'https://ada.users.example.com/user/ada/',
        hubPrefix: '/hub/',
        hubHost: 'https://hub.example.com',
        hubUser: 'ada'
      }),
      [
        'https://hub.example.com/hub/user-redirect/oauth/redirect/salesforce',
        'https://ada.users.example.com/user/ada/oauth/redirect/salesforce'
      ]
    );
    // hubHost with a trailing slash, or without a scheme.
    assert.equal(
      computeCallbackUrls({
        origin: 'https://ada.users.example.com',
        baseUrl: '/user/ada/',
        hubPrefix: 'hub',
        hubHost: 'https://hub.example.com/'
      })[0],
      'https://hub.example.com/hub/user-redirect/oauth/redirect/salesforce'
    );
    assert.equal(
      computeCallbackUrls({
        origin: 'http://ada.users.localhost:8000',
        baseUrl: '/user/ada/',
        hubPrefix: '/hub/',
        hubHost: 'hub.localhost:8000'
      })[0],
      'http://hub.localhost:8000/hub/user-redirect/oauth/redirect/salesforce'
    );
  });

  it('JupyterHub under a prefix', () => {
    assert.deepEqual(
      computeCallbackUrls({
        origin: 'https://example.com',
        baseUrl: '/jhub/user/ada/',
        hubPrefix: '/jhub/hub/'
      }),
      [
        'https://example.com/jhub/hub/user-redirect/oauth/redirect/salesforce',
        'https://example.com/jhub/user/ada/oauth/redirect/salesforce'
      ]
    );
  });

  it('no hubPrefix means no hub URL, even with hubHost/hubUser set', () => {
    assert.deepEqual(
      computeCallbackUrls({
        origin: 'http://localhost:8888',
        baseUrl: '/',
        hubPrefix: '',
        hubHost: 'https://hub.example.com',
        hubUser: 'ada'
      }),
      ['http://localhost:8888/oauth/redirect/salesforce']
    );
  });

  it('describes the URLs', () => {
    const described = describeCallbackUrls({
      origin: 'https://hub.example.com',
      baseUrl: '/user/ada/',
      hubPrefix: '/hub/'
    });
    assert.deepEqual(
      described.map(d => d.kind),
      ['hub', 'server']
    );
    assert.match(described[0].label, /Recommended/);
  });
});

describe('normalizePath', () => {
  it('adds leading and trailing slashes', () => {
    assert.equal(normalizePath(''), '/');
    assert.equal(normalizePath('/'), '/');
    assert.equal(normalizePath('a'), '/a/');
    assert.equal(normalizePath('/a//b/'), '/a/b/');
  });
});

describe('resolvePopupUrl', () => {
  const page = 'https://jupyter.example.com/user/ada/lab/tree/x.ipynb';
  it('resolves a server-relative start URL', () => {
    assert.equal(
      resolvePopupUrl('/user/ada/oauth/start/salesforce?state=abc', page),
      'https://jupyter.example.com/user/ada/oauth/start/salesforce?state=abc'
    );
  });
  it('keeps absolute http(s) URLs', () => {
    assert.equal(
      resolvePopupUrl('http://127.0.0.1:8888/oauth/start/salesforce?state=s', page),
      'http://127.0.0.1:8888/oauth/start/salesforce?state=s'
    );
  });
  it('refuses other schemes and non-strings', () => {
    assert.equal(resolvePopupUrl('javascript:alert(1)', page), null);
    assert.equal(resolvePopupUrl(' JavaScript:alert(1)', page), null);
    assert.equal(resolvePopupUrl('data:text/html,hi', page), null);
    assert.equal(resolvePopupUrl('', page), null);
    assert.equal(resolvePopupUrl('   ', page), null);
    assert.equal(resolvePopupUrl(null, page), null);
    assert.equal(resolvePopupUrl(42, page), null);
  });
});
