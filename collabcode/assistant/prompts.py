"""What the provider sees: windows of code around the cursor, other files, and the chat context.

Everything is cut to character budgets derived from ``ai_context_chars`` (no tokenizer needed);
cuts fall on line boundaries so the model never sees half a line at the edge of a window. Files
that look like secrets are never read for the assistant, whatever the request says.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from pathlib import PurePosixPath

from collabcode.assistant.providers.base import ChatMessage, Snippet

#: File names (matched case-insensitively against the last path part) that hold secrets.
SECRET_NAMES = (
    ".env",
    ".env.*",
    "*.env",
    ".envrc",
    "*.pem",
    "*.key",
    "*.p12",
    "*.pfx",
    "*.jks",
    "*.keystore",
    "*.kdbx",
    "*.asc",
    "*.gpg",
    "*.crt",
    "*.cer",
    "*.der",
    "*.p8",
    "*.ppk",
    "id_rsa*",
    "id_dsa*",
    "id_ecdsa*",
    "id_ed25519*",
    "credentials",
    "credentials.*",
    "*credentials*.json",
    "*secret*",
    ".netrc",
    "_netrc",
    ".pgpass",
    ".npmrc",
    ".pypirc",
    ".htpasswd",
    ".git-credentials",
    "*.tfvars",
    "*.tfstate",
    "service-account*.json",
    "known_hosts",
    "authorized_keys",
)
#: Folders whose files are secrets as a whole.
SECRET_DIRS = (".ssh", ".gnupg", ".aws", ".docker", ".kube")

#: Shares of the context budget of an inline completion: before the cursor, after it, other files.
PREFIX_SHARE, SUFFIX_SHARE = 0.6, 0.2
MAX_SNIPPETS = 3
#: Shortest repeat of the text after the cursor that is cut from a completion.
MIN_OVERLAP = 3

SYSTEM_PROMPT = (
    "You are the coding assistant inside collabcode, a collaborative code editor. Answer the user's "
    "questions about their code precisely and briefly, in Markdown. Put code in fenced blocks tagged with "
    "the language; when you change code, give the complete changed snippet so it can replace the selection. "
    "The files below are context from the user's workspace; do not invent files or APIs you cannot see."
)


def looks_secret(path: str) -> bool:
    """True for files that typically hold credentials: they are never sent to the provider."""
    parts = [p.lower() for p in PurePosixPath(path.replace("\\", "/")).parts]
    if not parts:
        return False
    if any(part in SECRET_DIRS for part in parts[:-1]):
        return True
    name = parts[-1]
    return any(fnmatch.fnmatchcase(name, pattern) for pattern in SECRET_NAMES)


def tail(text: str, limit: int) -> str:
    """The last ``limit`` characters, starting at a line start when cut."""
    if len(text) <= limit:
        return text
    cut = text[-limit:]
    newline = cut.find("\n")
    return cut[newline + 1 :] if 0 <= newline < len(cut) - 1 else cut


def head(text: str, limit: int) -> str:
    """The first ``limit`` characters, ending at a line end when cut."""
    if len(text) <= limit:
        return text
    cut = text[:limit]
    newline = cut.rfind("\n")
    return cut[: newline + 1] if newline > 0 else cut


def lines_around(text: str, start_line: int, end_line: int, limit: int) -> tuple[str, int]:
    """A window of whole lines around lines ``start_line..end_line`` (1-based); (text, first line)."""
    lines = text.splitlines(keepends=True)
    if not lines:
        return "", 1
    start = min(max(start_line, 1), len(lines)) - 1
    end = min(max(end_line, start_line, 1), len(lines))
    used = sum(len(line) for line in lines[start:end])
    while used < limit and (start > 0 or end < len(lines)):
        grew = False
        if start > 0 and used + len(lines[start - 1]) <= limit:
            start -= 1
            used += len(lines[start])
            grew = True
        if end < len(lines) and used + len(lines[end]) <= limit:
            used += len(lines[end])
            end += 1
            grew = True
        if not grew:
            break
    return head("".join(lines[start:end]), limit), start + 1


@dataclass(frozen=True)
class CompletionWindow:
    prefix: str
    suffix: str
    snippet_chars: int


def completion_window(prefix: str, suffix: str, context_chars: int) -> CompletionWindow:
    """Prefix and suffix cut to their shares; what the suffix leaves unused goes to the prefix."""
    suffix_part = head(suffix, int(context_chars * SUFFIX_SHARE))
    prefix_budget = int(context_chars * (PREFIX_SHARE + SUFFIX_SHARE)) - len(suffix_part)
    prefix_part = tail(prefix, prefix_budget)
    snippet_chars = context_chars - len(prefix_part) - len(suffix_part)
    return CompletionWindow(prefix_part, suffix_part, max(0, snippet_chars))


def snippets_within(candidates: list[Snippet], budget: int) -> tuple[Snippet, ...]:
    """Up to :data:`MAX_SNIPPETS` file heads, sharing ``budget`` characters."""
    chosen: list[Snippet] = []
    usable = [c for c in candidates if c.text.strip()][:MAX_SNIPPETS]
    if not usable or budget < 80:
        return ()
    each = budget // len(usable)
    for candidate in usable:
        text = head(candidate.text, each)
        if text.strip():
            chosen.append(Snippet(candidate.path, text))
    return tuple(chosen)


def trim_completion(text: str, suffix: str, limit: int) -> str:
    """The completion as inserted: capped, and without repeating the line right after the cursor.

    Only an overlap of a few characters counts: a lone ``)`` at the end may be the model closing
    its own call, and cutting it would break the code.
    """
    text = text[:limit]
    first_line = suffix.lstrip(" \t").split("\n", 1)[0].strip()
    stripped = text.rstrip()
    if len(first_line) >= MIN_OVERLAP and len(stripped) > len(first_line) and stripped.endswith(first_line):
        text = stripped[: -len(first_line)]
    return text


@dataclass(frozen=True)
class FileContext:
    path: str
    language: str
    text: str
    first_line: int = 1


@dataclass(frozen=True)
class Selection:
    text: str
    start_line: int
    end_line: int


def fence(text: str) -> str:
    """A Markdown fence longer than any backtick run inside ``text``."""
    longest, run = 0, 0
    for char in text:
        run = run + 1 if char == "`" else 0
        longest = max(longest, run)
    return "`" * max(3, longest + 1)


def system_message(current: FileContext | None, selection: Selection | None, others: list[FileContext]) -> str:
    parts = [SYSTEM_PROMPT]
    if current is not None:
        where = f" (lines {current.first_line}-{current.first_line + current.text.count(chr(10))})"
        mark = fence(current.text)
        parts.append(
            f"Current file: {current.path} ({current.language}){where}:\n{mark}{current.language}\n"
            f"{current.text}\n{mark}"
        )
    if selection is not None:
        mark = fence(selection.text)
        lang = current.language if current else ""
        lines = f"{selection.start_line}-{selection.end_line}"
        parts.append(f"The user selected lines {lines}:\n{mark}{lang}\n{selection.text}\n{mark}")
    for other in others:
        mark = fence(other.text)
        parts.append(f"Another open file: {other.path}:\n{mark}{other.language}\n{other.text}\n{mark}")
    return "\n\n".join(parts)


def fit_history(system: str, messages: list[ChatMessage], limit: int) -> list[ChatMessage] | None:
    """System prompt plus as many of the latest messages as fit ``limit`` characters (None: not even one)."""
    budget = limit - len(system)
    kept: list[ChatMessage] = []
    for message in reversed(messages):
        if len(message.content) > budget:
            break
        kept.append(message)
        budget -= len(message.content)
    if not kept:
        return None
    kept.reverse()
    # A conversation sent to a model starts with the user's turn.
    while kept and kept[0].role != "user":
        kept.pop(0)
    return [ChatMessage("system", system), *kept] if kept else None


_EXTENSIONS = {
    "py": "python",
    "js": "javascript",
    "mjs": "javascript",
    "cjs": "javascript",
    "jsx": "javascript",
    "ts": "typescript",
    "tsx": "typescript",
    "go": "go",
    "rs": "rust",
    "java": "java",
    "kt": "kotlin",
    "c": "c",
    "h": "c",
    "cc": "cpp",
    "cpp": "cpp",
    "hpp": "cpp",
    "cs": "csharp",
    "rb": "ruby",
    "php": "php",
    "swift": "swift",
    "sh": "shell",
    "bash": "shell",
    "sql": "sql",
    "html": "html",
    "css": "css",
    "scss": "scss",
    "json": "json",
    "yaml": "yaml",
    "yml": "yaml",
    "toml": "toml",
    "md": "markdown",
    "lua": "lua",
    "hs": "haskell",
    "scala": "scala",
    "dart": "dart",
    "r": "r",
    "jl": "julia",
}


def language_of(path: str) -> str:
    """A language name from the file extension (for fences and comment markers)."""
    suffix = PurePosixPath(path).suffix.lower().lstrip(".")
    return _EXTENSIONS.get(suffix, suffix or "plaintext")
