import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ALLOWED_WORKSPACE_DEPS } from './layering.js';

const ROOT = join(import.meta.dirname, '..');

interface Manifest {
  name: string;
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
}

function manifests(dir: string): Array<{ path: string; manifest: Manifest }> {
  const base = join(ROOT, dir);
  if (!existsSync(base)) return [];
  return readdirSync(base)
    .map((name) => join(base, name, 'package.json'))
    .filter((path) => existsSync(path))
    .map((path) => ({ path, manifest: JSON.parse(readFileSync(path, 'utf8')) as Manifest }));
}

function workspaceDeps(m: Manifest): string[] {
  const all = { ...m.dependencies, ...m.devDependencies, ...m.peerDependencies };
  return Object.keys(all).filter((d) => d.startsWith('@ebpf-sim/'));
}

describe('layering (ARCHITECTURE.md)', () => {
  const packages = manifests('packages');

  it('knows every package under packages/', () => {
    for (const { manifest, path } of packages) {
      expect(ALLOWED_WORKSPACE_DEPS, `${path}: add ${manifest.name} to tests/layering.ts and ARCHITECTURE.md`).toHaveProperty([manifest.name]);
    }
  });

  it.each(packages.map((p) => [p.manifest.name, p.manifest] as const))('%s depends only on the layers below it', (name, manifest) => {
    const allowed = ALLOWED_WORKSPACE_DEPS[name] ?? [];
    const forbidden = workspaceDeps(manifest).filter((d) => !allowed.includes(d));
    expect(forbidden, `${name} may depend only on [${allowed.join(', ')}]`).toEqual([]);
  });

  it('the loader never depends on the kernel side', () => {
    const kernelSide = ['@ebpf-sim/kernel', '@ebpf-sim/bpf', '@ebpf-sim/vm', '@ebpf-sim/verifier'];
    for (const dep of ALLOWED_WORKSPACE_DEPS['@ebpf-sim/loader'] ?? []) expect(kernelSide).not.toContain(dep);
  });

  it('rejects a manifest that breaks the rule (the check itself works)', () => {
    const bad: Manifest = { name: '@ebpf-sim/loader', dependencies: { '@ebpf-sim/kernel': 'workspace:*' } };
    const allowed = ALLOWED_WORKSPACE_DEPS[bad.name] ?? [];
    expect(workspaceDeps(bad).filter((d) => !allowed.includes(d))).toEqual(['@ebpf-sim/kernel']);
  });
});

describe('eslint enforces the same rules on imports', () => {
  interface RestrictedImports {
    patterns: Array<{ group: string[]; message: string }>;
  }
  const restrictionsFor = async (file: string): Promise<RestrictedImports['patterns']> => {
    const { ESLint } = await import('eslint');
    const config = (await new ESLint({ cwd: ROOT }).calculateConfigForFile(join(ROOT, file))) as {
      rules?: Record<string, [unknown, RestrictedImports?]>;
    };
    return config.rules?.['no-restricted-imports']?.[1]?.patterns ?? [];
  };

  it.each(Object.keys(ALLOWED_WORKSPACE_DEPS))('%s: every package outside its allowed list is a restricted import, with the reason', async (name) => {
    const patterns = await restrictionsFor(`packages/${name.replace('@ebpf-sim/', '')}/src/probe.ts`);
    const restricted = patterns.flatMap((p) => p.group);
    for (const other of Object.keys(ALLOWED_WORKSPACE_DEPS)) {
      if (other === name) continue;
      expect(restricted.includes(other), `${name} importing ${other}`).toBe(!(ALLOWED_WORKSPACE_DEPS[name] ?? []).includes(other));
    }
    if (restricted.length > 0) expect(patterns[0]?.message).toContain('ARCHITECTURE.md');
  });

  it('the loader rule names the reason: the bpf() syscall ABI', async () => {
    const [pattern] = await restrictionsFor('packages/loader/src/probe.ts');
    expect(pattern?.group).toContain('@ebpf-sim/kernel');
    expect(pattern?.message).toMatch(/only through the bpf\(\) syscall ABI/);
  });
});
