import { linkedAbort } from './abort.js';

describe('linkedAbort', () => {
  it('aborts with the reason of the first source that aborts', () => {
    const a = new AbortController();
    const b = new AbortController();
    const linked = linkedAbort([a.signal, b.signal]);
    expect(linked.signal.aborted).toBe(false);
    b.abort('b went first');
    expect(linked.signal.aborted).toBe(true);
    expect(linked.signal.reason).toBe('b went first');
  });

  it('is aborted at once when a source already is', () => {
    const a = new AbortController();
    a.abort('early');
    expect(linkedAbort([a.signal]).signal.reason).toBe('early');
  });

  it('after dispose, a source that aborts no longer reaches it (no listener is left on the source)', () => {
    const longLived = new AbortController();
    const linked = linkedAbort([longLived.signal]);
    linked.dispose();
    longLived.abort('later');
    expect(linked.signal.aborted).toBe(false);
  });
});
