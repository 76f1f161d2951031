import { createServer } from 'node:net'

/** A loopback port with nothing listening on it (for "upstream down" cases). */
export async function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
  })
}
