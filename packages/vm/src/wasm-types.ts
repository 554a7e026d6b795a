/**
 * The part of the WebAssembly JS API this package uses. TypeScript ships these types only in lib.dom, which a
 * Node package does not load; the declarations mirror lib.dom's exactly so that both can coexist.
 */
declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace -- augmenting the global WebAssembly namespace is the only way to type it without lib.dom
  namespace WebAssembly {
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
  }
}

export {};
