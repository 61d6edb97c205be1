import { Link } from 'react-router';
import { usePageTitle } from './page-title';

export function NotFoundPage() {
  usePageTitle('Not found');
  return (
    <>
      <h1>Page not found</h1>
      <p>
        Nothing lives at this address. <Link to="/stacks">See all stacks</Link>.
      </p>
    </>
  );
}
