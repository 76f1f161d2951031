// The identifier algorithms are shared vocabulary of the gateway and the connectors: they live in the kernel.
export * from '../../kernel/identifiers.js'
