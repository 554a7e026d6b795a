#!/usr/bin/env node
// Thin launcher: the CLI is built to dist/ by `pnpm build` (the README's commands do that).
import { main } from '../dist/main.js';

process.exitCode = await main(process.argv.slice(2));
