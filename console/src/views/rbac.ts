/** RBAC: roles with their permissions, role bindings, API keys. */

import type { ApiKey, Role, RoleBinding } from '@concord/sdk';
import { fill, h, table, when } from '../dom.js';
import { run, type ViewContext } from '../view.js';

async function all<T>(items: AsyncIterable<T>, limit = 500): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) {
    out.push(item);
    if (out.length >= limit) break;
  }
  return out;
}

export function rbacView(root: HTMLElement, ctx: ViewContext): void {
  const roles = h('div', { 'data-testid': 'roles' });
  const bindings = h('div', { 'data-testid': 'bindings' });
  const keys = h('div', { 'data-testid': 'keys' });
  fill(root, h('h2', {}, 'Access'), h('h3', {}, 'Roles'), roles, h('h3', {}, 'Bindings'), bindings, h('h3', {}, 'API keys'), keys);
  const options = { signal: ctx.signal };
  run(ctx, roles, async () => {
    const found = await all(ctx.client.rbac.listRoles({}, options));
    fill(
      roles,
      table<Role>(
        [
          ['Role', (r) => r.name],
          ['Permissions', (r) => r.permissions.map((p) => `${p.action} on ${p.resource}`).join('; ')],
          ['Description', (r) => r.description],
          ['Updated', (r) => when(r.updated_at)],
        ],
        found,
      ),
    );
  });
  run(ctx, bindings, async () => {
    const found = await all(ctx.client.rbac.listBindings({}, options));
    fill(
      bindings,
      table<RoleBinding>(
        [
          ['Subject', (b) => b.subject],
          ['Role', (b) => b.role],
          ['Expires', (b) => when(b.expires_at)],
          ['Binding', (b) => h('code', {}, b.binding_id)],
        ],
        found,
      ),
    );
  });
  run(ctx, keys, async () => {
    const found = await all(ctx.client.auth.listApiKeys({}, options));
    fill(
      keys,
      table<ApiKey>(
        [
          ['Key', (k) => h('code', {}, k.key_id)],
          ['Name', (k) => k.name],
          ['Subject', (k) => k.subject],
          ['Scopes', (k) => k.scopes.join(', ')],
          ['Expires', (k) => when(k.expires_at)],
          ['Revoked', (k) => (k.revoked ? 'yes' : '')],
        ],
        found,
      ),
    );
  });
}
