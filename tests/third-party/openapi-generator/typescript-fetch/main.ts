// A user's program on OpenAPI Generator's typescript-fetch client: it acquires a lock, meets the
// typed 409 of a second owner, releases it, appends an event and reads it back.
import { randomUUID } from "node:crypto";
import {
  Configuration,
  ErrorCode,
  EventServiceApi,
  LockServiceApi,
  ProblemFromJSON,
  ResponseError,
} from "./generated";

function check(ok: boolean, what: string): void {
  if (!ok) throw new Error(what);
}

async function locks(api: LockServiceApi, name: string): Promise<void> {
  const held = await api.acquireLock({ name, acquireLockBody: { owner: "alice", ttl: "30s" } });
  const token = held.lock?.fencingToken;
  check(token !== undefined && token >= 1, `acquire: no fencing token in ${JSON.stringify(held)}`);
  try {
    await api.acquireLock({ name, acquireLockBody: { owner: "bob", ttl: "30s" } });
    throw new Error("a second owner acquired a held lock");
  } catch (error) {
    if (!(error instanceof ResponseError)) throw error;
    const problem = ProblemFromJSON(await error.response.json());
    check(error.response.status === 409, `second owner: status ${error.response.status}`);
    check(problem.code === ErrorCode.ERROR_CODE_LOCK_CONFLICT, `second owner: ${problem.code}`);
  }
  await api.releaseLock({ name, releaseLockBody: { owner: "alice", fencingToken: token ?? 0 } });
  console.log(`locks: acquired ${name} (token ${token}), 409 LOCK_CONFLICT, released`);
}

async function events(api: EventServiceApi, stream: string): Promise<void> {
  const event = { eventId: randomUUID(), type: "Tested", data: { n: 1 } };
  const appended = await api.appendToStream({ stream, appendToStreamBody: { events: [event] } });
  check(JSON.stringify(appended.revisions) === "[0]", `append: ${JSON.stringify(appended)}`);
  const read = await api.readStream({ stream });
  const types = (read.events ?? []).map((e) => e.type);
  check(JSON.stringify(types) === '["Tested"]', `read: ${JSON.stringify(read)}`);
  console.log(`events: appended to ${stream} and read it back`);
}

async function main(): Promise<void> {
  const config = new Configuration({
    basePath: process.env.CONCORD_BASE_URL ?? "",
    apiKey: process.env.CONCORD_API_KEY ?? "",
  });
  const suffix = randomUUID().slice(0, 12);
  await locks(new LockServiceApi(config), `tp-ts-${suffix}`);
  await events(new EventServiceApi(config), `tp-ts-${suffix}`);
}

main().catch((error: unknown) => {
  console.error("FAILED:", error);
  process.exit(1);
});
