import { parseWaitParams, WAIT_TIMEOUT_DEFAULT_MS } from './signals.js';

describe('parseWaitParams', () => {
  it('takes a valid signal name and the default timeout', () => {
    expect(parseWaitParams({ signal: 'approval.v2_x-1' })).toEqual({ signal: 'approval.v2_x-1', timeout_ms: WAIT_TIMEOUT_DEFAULT_MS });
    expect(parseWaitParams({ signal: 'a'.repeat(64), timeout_ms: 1000 })).toEqual({ signal: 'a'.repeat(64), timeout_ms: 1000 });
    expect(parseWaitParams({ signal: 'a', timeout_ms: 604_800_000 })).toEqual({ signal: 'a', timeout_ms: 604_800_000 });
  });

  it.each([
    [{}, 'signal'],
    [{ signal: '' }, 'signal'],
    [{ signal: 'a'.repeat(65) }, 'signal'],
    [{ signal: 'a b' }, 'signal'],
    [{ signal: 'a/b' }, 'signal'],
    [{ signal: 'ok', timeout_ms: 999 }, 'timeout_ms'],
    [{ signal: 'ok', timeout_ms: 604_800_001 }, 'timeout_ms'],
    [{ signal: 'ok', timeout_ms: 1000.5 }, 'timeout_ms'],
    [{ signal: 'ok', timeout_ms: '1000' }, 'timeout_ms'],
    [{ signal: 'ok', timeout_ms: null }, 'timeout_ms'],
  ])('refuses %j (%s)', (params, path) => {
    expect(parseWaitParams(params as Record<string, unknown>)).toMatchObject({ path });
  });
});
