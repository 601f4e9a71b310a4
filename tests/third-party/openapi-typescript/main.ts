// A user's program on openapi-typescript's types, called through openapi-fetch: it acquires a
// lock, meets the typed 409 of a second owner, releases it, appends an event and reads it back.
import { randomUUID } from "node:crypto";
import createClient from "openapi-fetch";
import type { components, paths } from "./generated/schema";

type Problem = components["schemas"]["Problem"];

function check(ok: boolean, what: string): void {
  if (!ok) throw new Error(what);
}

const client = createClient<paths>({
  baseUrl: process.env.CONCORD_BASE_URL ?? "",
  headers: { "X-API-Key": process.env.CONCORD_API_KEY ?? "" },
});

async function acquire(name: string, owner: string) {
  return client.POST("/v1/locks/{name}:acquire", {
    params: { path: { name } },
    body: { owner, ttl: "30s" },
  });
}

async function locks(name: string): Promise<void> {
  const held = await acquire(name, "alice");
  const token = held.data?.lock?.fencing_token;
  check(token !== undefined && token >= 1, `acquire: ${JSON.stringify(held.error)}`);
  const refused = await acquire(name, "bob");
  const problem: Problem | undefined = refused.error;
  check(refused.response.status === 409, `second owner: status ${refused.response.status}`);
  check(problem?.code === "LOCK_CONFLICT", `second owner: ${JSON.stringify(problem)}`);
  const released = await client.POST("/v1/locks/{name}:release", {
    params: { path: { name } },
    body: { owner: "alice", fencing_token: token ?? 0 },
  });
  check(released.response.ok, `release: ${JSON.stringify(released.error)}`);
  console.log(`locks: acquired ${name} (token ${token}), 409 LOCK_CONFLICT, released`);
}

async function events(stream: string): Promise<void> {
  const appended = await client.POST("/v1/streams/{stream}:append", {
    params: { path: { stream } },
    body: { events: [{ event_id: randomUUID(), type: "Tested", data: { n: 1 } }] },
  });
  check(JSON.stringify(appended.data?.revisions) === "[0]", `append: ${JSON.stringify(appended.error)}`);
  const read = await client.GET("/v1/streams/{stream}/events", { params: { path: { stream } } });
  const types = (read.data?.events ?? []).map((e) => e.type);
  check(JSON.stringify(types) === '["Tested"]', `read: ${JSON.stringify(read.error)}`);
  console.log(`events: appended to ${stream} and read it back`);
}

async function main(): Promise<void> {
  const suffix = randomUUID().slice(0, 12);
  await locks(`tp-oat-${suffix}`);
  await events(`tp-oat-${suffix}`);
}

main().catch((error: unknown) => {
  console.error("FAILED:", error);
  process.exit(1);
});
