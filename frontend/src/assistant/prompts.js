// The quick actions on a selection, and how the conversation is cut to fit a request.

export const QUICK_ACTIONS = {
  explain: {
    label: 'Explain',
    menu: 'Assistant: Explain the selection',
    prompt: 'Explain what the selected code does, step by step, and point out anything surprising.',
  },
  fix: {
    label: 'Fix',
    menu: 'Assistant: Fix the selection',
    prompt:
      'Find the bugs in the selected code and fix them. Answer with the corrected code as one code block ' +
      'that can replace the selection as it is, then say briefly what you changed and why.',
  },
  tests: {
    label: 'Write tests',
    menu: 'Assistant: Write tests for the selection',
    prompt:
      'Write unit tests for the selected code with the test framework this project most likely uses. ' +
      'Answer with the tests as one code block, then list what they cover.',
  },
  refactor: {
    label: 'Refactor',
    menu: 'Assistant: Refactor the selection',
    prompt:
      'Refactor the selected code to be clearer and simpler without changing what it does. Answer with the ' +
      'new code as one code block that can replace the selection as it is, then explain the changes briefly.',
  },
};

const MAX_HISTORY_MESSAGES = 20;
const MAX_HISTORY_CHARS = 24000;

/**
 * The earlier turns to send with a new question: finished messages only, newest last,
 * at most MAX_HISTORY_MESSAGES and MAX_HISTORY_CHARS (the oldest go first).
 */
export function historyFor(messages) {
  const usable = messages.filter((m) => m.content && (m.role === 'user' || m.state === 'done' || m.state === 'stopped'));
  const picked = [];
  let chars = 0;
  for (let i = usable.length - 1; i >= 0 && picked.length < MAX_HISTORY_MESSAGES; i -= 1) {
    chars += usable[i].content.length;
    if (chars > MAX_HISTORY_CHARS) break;
    picked.unshift({ role: usable[i].role, content: usable[i].content });
  }
  // A conversation starts with a question.
  while (picked.length && picked[0].role !== 'user') picked.shift();
  return picked;
}
