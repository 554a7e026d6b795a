// The corpus (fixtures/corpus): its manifest must stay true of the committed objects, and its recording of
// the real kernel must name what the manifest names, so that neither can rot while the loader grows. The
// objects are built by fixtures/corpus/build.sh and recorded by fixtures/corpus/record.sh; this test needs
// neither clang nor a kernel.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SHN_UNDEF, SymbolType, readElf, type ElfObject, type ElfSymbol } from '@ebpf-sim/elf';
import { describe, expect, it } from 'vitest';
import { readLicense, readPrograms } from './index.js';

const CORPUS = join(import.meta.dirname, '..', 'fixtures', 'corpus');

interface Named {
  readonly name: string;
  readonly section: string;
}
interface ManifestProgram extends Named {
  readonly type: string;
  readonly attachType?: string;
  readonly attachTo?: string;
}
interface ManifestMap extends Named {
  readonly type: string;
  readonly pinning?: 'by_name';
  /** Statically initialised slots of a PROG_ARRAY or map-in-map: index -> the program or map in it. */
  readonly slots?: Readonly<Record<string, string>>;
}
interface ManifestRun {
  readonly program: string;
  readonly dataIn?: string;
  readonly ctxIn?: string;
  readonly repeat?: number;
}
interface ManifestObject {
  readonly object: string;
  readonly source: string;
  readonly endian: 'little' | 'big';
  readonly covers: readonly string[];
  readonly sections: readonly string[];
  readonly programs: readonly ManifestProgram[];
  readonly subprograms: readonly string[];
  readonly maps: readonly ManifestMap[];
  readonly globals: readonly Named[];
  readonly externs: readonly { readonly name: string; readonly kind: 'kconfig' | 'ksym' }[];
  readonly runs: readonly ManifestRun[];
  readonly dumps: readonly string[];
}

interface RecordedProgram {
  readonly pin: string;
  readonly name: string;
  readonly type: string;
  readonly maps: readonly string[];
}
interface RecordedMap {
  readonly name: string;
  /** bpftool's name of the type, or its number when bpftool 7.1 has no name for it (CGRP_STORAGE). */
  readonly type: string | number;
}
interface RecordedRun extends ManifestRun {
  readonly retval?: number;
  readonly bpftoolError?: readonly string[];
}
interface RecordedObject {
  readonly object: string;
  readonly loadall: { readonly ok: boolean; readonly error: string | null; readonly messages: readonly string[] };
  readonly programs?: readonly RecordedProgram[];
  readonly maps?: readonly RecordedMap[];
  readonly runs?: readonly RecordedRun[];
  readonly dumps?: Readonly<Record<string, { readonly map: string }>>;
}

/** The two JSON files, with their top-level shape checked (the per-object checks below do the rest). */
function readJson<T>(name: string, key: string): T {
  const value: unknown = JSON.parse(readFileSync(join(CORPUS, name), 'utf8'));
  if (typeof value !== 'object' || value === null || !Array.isArray((value as Record<string, unknown>)[key])) {
    throw new Error(`${name}: expected an object with an array "${key}"`);
  }
  return value as T;
}

const manifest = readJson<{ objects: ManifestObject[] }>('manifest.json', 'objects');
const recording = readJson<{ kernel: string; objects: RecordedObject[] }>('recording.json', 'objects');

function symbolIn(obj: ElfObject, name: string, section: string): ElfSymbol {
  const index = obj.sections.findIndex((s) => s.name === section);
  const symbol = obj.symbols.find((s) => s.name === name && s.sectionIndex === index && index > 0);
  if (!symbol) throw new Error(`no symbol ${name} in section ${section}`);
  return symbol;
}

describe('corpus manifest', () => {
  it('has objects built from the sources as they are (build.sh records their sha256)', () => {
    const built = new Map(
      readFileSync(join(CORPUS, 'obj', 'SOURCES.sha256'), 'utf8')
        .trim()
        .split('\n')
        .map((line) => {
          const [hash = '', path = ''] = line.split(/\s+/);
          return [path, hash];
        }),
    );
    for (const spec of manifest.objects) expect(built.has(spec.source), spec.source).toBe(true);
    for (const [path, hash] of built) {
      const now = createHash('sha256')
        .update(readFileSync(join(CORPUS, path)))
        .digest('hex');
      expect(now, `${path} changed since build.sh: rebuild (and re-record) the corpus`).toBe(hash);
    }
  });

  it('names every object once, each with what it covers', () => {
    const names = manifest.objects.map((o) => o.object);
    expect(new Set(names).size).toBe(names.length);
    expect(names.length).toBeGreaterThan(0);
    for (const spec of manifest.objects) expect(spec.covers.length, spec.object).toBeGreaterThan(0);
  });

  for (const spec of manifest.objects) {
    describe(spec.object, () => {
      const bytes = new Uint8Array(readFileSync(join(CORPUS, spec.object)));
      const obj = readElf(bytes);

      it('is an ELF object in the byte order the manifest gives, built from a committed source', () => {
        expect(obj.endian).toBe(spec.endian);
        expect(existsSync(join(CORPUS, spec.source))).toBe(true);
        expect(readLicense(obj)).not.toBe('');
      });

      it('has the sections the manifest names', () => {
        const sections = new Set(obj.sections.map((s) => s.name));
        for (const name of [...spec.sections, ...spec.programs.map((p) => p.section)]) expect(sections, name).toContain(name);
      });

      it('holds exactly the manifest programs, each a function of its section, linked with its subprograms', () => {
        const programs = readPrograms(obj);
        expect(programs.map((p) => [p.name, p.sectionName]).sort()).toEqual(spec.programs.map((p) => [p.name, p.section]).sort());
        for (const p of spec.programs) expect(symbolIn(obj, p.name, p.section).type).toBe(SymbolType.FUNC);
        const linked = new Set(programs.flatMap((p) => p.functions.filter((f) => f.name !== p.name).map((f) => f.name)));
        for (const name of spec.subprograms) {
          expect(symbolIn(obj, name, '.text').type).toBe(SymbolType.FUNC);
          expect(linked, `${name} is linked into a program`).toContain(name);
        }
      });

      it('defines its maps and globals in the sections the manifest names', () => {
        for (const m of spec.maps) expect(symbolIn(obj, m.name, m.section).type, m.name).toBe(SymbolType.OBJECT);
        for (const g of spec.globals) expect(symbolIn(obj, g.name, g.section).type, g.name).toBe(SymbolType.OBJECT);
      });

      it('initialises the manifest slots statically (a relocation of the map section against each occupant)', () => {
        for (const m of spec.maps.filter((map) => map.slots)) {
          const section = obj.section(m.section);
          if (!section) throw new Error(`no section ${m.section}`);
          const targets = obj.relocations(section).map((r) => r.symbol?.name);
          for (const occupant of Object.values(m.slots ?? {})) expect(targets, `${m.name} slot holding ${occupant}`).toContain(occupant);
        }
      });

      it('leaves its externs undefined for the loader to resolve', () => {
        for (const e of spec.externs) {
          const symbol = obj.symbols.find((s) => s.name === e.name);
          expect(symbol?.sectionIndex, e.name).toBe(SHN_UNDEF);
        }
      });

      it('runs only its own programs on committed inputs', () => {
        const names = spec.programs.map((p) => p.name);
        for (const run of spec.runs) {
          expect(names).toContain(run.program);
          for (const input of [run.dataIn, run.ctxIn]) if (input !== undefined) expect(existsSync(join(CORPUS, input)), input).toBe(true);
        }
      });
    });
  }
});

describe('corpus recording', () => {
  it('records every manifest object, in manifest order', () => {
    expect(recording.kernel).not.toBe('');
    expect(recording.objects.map((o) => o.object)).toEqual(manifest.objects.map((o) => o.object));
  });

  for (const spec of manifest.objects) {
    const recorded = recording.objects.find((o) => o.object === spec.object);
    if (!recorded) continue; // reported by the test above
    it(`${spec.object}: ${recorded.loadall.ok ? 'loaded' : 'refused'} as recorded, with what the manifest names`, () => {
      if (!recorded.loadall.ok) {
        expect(recorded.loadall.error).toMatch(/^Error: /);
        expect(recorded.loadall.messages.some((line) => line.startsWith('libbpf: '))).toBe(true);
        return;
      }
      // Programs are pinned under their full name; the kernel keeps the first BPF_OBJ_NAME_LEN - 1 bytes.
      const programs = recorded.programs ?? [];
      expect(programs.map((p) => p.pin).sort()).toEqual(spec.programs.map((p) => p.name).sort());
      for (const p of spec.programs) {
        const got = programs.find((r) => r.pin === p.name);
        expect(p.name.startsWith(got?.name ?? '\0'), p.name).toBe(true);
        expect(got?.type, p.name).toBe(p.type.toLowerCase());
      }
      const maps = recorded.maps ?? [];
      for (const m of spec.maps) {
        // The kernel's name is the map's, cut short: the longest recorded name it starts with.
        const got = maps.filter((r) => r.name !== '' && m.name.startsWith(r.name)).sort((a, b) => b.name.length - a.name.length)[0];
        expect(got, m.name).toBeDefined();
        if (typeof got?.type === 'string') expect(got.type, m.name).toBe(m.type.toLowerCase());
      }
      expect((recorded.runs ?? []).map((r) => r.program)).toEqual(spec.runs.map((r) => r.program));
      for (const run of recorded.runs ?? []) expect(run.retval !== undefined || run.bpftoolError !== undefined, run.program).toBe(true);
      expect(Object.keys(recorded.dumps ?? {})).toEqual(spec.dumps);
    });
  }
});
