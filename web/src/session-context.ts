import { createContext } from 'preact';
import { useContext } from 'preact/hooks';
import type { Me } from './types';

export interface SignedIn {
  me: Me;
  /** Fetch /auth/me again (after a change to oneself). */
  refresh: () => Promise<void>;
}

export const SignedInContext = createContext<SignedIn | null>(null);

/** The signed-in person; only pages behind the sign-in gate call this. */
export function useMe(): Me {
  const value = useContext(SignedInContext);
  if (!value) throw new Error('useMe outside the signed-in console');
  return value.me;
}
