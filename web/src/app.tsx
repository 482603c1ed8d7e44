import type { ComponentChildren } from 'preact';
import { useCallback, useEffect, useState } from 'preact/hooks';
import { api, onUnauthorized, setCsrfToken } from './api';
import { LANGS, setLang, t, useLang, type Lang, type MessageKey } from './i18n';
import { adoptLanguage, saveLanguage } from './language-sync';
import { AuditPage } from './pages/audit';
import { IdentityPage } from './pages/identity';
import { DashboardPage } from './pages/dashboard';
import { ExportPage } from './pages/export';
import { ImportPage } from './pages/import';
import { InvitePage } from './pages/invite';
import { MePage } from './pages/me';
import { NewSessionPage } from './pages/new-session';
import { SessionPage } from './pages/session';
import { SessionsPage } from './pages/sessions';
import { SignInPage } from './pages/sign-in';
import { TemplatesPage } from './pages/templates';
import { TokensPage } from './pages/tokens';
import { UsersPage } from './pages/users';
import { WebhooksPage } from './pages/webhooks';
import { match, navigate, onLinkClick, useLocation } from './router';
import { SignedInContext } from './session-context';
import { ROLES } from '../../src/accounts/roles.js';
import type { Me, Role } from './types';
import { ErrorText, PageTitle, useAction } from './ui';

interface Route {
  pattern: string;
  roles: Role[];
  nav?: MessageKey;
  render: (params: Record<string, string>) => ComponentChildren;
}

const ALL: Role[] = [...ROLES];
const ROUTES: Route[] = [
  { pattern: '/sessions', roles: ALL, nav: 'nav.sessions', render: () => <SessionsPage /> },
  { pattern: '/sessions/new', roles: ['admin', 'coach'], render: () => <NewSessionPage /> },
  { pattern: '/sessions/:id', roles: ALL, render: (p) => <SessionPage id={p.id!} /> },
  { pattern: '/dashboard', roles: ['admin', 'coach'], nav: 'nav.dashboard', render: () => <DashboardPage /> },
  { pattern: '/users', roles: ['admin'], nav: 'nav.users', render: () => <UsersPage /> },
  { pattern: '/tokens', roles: ['admin'], nav: 'nav.tokens', render: () => <TokensPage /> },
  { pattern: '/templates', roles: ['admin'], nav: 'nav.templates', render: () => <TemplatesPage /> },
  { pattern: '/import', roles: ['admin'], nav: 'nav.import', render: () => <ImportPage /> },
  { pattern: '/export', roles: ['admin'], nav: 'nav.export', render: () => <ExportPage /> },
  { pattern: '/audit-log', roles: ['admin'], nav: 'nav.audit', render: () => <AuditPage /> },
  { pattern: '/identity', roles: ['admin'], nav: 'nav.identity', render: () => <IdentityPage /> },
  { pattern: '/webhooks', roles: ['admin'], nav: 'nav.webhooks', render: () => <WebhooksPage /> },
  { pattern: '/me', roles: ALL, render: () => <MePage /> },
];

const SIGNED_IN_KEY = 'coachport.signedIn';

function rememberedSignIn(): boolean {
  try {
    return localStorage.getItem(SIGNED_IN_KEY) === '1';
  } catch {
    return true; // No storage: ask the server every time.
  }
}

function rememberSignIn(yes: boolean): void {
  try {
    if (yes) localStorage.setItem(SIGNED_IN_KEY, '1');
    else localStorage.removeItem(SIGNED_IN_KEY);
  } catch {
    // Nothing to remember with.
  }
}

type Auth = { state: 'loading' } | { state: 'signed-out'; ended: boolean } | { state: 'signed-in'; me: Me };

/** `onChosen`: what else a choice changes (signed in, the language of the person's mails). */
function LanguageSwitch({ onChosen }: { onChosen?: (lang: Lang) => void }) {
  const current = useLang();
  return (
    <div class="lang-switch">
      <label for="lang-select">{t('lang.label')}</label>
      <select
        id="lang-select"
        value={current}
        onChange={(e) => {
          const next = (e.currentTarget.value as Lang) ?? 'en';
          setLang(next);
          onChosen?.(next);
        }}
      >
        {LANGS.map((l) => (
          <option value={l} lang={l} key={l}>
            {l === 'en' ? 'English' : '한국어'}
          </option>
        ))}
      </select>
    </div>
  );
}

function NotFound() {
  return (
    <section>
      <PageTitle title={t('notFound.title')}>{t('notFound.title')}</PageTitle>
      <p>{t('notFound.body')}</p>
      <p>
        <a href="/sessions">{t('nav.sessions')}</a>
      </p>
    </section>
  );
}

function Shell({ me, onSignedOut, children }: { me: Me; onSignedOut: () => void; children: ComponentChildren }) {
  const { path } = useLocation();
  const signOut = useAction();
  const links = ROUTES.filter((r) => r.nav && r.roles.includes(me.user.role));
  return (
    <div class="shell">
      <a class="skip-link" href="#main">
        {t('nav.skip')}
      </a>
      <header class="topbar">
        <div class="brand">
          <span class="brand-mark" aria-hidden="true">
            C
          </span>
          <span>Coachport</span>
          <span class="org">{me.organization.name}</span>
        </div>
        <nav aria-label={t('nav.label')}>
          <ul>
            {links.map((r) => (
              <li key={r.pattern}>
                <a
                  href={r.pattern}
                  aria-current={path === r.pattern || (r.pattern === '/sessions' && path.startsWith('/sessions/')) ? 'page' : undefined}
                >
                  {t(r.nav!)}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <div class="account">
          <LanguageSwitch onChosen={saveLanguage} />
          <span class="who">
            {me.user.name} <span class="role">({t(`role.${me.user.role}` as MessageKey)})</span>
          </span>
          <a class="me-link" href="/me" aria-current={path === '/me' ? 'page' : undefined}>
            {t('nav.me')}
          </a>
          <button
            type="button"
            class="secondary"
            disabled={signOut.busy}
            onClick={() =>
              signOut.run(async () => {
                await api.post('/api/v1/auth/sign-out');
                onSignedOut();
              })
            }
          >
            {t('nav.signOut')}
          </button>
          <ErrorText error={signOut.error} />
        </div>
      </header>
      <main id="main">{children}</main>
    </div>
  );
}

export function App() {
  useLang();
  const { path } = useLocation();
  const [auth, setAuth] = useState<Auth>({ state: 'loading' });

  const refresh = useCallback(async (afterSignIn = false) => {
    // Without a sign-in remembered in this browser there is nothing to ask: an anonymous /auth/me
    // would only count against this address's failed-authentication limit.
    // A sign-in with the company account that failed comes back with its reason, and no session.
    const companySignInFailed = new URLSearchParams(location.search).has('oidcError');
    if (!afterSignIn && (!rememberedSignIn() || companySignInFailed)) {
      rememberSignIn(false);
      setAuth({ state: 'signed-out', ended: false });
      return;
    }
    try {
      const me = await api.get<Me>('/api/v1/auth/me', { quiet401: true });
      setCsrfToken(me.csrfToken);
      rememberSignIn(true);
      setAuth({ state: 'signed-in', me });
      void adoptLanguage();
    } catch {
      setCsrfToken(null);
      rememberSignIn(false);
      setAuth({ state: 'signed-out', ended: false });
    }
  }, []);

  useEffect(() => void refresh(), [refresh]);
  // Any call answered 401 (expired, signed out elsewhere, deactivated) ends the console's session.
  useEffect(
    () =>
      onUnauthorized(() => {
        setCsrfToken(null);
        rememberSignIn(false);
        setAuth({ state: 'signed-out', ended: true });
      }),
    [],
  );

  const invite = match('/invite/:token', path);
  if (invite)
    return (
      <div class="public" onClick={onLinkClick}>
        <header class="public-header">
          <LanguageSwitch />
        </header>
        <InvitePage token={invite.token!} onSignedIn={() => refresh(true)} />
      </div>
    );
  if (auth.state === 'loading') return <p class="muted boot">{t('common.loading')}</p>;
  if (auth.state === 'signed-out') {
    return (
      <div class="public" onClick={onLinkClick}>
        <header class="public-header">
          <LanguageSwitch />
        </header>
        <SignInPage
          ended={auth.ended}
          onCompanySignIn={() => rememberSignIn(true)}
          onSignedIn={async () => {
            await refresh(true);
            if (path === '/' || path === '/sign-in') navigate('/sessions', { replace: true });
          }}
        />
      </div>
    );
  }

  const me = auth.me;
  if (path === '/' || path === '/sign-in') {
    queueMicrotask(() => navigate('/sessions', { replace: true }));
    return null;
  }
  let page: ComponentChildren = <NotFound />;
  for (const route of ROUTES) {
    const params = match(route.pattern, path);
    if (!params) continue;
    page = route.roles.includes(me.user.role) ? route.render(params) : <NotFound />;
    break;
  }
  return (
    <SignedInContext.Provider value={{ me, refresh: () => refresh(true) }}>
      <div onClick={onLinkClick}>
        <Shell
          me={me}
          onSignedOut={() => {
            setCsrfToken(null);
            rememberSignIn(false);
            setAuth({ state: 'signed-out', ended: false });
            navigate('/sign-in', { replace: true });
          }}
        >
          <div key={path}>{page}</div>
        </Shell>
      </div>
    </SignedInContext.Provider>
  );
}
