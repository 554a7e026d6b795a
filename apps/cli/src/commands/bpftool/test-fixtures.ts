/** The fixtures the bpftool-shaped commands' tests share (fixtures/bpftool: bpftool's output on the recording machine). */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from '../isa/test-helpers.js';

export const FIXTURES = join(REPO_ROOT, 'apps', 'cli', 'fixtures', 'bpftool');
export const CLI_O = join(FIXTURES, 'obj', 'cli.o');
export const REJECT_O = join(REPO_ROOT, 'packages', 'loader', 'fixtures', 'open', 'reject.bpfel.o');
export const expected = (name: string): string => readFileSync(join(FIXTURES, 'expected', name), 'utf8');
export const TMP = mkdtempSync(join(tmpdir(), 'ebpf-sim-bpftool-'));
