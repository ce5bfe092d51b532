import { MutationCache, QueryCache, QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { type ReactNode, useCallback, useEffect, useRef, useState } from 'react';
import { ApiError } from './api.js';
import { href, match, navigate, useLocation } from './router.js';
import { type Session, SessionContext, clientFor, storeApiKey, storedApiKey } from './session.js';
import { BatchView } from './views/BatchView.js';
import { BatchesList } from './views/BatchesList.js';
import { NewBatch } from './views/NewBatch.js';
import { ReplayDiff } from './views/ReplayDiff.js';
import { RunView } from './views/RunView.js';
import { RunsList } from './views/RunsList.js';
import { SignIn } from './views/SignIn.js';

export function App() {
  const [apiKey, setApiKey] = useState<string | null>(() => storedApiKey());
  const [signOutMessage, setSignOutMessage] = useState<string | null>(null);

  const signOut = useCallback((message?: string) => {
    storeApiKey(null);
    setApiKey(null);
    setSignOutMessage(message ?? null);
  }, []);
  if (!apiKey) {
    return (
      <SignIn
        message={signOutMessage}
        onSignedIn={(key) => {
          storeApiKey(key);
          setSignOutMessage(null);
          setApiKey(key);
        }}
      />
    );
  }
  return <SignedIn key={apiKey} apiKey={apiKey} signOut={signOut} />;
}

/** The app for one API key: its client, and a query cache of its own (a new key starts from nothing). */
function SignedIn({ apiKey, signOut }: { apiKey: string; signOut: (message?: string) => void }) {
  const [session] = useState<Session>(() => ({ client: clientFor(apiKey), signOut }));
  const [queryClient] = useState(() => {
    // A 401 anywhere (the key was revoked) signs out, with a message saying so.
    const onError = (error: unknown) => {
      if (error instanceof ApiError && error.status === 401)
        signOut('The API key is no longer accepted (it may have been revoked). Sign in again.');
    };
    return new QueryClient({
      queryCache: new QueryCache({ onError }),
      mutationCache: new MutationCache({ onError }),
      defaultOptions: {
        // The typed client already retries 429/503/network errors with backoff; polling does the rest.
        queries: { retry: false, refetchOnWindowFocus: true, staleTime: 500 },
        mutations: { retry: false },
      },
    });
  });
  return (
    <SessionContext.Provider value={session}>
      <QueryClientProvider client={queryClient}>
        <Layout onSignOut={() => signOut()}>
          <Routes />
        </Layout>
      </QueryClientProvider>
    </SessionContext.Provider>
  );
}

function Layout({ children, onSignOut }: { children: ReactNode; onSignOut: () => void }) {
  const { path } = useLocation();
  const section = path.startsWith('/batches') ? 'batches' : 'runs';
  const main = useRef<HTMLElement>(null);
  // Moving to another view moves the focus to its content, as a page load would.
  useEffect(() => {
    if (document.activeElement === document.body || document.activeElement?.closest('nav')) main.current?.focus();
  }, [path]);
  return (
    <>
      <a className="skip-link" href="#main" onClick={(e) => (e.preventDefault(), main.current?.focus())}>
        Skip to content
      </a>
      <header className="top">
        <a className="brand" href={href('/runs')}>
          agent-runs <span>console</span>
        </a>
        <nav aria-label="Sections">
          <a href={href('/runs')} aria-current={section === 'runs' ? 'page' : undefined}>
            Runs
          </a>
          <a href={href('/batches')} aria-current={section === 'batches' ? 'page' : undefined}>
            Replay batches
          </a>
        </nav>
        <button type="button" className="link-button sign-out" onClick={onSignOut}>
          Sign out
        </button>
      </header>
      <main id="main" ref={main} tabIndex={-1}>
        {children}
      </main>
    </>
  );
}

function Redirect({ to }: { to: string }) {
  useEffect(() => navigate(to, { replace: true }), [to]);
  return null;
}

function Routes() {
  const { path, query } = useLocation();
  let params: Record<string, string> | null;
  if (path === '/') return <Redirect to={href('/runs')} />;
  if (match('/runs', path)) return <RunsList query={query} />;
  if ((params = match('/runs/:id/diff', path))) return <ReplayDiff key={params.id} id={params.id} query={query} />;
  if ((params = match('/runs/:id', path))) return <RunView key={params.id} id={params.id} query={query} />;
  if (match('/batches', path)) return <BatchesList query={query} />;
  if (match('/batches/new', path)) return <NewBatch query={query} />;
  if ((params = match('/batches/:id', path))) return <BatchView key={params.id} id={params.id} query={query} />;
  return (
    <section className="state empty">
      <h1>Page not found</h1>
      <p>
        Nothing lives at <code>#{path}</code>. Go to the <a href={href('/runs')}>runs</a>.
      </p>
    </section>
  );
}
