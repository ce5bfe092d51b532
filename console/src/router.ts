import { useSyncExternalStore } from 'react';

/**
 * Hash routing: every view is a link such as `#/runs/<id>?step=2`, path and query both in the hash,
 * so a view can be bookmarked, shared or opened in a new tab, and the server only ever serves
 * /console. The URL holds ids and filters only: never the API key.
 */
export interface Location {
  path: string;
  query: URLSearchParams;
}

const subscribe = (callback: () => void) => {
  window.addEventListener('hashchange', callback);
  return () => window.removeEventListener('hashchange', callback);
};
const snapshot = () => window.location.hash;

export function parseHash(hash: string): Location {
  const raw = hash.replace(/^#/, '') || '/';
  const [path, search = ''] = raw.split('?', 2);
  return { path: path.startsWith('/') ? path : `/${path}`, query: new URLSearchParams(search) };
}

export function useLocation(): Location {
  const hash = useSyncExternalStore(subscribe, snapshot);
  return parseHash(hash);
}

/** `#/path?query`, leaving out empty query values. */
export function href(path: string, query: Record<string, string | number | null | undefined> = {}): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query))
    if (value !== undefined && value !== null && value !== '') params.set(key, String(value));
  const search = params.toString();
  return `#${path}${search ? `?${search}` : ''}`;
}

export function navigate(to: string, options: { replace?: boolean } = {}): void {
  if (options.replace) {
    const oldURL = window.location.href;
    history.replaceState(history.state, '', to);
    window.dispatchEvent(new HashChangeEvent('hashchange', { oldURL, newURL: window.location.href }));
  } else {
    window.location.hash = to.replace(/^#/, '');
  }
}

/** Matches `/runs/:id/diff` against a path; returns the named segments or null. */
export function match(pattern: string, path: string): Record<string, string> | null {
  const names: string[] = [];
  const source = pattern.replace(/:([a-z_]+)/gi, (_, name: string) => {
    names.push(name);
    return '([^/]+)';
  });
  const found = new RegExp(`^${source}/?$`).exec(path);
  if (!found) return null;
  return Object.fromEntries(names.map((name, i) => [name, decodeURIComponent(found[i + 1])]));
}
