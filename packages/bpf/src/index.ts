export { PROGRAM_TYPES, progTypeForSection, KPROBE, LSM, PERF_EVENT, RAW_TRACEPOINT, SCHED_CLS, SOCKET_FILTER, TRACEPOINT, XDP } from './prog-types/index.js';
export { HELPERS } from './helpers/index.js';
export { MAP_TYPE_IDS, createRegistry, mapDesc } from './maps.js';
export type { MapSpec } from './maps.js';
export { GPL_COMPATIBLE_LICENSES, licenseIsGplCompatible } from './license.js';
export { BpfMap, ArrayMap, HashTab, QueueStackMap, BloomFilter, LpmTrie, MAP_OPS, createMap, jhash, ENOTSUPP } from './maps/index.js';
export type { MapAttr, MapEnv, MapOps } from './maps/index.js';
export { BpfSyscall, CyclicIdr, registerBpf } from './syscall/index.js';
export type { BpfKernel, BpfServices, MapObject } from './syscall/index.js';
