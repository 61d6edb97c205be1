// Signing in with an API token, and the sign-in screen's trigger: any request the server
// refuses with 401 or UNAUTHENTICATED. In local mode the server needs no token at all.
import { QueryClientProvider } from '@tanstack/react-query';
import { createContext, useContext, useMemo, useState, type ReactNode } from 'react';
import { MeDocument } from '../../../client/generated/graphql';
import { execute } from './execute';
import { createQueryClient } from './query-client';
import { clearToken, saveToken } from './token';

export interface Auth {
  /** Show the sign-in screen instead of the pages. */
  signInRequired: boolean;
  /** Why: the server's refusal, or that the user signed out. */
  reason: string | null;
  /** Checks the token with the server, keeps it and shows the pages; throws if it is refused. */
  signIn(token: string): Promise<void>;
  /** For a server in local mode, which answers without a token. */
  continueWithoutToken(): void;
  signOut(): void;
  /** A live connection was refused. */
  requireSignIn(reason: string): void;
}

const AuthContext = createContext<Auth | null>(null);

export function AuthProvider({ children }: { children: ReactNode }) {
  const [state, setState] = useState<{ signInRequired: boolean; reason: string | null }>({ signInRequired: false, reason: null });
  const [queryClient] = useState(() => createQueryClient((reason) => setState({ signInRequired: true, reason })));
  const auth = useMemo<Auth>(() => {
    const showPages = () => {
      queryClient.clear();
      setState({ signInRequired: false, reason: null });
    };
    return {
      ...state,
      async signIn(token) {
        await execute(MeDocument, {}, { token });
        saveToken(token);
        showPages();
      },
      continueWithoutToken() {
        clearToken();
        showPages();
      },
      signOut() {
        clearToken();
        queryClient.clear();
        setState({ signInRequired: true, reason: 'You signed out.' });
      },
      requireSignIn(reason) {
        setState({ signInRequired: true, reason });
      },
    };
  }, [state, queryClient]);
  return (
    <AuthContext.Provider value={auth}>
      <QueryClientProvider client={queryClient}>{children}</QueryClientProvider>
    </AuthContext.Provider>
  );
}

export function useAuth(): Auth {
  const auth = useContext(AuthContext);
  if (!auth) throw new Error('useAuth needs an AuthProvider');
  return auth;
}
