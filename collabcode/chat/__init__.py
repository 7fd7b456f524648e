"""1:1 messaging: conversations, messages, receipts, typing, blocks and phone discovery."""
