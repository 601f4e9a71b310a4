// Package check (types): compiled in the clean project against the installed declarations.
import { Concord, type Lock } from '@concord/sdk';

const client = new Concord({ apiKey: 'k' });
const names: Promise<string[]> = (async () => {
  const out: string[] = [];
  for await (const lock of client.locks.list()) {
    const typed: Lock = lock;
    out.push(typed.name);
  }
  return out;
})();
void names;
