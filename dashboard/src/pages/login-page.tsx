// Signing in with an API token (`stackyard token create` makes one). A server in local mode
// needs none, so the page also offers to go on without one.
import { useId, useState, type FormEvent } from 'react';
import { useAuth } from '../api/auth';
import { UnauthenticatedError } from '../api/execute';
import { usePageTitle } from './page-title';

export function LoginPage() {
  usePageTitle('Sign in');
  const auth = useAuth();
  const [token, setToken] = useState('');
  const [failure, setFailure] = useState<string | null>(null);
  const [checking, setChecking] = useState(false);
  const tokenId = useId();

  async function submit(event: FormEvent) {
    event.preventDefault();
    setChecking(true);
    setFailure(null);
    try {
      await auth.signIn(token.trim());
    } catch (error) {
      setFailure(error instanceof UnauthenticatedError ? `The server refused this token: ${error.message}` : `Could not sign in: ${(error as Error).message}`);
    } finally {
      setChecking(false);
    }
  }

  return (
    <main id="main" className="login">
      <h1>Sign in to Stackyard</h1>
      {auth.reason && <p className="muted">{auth.reason}</p>}
      <form onSubmit={submit} aria-label="Sign in">
        <label htmlFor={tokenId}>API token</label>
        <input id={tokenId} type="password" autoComplete="current-password" required value={token} onChange={(event) => setToken(event.target.value)} />
        <button type="submit" disabled={checking}>
          {checking ? 'Signing in…' : 'Sign in'}
        </button>
        {failure && (
          <p role="alert" className="state-error">
            {failure}
          </p>
        )}
      </form>
      <p className="muted">Create a token with <code>stackyard token create</code>. A server running in local mode needs none:</p>
      <button type="button" className="secondary" onClick={auth.continueWithoutToken}>
        Continue without a token
      </button>
    </main>
  );
}
