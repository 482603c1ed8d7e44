import { useState } from 'preact/hooks';
import { api } from '../api';
import { formatDateTime, t } from '../i18n';
import { useMe } from '../session-context';
import type { ApiToken, IssuedToken } from '../types';
import { listUsers } from './users';
import { ErrorText, Field, LoadState, PageTitle, useAction, useLoad, TableWrap } from '../ui';

export function TokensPage() {
  const me = useMe();
  const loaded = useLoad(async (signal) => {
    const [tokens, users] = await Promise.all([api.get<ApiToken[]>('/api/v1/tokens', { signal }), listUsers(signal)]);
    return { tokens, users };
  }, []);
  const [form, setForm] = useState({ userId: me.user.id, days: '90', noExpiry: false });
  const [secret, setSecret] = useState<string | null>(null);
  const create = useAction();
  const nameOf = (id: string) => loaded.data?.users.find((u) => u.id === id)?.name ?? id;
  return (
    <section>
      <PageTitle title={t('tokens.title')}>{t('tokens.title')}</PageTitle>
      <form
        class="card stack"
        aria-labelledby="new-token"
        onSubmit={(e) => {
          e.preventDefault();
          void create.run(async () => {
            const issued = await api.post<IssuedToken>('/api/v1/tokens', {
              userId: form.userId,
              expiresInDays: form.noExpiry ? null : Number(form.days),
            });
            setSecret(issued.token);
            loaded.reload();
          });
        }}
      >
        <h2 id="new-token">{t('tokens.create')}</h2>
        <div class="row">
          <Field label={t('tokens.user')}>
            {(p) => (
              <select {...p} value={form.userId} onChange={(e) => setForm({ ...form, userId: e.currentTarget.value })}>
                {(loaded.data?.users ?? [me.user])
                  .filter((u) => u.active)
                  .map((u) => (
                    <option value={u.id} key={u.id}>
                      {u.name}
                    </option>
                  ))}
              </select>
            )}
          </Field>
          <Field label={t('tokens.days')}>
            {(p) => (
              <input
                {...p}
                type="number"
                min={1}
                max={3650}
                disabled={form.noExpiry}
                value={form.days}
                onInput={(e) => setForm({ ...form, days: e.currentTarget.value })}
              />
            )}
          </Field>
          <div class="field checkbox">
            <input
              id="no-expiry"
              type="checkbox"
              checked={form.noExpiry}
              onChange={(e) => setForm({ ...form, noExpiry: e.currentTarget.checked })}
            />
            <label for="no-expiry">{t('tokens.noExpiry')}</label>
          </div>
        </div>
        <div class="form-actions">
          <button type="submit" class="primary" disabled={create.busy}>
            {t('tokens.createSubmit')}
          </button>
        </div>
        <ErrorText error={create.error} />
        {secret ? (
          <div class="secret" role="status">
            <Field label={t('tokens.secret')} hint={t('tokens.shownOnce')}>
              {(p) => <input {...p} readOnly value={secret} onFocus={(e) => e.currentTarget.select()} />}
            </Field>
            <button type="button" class="secondary small" onClick={() => void navigator.clipboard?.writeText(secret)}>
              {t('common.copy')}
            </button>
          </div>
        ) : null}
      </form>
      <LoadState loaded={loaded}>
        {() => (
          <TableWrap label={t('tokens.title')}>
            <table>
              <caption class="visually-hidden">{t('tokens.title')}</caption>
              <thead>
                <tr>
                  <th scope="col">{t('tokens.prefix')}</th>
                  <th scope="col">{t('tokens.user')}</th>
                  <th scope="col">{t('tokens.createdAt')}</th>
                  <th scope="col">{t('tokens.expiresAt')}</th>
                  <th scope="col">{t('tokens.lastUsedAt')}</th>
                  <th scope="col">{t('users.status')}</th>
                  <th scope="col">{t('users.actions')}</th>
                </tr>
              </thead>
              <tbody>
                {loaded.data!.tokens.map((token) => (
                  <TokenRow key={token.id} token={token} owner={nameOf(token.userId)} reload={loaded.reload} />
                ))}
              </tbody>
            </table>
          </TableWrap>
        )}
      </LoadState>
    </section>
  );
}

function TokenRow({ token, owner, reload }: { token: ApiToken; owner: string; reload: () => void }) {
  const revoke = useAction();
  return (
    <tr>
      <th scope="row">
        <code>{token.prefix}…</code>
      </th>
      <td>{owner}</td>
      <td>{formatDateTime(token.createdAt)}</td>
      <td>{token.expiresAt ? formatDateTime(token.expiresAt) : t('tokens.never')}</td>
      <td>{formatDateTime(token.lastUsedAt)}</td>
      <td>
        <span class={`badge ${token.active ? 'badge-confirmed' : 'badge-deleted'}`}>
          {token.active ? t('users.active') : t('tokens.revoked')}
        </span>
      </td>
      <td>
        {token.active ? (
          <button
            type="button"
            class="danger-outline small"
            disabled={revoke.busy}
            onClick={() =>
              revoke.run(async () => {
                await api.del(`/api/v1/tokens/${encodeURIComponent(token.id)}`);
                reload();
              })
            }
          >
            {t('tokens.revoke', { prefix: token.prefix })}
          </button>
        ) : null}
        <ErrorText error={revoke.error} />
      </td>
    </tr>
  );
}
