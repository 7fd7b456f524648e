// A Server-Sent Events reader for a fetch() response body. EventSource cannot POST or send
// an Authorization header, so the chat stream is read from the body stream instead.

/**
 * Split text chunks into SSE events. Network chunks may cut an event (or a line, or a
 * CRLF pair) anywhere, so partial lines stay in the buffer until their end arrives.
 */
export class SseParser {
  constructor() {
    this.buffer = '';
    this.event = '';
    this.data = [];
    this.pendingCr = false;
  }

  /** Feed a chunk of text; returns the events it completed as [{event, data}]. */
  push(chunk) {
    let text = chunk;
    if (!text) return [];
    // A CR at the end of the previous chunk may be the first half of a CRLF.
    if (this.pendingCr && text.startsWith('\n')) text = text.slice(1);
    this.pendingCr = chunk.endsWith('\r');
    this.buffer += text;
    const events = [];
    const lines = this.buffer.split(/\r\n|\r|\n/);
    this.buffer = lines.pop() ?? '';
    for (const line of lines) {
      const done = this.line(line);
      if (done) events.push(done);
    }
    return events;
  }

  /** Whatever the stream left unfinished, as if it had ended with a blank line. */
  end() {
    const events = [];
    if (this.buffer) {
      const done = this.line(this.buffer);
      if (done) events.push(done);
      this.buffer = '';
    }
    const last = this.line('');
    if (last) events.push(last);
    return events;
  }

  line(line) {
    if (line === '') {
      if (!this.data.length) {
        this.event = '';
        return null;
      }
      const done = { event: this.event || 'message', data: this.data.join('\n') };
      this.event = '';
      this.data = [];
      return done;
    }
    if (line.startsWith(':')) return null; // a comment or keep-alive
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'event') this.event = value;
    else if (field === 'data') this.data.push(value);
    return null; // "id" and "retry" mean nothing for a one-shot POST stream
  }
}

/** Yield {event, data} for each event of a fetch Response body until it ends. */
export async function* readSse(body) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  const parser = new SseParser();
  let finished = false;
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      yield* parser.push(value);
    }
    finished = true;
    yield* parser.end();
  } finally {
    // Stopped early (the consumer returned): close the connection, do not just leave it.
    if (!finished) reader.cancel().catch(() => {});
  }
}
