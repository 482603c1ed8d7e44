import { useState } from 'preact/hooks';
import { api } from '../api';
import { forgetDirectory } from '../directory';
import { t, type MessageKey } from '../i18n';
import { useMe } from '../session-context';
import { ROLES } from '../../../src/accounts/roles.js';
import type { InviteUrl, Role, User, UserWithInvite } from '../types';
import { ErrorText, Field, LoadState, PageTitle, useAction, useLoad, TableWrap } from '../ui';

/** GET /api/v1/users answers an array; accept `{users}` too so either shape renders. */
export async function listUsers(signal: AbortSignal): Promise<User[]> {
  const answer = await api.get<User[] | { users: User[] }>('/api/v1/users', { signal });
  return Array.isArray(answer) ? answer : answer.users;
}

function InviteLink({ url, label }: { url: string; label: string }) {
  return (
    <div class="invite-link" role="status">
      <Field label={label} hint={t('users.inviteHint')}>
        {(p) => <input {...p} readOnly value={url} onFocus={(e) => e.currentTarget.select()} />}
      </Field>
      <button type="button" class="secondary small" onClick={() => void navigator.clipboard?.writeText(url)}>
        {t('common.copy')}
      </button>
    </div>
  );
}

export function UsersPage() {
  const users = useLoad(listUsers, []);
  const [form, setForm] = useState({ name: '', email: '', role: 'coach' as Role });
  const [invite, setInvite] = useState<{ name: string; url: string } | null>(null);
  const create = useAction();
  return (
    <section>
      <PageTitle title={t('users.title')}>{t('users.title')}</PageTitle>
      <form
        class="card stack"
        aria-labelledby="new-user"
        onSubmit={(e) => {
          e.preventDefault();
          void create.run(async () => {
            const created = await api.post<UserWithInvite>('/api/v1/users', form);
            setInvite({ name: created.name, url: created.inviteUrl });
            setForm({ name: '', email: '', role: form.role });
            forgetDirectory();
            users.reload();
          });
        }}
      >
        <h2 id="new-user">{t('users.create')}</h2>
        <div class="row">
          <Field label={t('users.name')}>
            {(p) => <input {...p} required value={form.name} onInput={(e) => setForm({ ...form, name: e.currentTarget.value })} />}
          </Field>
          <Field label={t('users.email')}>
            {(p) => (
              <input {...p} type="email" required value={form.email} onInput={(e) => setForm({ ...form, email: e.currentTarget.value })} />
            )}
          </Field>
          <Field label={t('users.role')}>
            {(p) => (
              <select {...p} value={form.role} onChange={(e) => setForm({ ...form, role: e.currentTarget.value as Role })}>
                {ROLES.map((r) => (
                  <option value={r} key={r}>
                    {t(`role.${r}` as MessageKey)}
                  </option>
                ))}
              </select>
            )}
          </Field>
        </div>
        <div class="form-actions">
          <button type="submit" class="primary" disabled={create.busy}>
            {t('users.createSubmit')}
          </button>
        </div>
        <ErrorText error={create.error} />
        {invite ? <InviteLink url={invite.url} label={t('users.inviteFor', { name: invite.name })} /> : null}
      </form>
      <LoadState loaded={users}>
        {() => (
          <TableWrap label={t('users.title')}>
            <table>
              <caption class="visually-hidden">{t('users.title')}</caption>
              <thead>
                <tr>
                  <th scope="col">{t('users.name')}</th>
                  <th scope="col">{t('users.email')}</th>
                  <th scope="col">{t('users.role')}</th>
                  <th scope="col">{t('users.status')}</th>
                  <th scope="col">{t('users.actions')}</th>
                </tr>
              </thead>
              <tbody>
                {users.data!.map((u) => (
                  <UserRow key={u.id} user={u} reload={users.reload} />
                ))}
              </tbody>
            </table>
          </TableWrap>
        )}
      </LoadState>
    </section>
  );
}

function UserRow({ user, reload }: { user: User; reload: () => void }) {
  const me = useMe();
  const change = useAction();
  const reinvite = useAction();
  const [url, setUrl] = useState<string | null>(null);
  const patch = (body: Partial<User>) =>
    change.run(async () => {
      await api.patch(`/api/v1/users/${encodeURIComponent(user.id)}`, body);
      forgetDirectory();
      reload();
    });
  return (
    <tr>
      <th scope="row">
        {user.name}
        {user.id === me.user.id ? <span class="muted"> ({t('users.you')})</span> : null}
      </th>
      <td>{user.email ?? '—'}</td>
      <td>
        <label class="visually-hidden" for={`role-${user.id}`}>
          {t('users.roleOf', { name: user.name })}
        </label>
        <select
          id={`role-${user.id}`}
          value={user.role}
          disabled={change.busy}
          onChange={(e) => void patch({ role: e.currentTarget.value as Role })}
        >
          {ROLES.map((r) => (
            <option value={r} key={r}>
              {t(`role.${r}` as MessageKey)}
            </option>
          ))}
        </select>
      </td>
      <td>
        <span class={`badge ${user.active ? 'badge-confirmed' : 'badge-deleted'}`}>
          {user.active ? t('users.active') : t('users.inactive')}
        </span>
      </td>
      <td>
        <div class="row-actions">
          <button
            type="button"
            class={user.active ? 'danger-outline small' : 'secondary small'}
            disabled={change.busy}
            onClick={() => void patch({ active: !user.active })}
          >
            {user.active ? t('users.deactivate', { name: user.name }) : t('users.reactivate', { name: user.name })}
          </button>
          <button
            type="button"
            class="secondary small"
            disabled={reinvite.busy}
            onClick={() =>
              reinvite.run(async () => {
                const answer = await api.post<InviteUrl>(`/api/v1/users/${encodeURIComponent(user.id)}/invite`);
                setUrl(answer.inviteUrl);
              })
            }
          >
            {t('users.reinvite', { name: user.name })}
          </button>
        </div>
        <ErrorText error={change.error ?? reinvite.error} />
        {url ? <InviteLink url={url} label={t('users.inviteFor', { name: user.name })} /> : null}
      </td>
    </tr>
  );
}
