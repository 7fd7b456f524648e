// A stock Yjs WebsocketProvider (npm y-websocket, the version the frontend ships) editing one
// document on a collabcode server. Driven by tests/collab/test_interop.py: prints one JSON line
// per event; prints "done" once it holds both its own text and the other client's (and sees the
// other client's presence), then stays connected until its standard input closes.
//
// usage: node interop_client.mjs <server url> <room> <ticket> <text to insert> <text to wait for>
import * as Y from 'yjs'
import { WebsocketProvider } from 'y-websocket'

const [serverUrl, room, ticket, mine, theirs] = process.argv.slice(2)
const emit = (event) => process.stdout.write(JSON.stringify(event) + '\n')

const doc = new Y.Doc()
const text = doc.getText('content')
const provider = new WebsocketProvider(serverUrl, room, doc, { params: { ticket }, disableBc: true })
// The server must replace this with the identity it authenticated.
provider.awareness.setLocalStateField('user', { name: 'spoofed name', id: 'spoofed-id' })

const guard = setTimeout(() => {
  emit({ event: 'timeout', text: text.toString(), users: others() })
  process.exit(2)
}, 25000)

function others () {
  const users = []
  provider.awareness.getStates().forEach((state, clientId) => {
    if (clientId !== doc.clientID && state.user) users.push(state.user)
  })
  return users
}

let inserted = false
let done = false
function check () {
  if (done || !inserted || !text.toString().includes(theirs) || others().length === 0) return
  done = true
  clearTimeout(guard)
  emit({ event: 'done', text: text.toString(), users: others() })
}

process.stdin.on('data', () => {})
process.stdin.on('end', () => {
  provider.destroy()
  process.exit(0)
})

provider.on('status', (event) => emit({ event: 'status', status: event.status }))
provider.on('connection-close', (event) => emit({ event: 'close', code: event ? event.code : null }))
provider.on('sync', (synced) => {
  if (!synced || inserted) return
  inserted = true
  text.insert(text.length, mine)
  emit({ event: 'synced' })
  check()
})
text.observe(check)
provider.awareness.on('change', check)
