// The GB/T 2260 table is shared vocabulary of the gateway and the connectors: it lives in the kernel.
export * from '../../kernel/admin-divisions.js'
