// Hocuspocus with its defaults and no extensions: a peer server for collab_bench.py.
// HOST and PORT come from the environment; it prints "ready" once listening.
import { Server } from '@hocuspocus/server'

const server = new Server({
  address: process.env.HOST || '127.0.0.1',
  port: Number.parseInt(process.env.PORT || '1234', 10),
  quiet: true,
  stopOnSignals: true
})

await server.listen()
console.log(`ready ${server.address.port}`)
