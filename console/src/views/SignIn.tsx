import { type FormEvent, useEffect, useRef, useState } from 'react';
import { call } from '../api.js';
import { describeError } from '../components/States.js';
import { clientFor } from '../session.js';

/**
 * Sign-in with a tenant API key. The input has no `name` and the form posts nowhere (the page's
 * CSP has form-action 'none'), so the key can never end up in a URL, even with scripts off.
 */
export function SignIn({ message, onSignedIn }: { message: string | null; onSignedIn: (apiKey: string) => void }) {
  const [key, setKey] = useState('');
  const [error, setError] = useState<{ title: string; detail: string } | null>(null);
  const [busy, setBusy] = useState(false);
  const input = useRef<HTMLInputElement>(null);

  useEffect(() => {
    document.title = 'Sign in · agent-runs console';
    input.current?.focus();
  }, []);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const apiKey = key.trim();
    if (!apiKey) {
      setError({ title: 'API key required', detail: 'Paste the api_key printed by `npm run cli -- tenant:create <name>`.' });
      return;
    }
    setBusy(true);
    setError(null);
    try {
      await call(clientFor(apiKey).GET('/v1/runs', { params: { query: { limit: 1 } } }));
      onSignedIn(apiKey);
    } catch (failure) {
      const described = describeError(failure, 'key');
      setError(
        described.title === 'API key not accepted'
          ? { title: 'This API key was not accepted', detail: 'Check that you pasted the whole key, and that it was not revoked.' }
          : described,
      );
      setBusy(false);
      input.current?.focus();
    }
  };

  return (
    <main id="main" className="sign-in">
      <h1>agent-runs console</h1>
      <p>Sign in with a tenant API key to see that tenant&apos;s runs, traces and replays.</p>
      <form method="post" onSubmit={(e) => void submit(e)} noValidate aria-describedby="key-help">
        <label htmlFor="api-key">Tenant API key</label>
        <input
          id="api-key"
          ref={input}
          type="password"
          autoComplete="off"
          spellCheck={false}
          value={key}
          onChange={(e) => setKey(e.target.value)}
          aria-invalid={error ? true : undefined}
          aria-describedby={error ? 'key-error key-help' : 'key-help'}
        />
        <p id="key-help" className="help">
          Create one with <code>npm run cli -- tenant:create &lt;name&gt;</code>. The key is kept in this tab&apos;s session storage only,
          and sent as a Bearer header; it is never put in a URL.
        </p>
        {(error ?? message) && (
          <div id="key-error" className="state error" role="alert">
            <p className="state-title">{error?.title ?? 'Signed out'}</p>
            <p>{error?.detail ?? message}</p>
          </div>
        )}
        <button type="submit" className="primary" disabled={busy}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
    </main>
  );
}
