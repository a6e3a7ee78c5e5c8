#!/usr/bin/env node
// One interop scenario against `shardgate serve`:
//   node run.mjs <discordjs|discordeno> <scenario> --shardgate <path to the shardgate binary>
// Exit status 0 on pass (deviations from the docs are printed as `DEVIATION:` lines and pass), 1 on
// failure. ctest registers each client x scenario pair (CMakeLists.txt beside this file).

import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
if (!existsSync(path.join(here, 'node_modules', '@discordjs', 'ws')) || !existsSync(path.join(here, 'node_modules', '@discordeno', 'gateway'))) {
  console.log(`FAIL: ${path.join(here, 'node_modules')} is missing or incomplete; run scripts/npm-setup (npm ci from the committed package-lock.json)`);
  process.exit(1);
}

const [client, scenario] = process.argv.slice(2);
const { runScenario } = await import('./lib/harness.mjs');
await import('./lib/wiretap.mjs');
const { SCENARIOS } = await import('./lib/scenarios.mjs');
if (!['discordjs', 'discordeno'].includes(client) || !(scenario in SCENARIOS)) {
  console.log(`usage: node run.mjs <discordjs|discordeno> <${Object.keys(SCENARIOS).join('|')}> --shardgate BIN`);
  process.exit(2);
}
await runScenario(client, scenario, SCENARIOS[scenario]);
