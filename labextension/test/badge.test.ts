import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import {
  checkedAgo,
  IConnection,
  parseCheckResult,
  parseConnection,
  parseServerClock,
  shownState,
  stateLabel,
  testText
} from '../src/connections';

function connection(overrides: Record<string, unknown> = {}): IConnection {
  const conn = parseConnection({
    name: 'prod',
    state: 'connected',
    message: 'Connected as ada@example.com.',
    has_tokens: true,
    check_outcome: 'connected',
    check_reason: '',
    checked_at: 1000,
    ...overrides
  });
  assert.ok(conn);
  return conn;
}

describe('parseConnection (check and preset fields)', () => {
  it('reads them, and defaults what is missing or malformed', () => {
    const conn = connection({ preset: true });
    assert.equal(conn.preset, true);
    assert.equal(conn.has_tokens, true);
    assert.equal(conn.checked_at, 1000);
    const bare = parseConnection({ name: 'x', preset: 'yes', checked_at: 'soon' });
    assert.ok(bare);
    assert.equal(bare.preset, false);
    assert.equal(bare.has_tokens, false);
    assert.equal(bare.checked_at, null);
    assert.equal(bare.check_outcome, '');
  });
});

describe('checkedAgo', () => {
  it('moves in steps of 5 s below a minute', () => {
    const cases: [number, string][] = [
      [-3, 'just now'],
      [4.9, 'just now'],
      [5, '5 s ago'],
      [12, '10 s ago'],
      [59, '55 s ago'],
      [60, '1 min ago'],
      [7200, '2 h ago'],
      [86400, '1 day ago'],
      [200000, '2 days ago']
    ];
    for (const [seconds, text] of cases) {
      assert.equal(checkedAgo(seconds), text, String(seconds));
    }
  });
});

describe('shownState', () => {
  it('shows a recent passed check with its age', () => {
    assert.deepEqual(shownState(connection(), 1012, 30, false), {
      state: 'connected',
      checked: 'checked 10 s ago',
      sentence: 'Connected as ada@example.com.'
    });
  });

  it('never shows an unverified connection as connected', () => {
    assert.equal(shownState(connection(), 1061, 30, false).state, 'checking');
    assert.equal(shownState(connection({ checked_at: null }), 1000, 30, false).state, 'checking');
    assert.equal(shownState(connection(), 1001, 30, true).state, 'checking');
    // Without an interval (an old server), the last result shows with its age.
    assert.equal(shownState(connection(), 5000, null, false).checked, 'checked 1 h ago');
  });

  it('says unreachable and failed checks with their reason', () => {
    const down = shownState(
      connection({
        check_outcome: 'unreachable',
        check_reason: '127.0.0.1 refused the connection.'
      }),
      1000,
      30,
      false
    );
    assert.equal(down.state, 'unreachable');
    assert.match(down.sentence, /refused the connection/);
    assert.equal(stateLabel(down.state), 'Salesforce unreachable');
    const odd = shownState(
      connection({ check_outcome: 'failed', check_reason: 'HTTP 404.' }),
      1000,
      30,
      false
    );
    assert.equal(odd.state, 'check_failed');
  });

  it('shows the store state of a connection without tokens', () => {
    const revoked = connection({
      state: 'reauthorization_required',
      has_tokens: false,
      message: 'Authorize again.'
    });
    assert.deepEqual(shownState(revoked, 1000, 30, false), {
      state: 'reauthorization_required',
      checked: '',
      sentence: 'Authorize again.'
    });
  });
});

describe('parseServerClock and parseCheckResult', () => {
  it('reads the clock, or nothing', () => {
    assert.deepEqual(parseServerClock({ now: 5, check_interval: 30 }), {
      now: 5,
      checkInterval: 30
    });
    assert.equal(parseServerClock({ now: 5 }), null);
    assert.equal(parseServerClock({ now: 5, check_interval: 0 }), null);
    assert.equal(parseServerClock(null), null);
  });

  it('reads a check answer and says it as a Test result', () => {
    const result = parseCheckResult({
      outcome: 'connected',
      reason: '',
      checked_at: 100,
      ran: true,
      took_ms: 41.6,
      now: 101,
      connection: { name: 'prod', state: 'connected' }
    });
    assert.ok(result);
    assert.equal(result.connection?.name, 'prod');
    assert.equal(testText(result, 101), 'Test passed in 42 ms: Salesforce accepts this authorization.');
    assert.equal(
      testText({ ...result, ran: false }, 112),
      'Test passed: Salesforce accepted this authorization (checked 10 s ago).'
    );
    assert.equal(
      testText({ ...result, outcome: 'reauthorization_required', reason: 'Revoked.' }, 101),
      'Test failed: Revoked.'
    );
    assert.equal(parseCheckResult({ reason: 'x' }), null);
  });
});
