import { createContext, useContext } from 'react';
import { type AgentRunsClient, createAgentRunsClient } from '../../client/index.js';

/**
 * The tenant API key lives in sessionStorage only: it survives a reload of this tab, is gone when the
 * tab closes, is never put in a URL, and is never logged. Every request sends it as a Bearer header.
 */
const STORAGE_KEY = 'agent-runs.console.api-key';

export function storedApiKey(): string | null {
  try {
    return sessionStorage.getItem(STORAGE_KEY);
  } catch {
    return null; // storage disabled: the key lives as long as the page
  }
}

export function storeApiKey(key: string | null): void {
  try {
    if (key === null) sessionStorage.removeItem(STORAGE_KEY);
    else sessionStorage.setItem(STORAGE_KEY, key);
  } catch {
    // storage disabled: nothing to keep or clear
  }
}

export function clientFor(apiKey: string): AgentRunsClient {
  return createAgentRunsClient({ baseUrl: window.location.origin, apiKey, maxRetries: 2 });
}

export interface Session {
  client: AgentRunsClient;
  signOut(message?: string): void;
}

export const SessionContext = createContext<Session | null>(null);

export function useSession(): Session {
  const session = useContext(SessionContext);
  if (!session) throw new Error('useSession outside the signed-in app');
  return session;
}
