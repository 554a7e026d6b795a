import { z } from 'zod';

/** Most CPUs a kernel can have (CONFIG_NR_CPUS): per-CPU arrays of programs and devices are this long. */
export const NR_CPUS = 64;

/** One NIC: which registered model drives it and its ring geometry. */
export const NicConfigSchema = z.object({
  model: z.string().default('simple'),
  name: z
    .string()
    .regex(/^[a-z][a-z0-9]{0,14}$/)
    .optional(),
  rxRingSize: z.number().int().min(1).max(65536).default(256),
  txRingSize: z.number().int().min(1).max(65536).default(256),
  /** Interrupt-to-poll latency (NAPI scheduling), ns. */
  irqLatencyNs: z.number().int().min(0).default(2_000),
  /** Per-frame processing cost on the receive path, ns. */
  perPacketNs: z.number().int().min(0).default(100),
  /** Link speed for transmit timing, bits per second. */
  linkBps: z.number().positive().default(10e9),
  mtu: z.number().int().min(68).max(65535).default(1500),
  /** An IPv4 address with its prefix length (`10.0.1.1/24`) the network stack gives the device, as `ip addr add` would. */
  ipv4: z
    .string()
    .regex(/^\d{1,3}(\.\d{1,3}){3}\/\d{1,2}$/)
    .optional(),
  /** RX queues, each with its xdp_rxq_info (default: one per CPU, as drivers set up; queue q is served by CPU q mod cpus). */
  rxQueues: z.number().int().min(1).max(NR_CPUS).optional(),
});
export type NicConfig = z.infer<typeof NicConfigSchema>;

/** One block device: a RAM-backed disk with request latency. */
export const BlockConfigSchema = z.object({
  name: z
    .string()
    .regex(/^[a-z][a-z0-9]{0,14}$/)
    .default('vda'),
  sizeBytes: z
    .number()
    .int()
    .min(512)
    .max(256 * 1024 * 1024)
    .default(4 * 1024 * 1024),
  /** Fixed latency per request (seek / command overhead), ns. */
  latencyNs: z.number().int().min(0).default(100_000),
  /** Transfer rate, bytes per second. */
  bytesPerSecond: z.number().positive().default(500e6),
});
export type BlockConfig = z.infer<typeof BlockConfigSchema>;

/** The kernel configuration: everything a run depends on besides the workload. */
export const KernelConfigSchema = z.object({
  cpus: z.number().int().min(1).max(NR_CPUS).default(1),
  /** Physical memory (one WebAssembly.Memory), bytes. */
  memoryBytes: z
    .number()
    .int()
    .min(1 << 20)
    .max(2 ** 31)
    .default(64 * 1024 * 1024),
  /** Seed of the kernel PRNG (getrandom, device jitter, workload generators). */
  seed: z
    .number()
    .int()
    .min(0)
    .max(2 ** 32 - 1)
    .default(1),
  sched: z
    .object({
      /** A name registered in the scheduler registry: fifo, rr, cfs, or a researcher's own. */
      policy: z.string().default('cfs'),
      options: z.record(z.string(), z.number()).default({}),
    })
    .default({ policy: 'cfs', options: {} }),
  /** Scheduler tick period (1 ms is HZ=1000). */
  tickNs: z.number().int().min(1000).default(1_000_000),
  /** CPU time a syscall costs the caller, ns. */
  syscallNs: z.number().int().min(0).default(100),
  /** CPU time a context switch costs, ns. */
  contextSwitchNs: z.number().int().min(0).default(1_000),
  /** Sampling period of the perf-event cpu-clock timer while a handler is attached, ns. */
  perfSamplePeriodNs: z.number().int().min(1000).default(1_000_000),
  trace: z
    .object({
      enabled: z.boolean().default(false),
      /** Also trace every syscall (large). */
      syscalls: z.boolean().default(false),
      maxLines: z.number().int().min(0).default(1_000_000),
    })
    .default({ enabled: false, syscalls: false, maxLines: 1_000_000 }),
  devices: z
    .object({
      nics: z.array(NicConfigSchema).default([]),
      block: z.array(BlockConfigSchema).default([]),
    })
    .default({ nics: [], block: [] }),
});

export type KernelConfig = z.infer<typeof KernelConfigSchema>;
export type KernelConfigInput = z.input<typeof KernelConfigSchema>;
