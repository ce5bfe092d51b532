import { orAfter } from './timeout.js';

describe('orAfter', () => {
  it('settles like the promise when it settles first (value or error), and clears its timer', async () => {
    let fallbacks = 0;
    await expect(orAfter(Promise.resolve(1), 50, () => ++fallbacks)).resolves.toBe(1);
    await expect(orAfter(Promise.reject(new Error('no')), 50, () => ++fallbacks)).rejects.toThrow('no');
    await new Promise((r) => setTimeout(r, 80));
    expect(fallbacks).toBe(0);
  });

  it('settles like the fallback when the promise is late, and ignores the late outcome', async () => {
    let rejectLate!: (e: Error) => void;
    const late = new Promise<number>((_, reject) => (rejectLate = reject));
    await expect(orAfter(late, 10, () => 2)).resolves.toBe(2);
    rejectLate(new Error('late')); // no unhandled rejection
    await expect(orAfter(new Promise<number>(() => undefined), 10, () => Promise.reject(new Error('timed out')))).rejects.toThrow(
      'timed out',
    );
  });
});
