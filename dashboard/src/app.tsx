// The dashboard's frame: header with navigation and the signed-in user, and a page per URL,
// or the sign-in screen when the server wants a token.
import { NavLink, Navigate, Route, Routes } from 'react-router';
import { MeDocument } from '../../client/generated/graphql';
import { useAuth } from './api/auth';
import { readToken } from './api/token';
import { useGraphQLQuery } from './api/query-client';
import { ComparePage } from './pages/compare-page';
import { ArtifactPage } from './pages/artifact-page';
import { ArtifactVersionPage } from './pages/artifact-version-page';
import { ArtifactsPage } from './pages/artifacts-page';
import { ComponentsPage } from './pages/components-page';
import { LoginPage } from './pages/login-page';
import { NotFoundPage } from './pages/not-found-page';
import { PipelinePage } from './pages/pipeline-page';
import { PipelinesPage } from './pages/pipelines-page';
import { RunPage } from './pages/run-page';
import { RunsPage } from './pages/runs-page';
import { SearchPage } from './pages/search-page';
import { StackPage } from './pages/stack-page';
import { StacksPage } from './pages/stacks-page';
import { SearchBox } from './ui/search-box';

export function App() {
  const auth = useAuth();
  if (auth.signInRequired) return <LoginPage />;
  return (
    <>
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="topbar">
        <NavLink to="/stacks" className="brand">
          Stackyard
        </NavLink>
        <nav aria-label="Main">
          <ul>
            <li>
              <NavLink to="/stacks">Stacks</NavLink>
            </li>
            <li>
              <NavLink to="/components">Components</NavLink>
            </li>
            <li>
              <NavLink to="/pipelines">Pipelines</NavLink>
            </li>
            <li>
              <NavLink to="/runs" end>
                Runs
              </NavLink>
            </li>
            <li>
              <NavLink to="/artifacts">Artifacts</NavLink>
            </li>
          </ul>
        </nav>
        <SearchBox />
        <CurrentUser />
      </header>
      <main id="main" tabIndex={-1}>
        <Routes>
          <Route path="/" element={<Navigate to="/stacks" replace />} />
          <Route path="/stacks" element={<StacksPage />} />
          <Route path="/stacks/:name" element={<StackPage />} />
          <Route path="/runs/:id" element={<RunPage />} />
          <Route path="/compare" element={<ComparePage />} />
          <Route path="/components" element={<ComponentsPage />} />
          <Route path="/pipelines" element={<PipelinesPage />} />
          <Route path="/pipelines/:name" element={<PipelinePage />} />
          <Route path="/runs" element={<RunsPage />} />
          <Route path="/artifacts" element={<ArtifactsPage />} />
          <Route path="/artifacts/:name" element={<ArtifactPage />} />
          <Route path="/artifacts/:name/versions/:version" element={<ArtifactVersionPage />} />
          <Route path="/search" element={<SearchPage />} />
          <Route path="*" element={<NotFoundPage />} />
        </Routes>
      </main>
    </>
  );
}

function CurrentUser() {
  const auth = useAuth();
  const me = useGraphQLQuery(MeDocument, {});
  return (
    <div className="current-user">
      {me.data && (
        <span>
          Signed in as <strong>{me.data.me.name}</strong> <span className="role">{me.data.me.role.toLowerCase()}</span>
        </span>
      )}
      {/* Without a token the server is in local mode: there is nobody to sign out. */}
      {readToken() !== null && (
        <button type="button" onClick={auth.signOut}>
          Sign out
        </button>
      )}
    </div>
  );
}
