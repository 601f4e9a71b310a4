/** Services by health: every service's counts, and a service's instances kept live. */

import type { ServiceInstance, ServiceSummary } from '@concord/sdk';
import { badge, countdown, fill, h, table, when } from '../dom.js';
import { every, liveMarker, run, setLive, type ViewContext } from '../view.js';

export function servicesView(root: HTMLElement, ctx: ViewContext): void {
  const name = ctx.params[0];
  if (name !== undefined) {
    serviceDetail(root, ctx, decodeURIComponent(name));
    return;
  }
  const body = h('div', { 'data-testid': 'services' });
  fill(root, h('h2', {}, 'Services'), body);
  const load = (): void =>
    run(ctx, body, async () => {
      const page = await ctx.client.discovery.listServices({ page_size: 100 }, { signal: ctx.signal });
      const services = [...page.items].sort((a, b) => a.healthy_count / (a.instance_count || 1) - b.healthy_count / (b.instance_count || 1));
      fill(
        body,
        table<ServiceSummary>(
          [
            ['Service', (s) => h('a', { href: `#/services/${encodeURIComponent(s.name)}` }, s.name)],
            ['Instances', (s) => s.instance_count],
            ['Healthy', (s) => s.healthy_count],
            ['Health', (s) => badge(s.healthy_count === s.instance_count ? 'HEALTHY' : s.healthy_count ? 'DEGRADED' : 'UNHEALTHY')],
          ],
          services,
          (s) => ({ 'data-service': s.name }),
        ),
      );
    });
  load();
  every(ctx, 3000, load);
}

function serviceDetail(root: HTMLElement, ctx: ViewContext, service: string): void {
  const instances = new Map<string, ServiceInstance>();
  const marker = liveMarker();
  const body = h('div', { 'data-testid': 'instances' });
  const problems = h('div');
  fill(root, h('h2', {}, h('a', { href: '#/services' }, 'Services'), ` / ${service} `, marker), problems, body);
  const render = (): void => {
    const rows = [...instances.values()].sort((a, b) => a.status.localeCompare(b.status) || a.instance_id.localeCompare(b.instance_id));
    fill(
      body,
      table<ServiceInstance>(
        [
          ['Instance', (i) => i.instance_id],
          ['Address', (i) => `${i.address}:${i.port}`],
          ['Health', (i) => badge(i.status)],
          ['Tags', (i) => i.tags.join(', ')],
          ['Last heartbeat', (i) => when(i.last_heartbeat_at)],
          ['Expires in', (i) => countdown(i.expires_at)],
        ],
        rows,
        (i) => ({ 'data-instance': i.instance_id }),
      ),
    );
  };
  run(ctx, problems, async () => {
    const stream = await ctx.client.discovery.watch(service, { signal: ctx.signal });
    const options = { signal: ctx.signal };
    for await (const instance of ctx.client.discovery.listInstances(service, { include_unhealthy: true }, options)) {
      instances.set(instance.instance_id, instance);
    }
    render();
    setLive(marker, true);
    try {
      for await (const change of stream) {
        const instance = change.instance;
        if (instance === undefined) continue;
        if (change.type === 'DEREGISTERED' || change.type === 'EXPIRED') {
          instances.delete(instance.instance_id);
        } else {
          instances.set(instance.instance_id, instance);
        }
        render();
      }
    } finally {
      setLive(marker, false);
    }
  });
  every(ctx, 1000, render);
}
