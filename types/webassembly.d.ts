/**
 * The part of the WebAssembly JS API this project uses: the memory (the VM's and the kernel's physical memory)
 * and modules, instances, globals and traps (the JIT), `validate` and `Module.exports` (tests of the JIT image). TypeScript ships these types only in lib.dom, which Node
 * packages do not load; the shapes follow lib.dom's so both can coexist. Every package gets this file through
 * tsconfig.base.json's `files`.
 */
declare namespace WebAssembly {
  interface MemoryDescriptor {
    initial: number;
    maximum?: number;
    shared?: boolean;
  }
  interface Memory {
    readonly buffer: ArrayBuffer;
    grow(delta: number): number;
  }
  // eslint-disable-next-line no-var -- lib.dom declares constructors this way
  var Memory: {
    prototype: Memory;
    new (descriptor: MemoryDescriptor): Memory;
  };

  type ImportValue = ExportValue | number;
  type ExportValue = ((...args: never[]) => unknown) | Global | Memory;
  type ModuleImports = Record<string, ImportValue>;
  type Imports = Record<string, ModuleImports>;
  type Exports = Record<string, ExportValue>;
  type ValueType = 'anyfunc' | 'externref' | 'f32' | 'f64' | 'i32' | 'i64' | 'v128';
  interface GlobalDescriptor<T extends ValueType = ValueType> {
    mutable?: boolean;
    value: T;
  }
  // eslint-disable-next-line @typescript-eslint/no-empty-object-type -- lib.dom declares Module as an empty interface
  interface Module {}
  interface ModuleExportDescriptor {
    kind: 'function' | 'global' | 'memory' | 'table';
    name: string;
  }
  // eslint-disable-next-line no-var -- lib.dom declares constructors this way
  var Module: {
    prototype: Module;
    new (bytes: BufferSource): Module;
    exports(module: Module): ModuleExportDescriptor[];
  };
  function validate(bytes: BufferSource): boolean;
  interface Instance {
    readonly exports: Exports;
  }
  // eslint-disable-next-line no-var -- lib.dom declares constructors this way
  var Instance: {
    prototype: Instance;
    new (module: Module, importObject?: Imports): Instance;
  };
  interface Global<T extends ValueType = ValueType> {
    value: T extends 'i64' ? bigint : unknown;
  }
  // eslint-disable-next-line no-var -- lib.dom declares constructors this way
  var Global: {
    prototype: Global;
    new <T extends ValueType = ValueType>(descriptor: GlobalDescriptor<T>, v?: unknown): Global<T>;
  };
  // eslint-disable-next-line @typescript-eslint/no-empty-object-type -- lib.dom declares RuntimeError this way
  interface RuntimeError extends Error {}
  // eslint-disable-next-line no-var -- lib.dom declares constructors this way
  var RuntimeError: {
    prototype: RuntimeError;
    new (message?: string): RuntimeError;
  };
}

type BufferSource = ArrayBufferView | ArrayBuffer;
