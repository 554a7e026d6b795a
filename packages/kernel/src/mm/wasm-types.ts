/**
 * The WebAssembly.Memory type, which TypeScript ships only in lib.dom (not loaded for Node packages). The
 * declarations match lib.dom's (and @ebpf-sim/vm's) exactly, so they merge when compiled together.
 */
declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace -- the global WebAssembly namespace can only be typed by augmentation without lib.dom
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
