"""Fill-in-the-middle prompts for servers without a native FIM route (vLLM, LM Studio, ...).

Each model family was trained with its own sentinel tokens; the prompt must use exactly those,
and generation stops at the family's end tokens. ``family_of`` guesses the family from a model
name; other files go in as comment blocks ahead of the prefix (Qwen2.5-Coder has a repository
format with file separators, which it understands better).
"""

from __future__ import annotations

from dataclasses import dataclass

from collabcode.assistant.providers.base import FimRequest, Snippet


@dataclass(frozen=True)
class FimTemplate:
    name: str
    pattern: str
    stop: tuple[str, ...]

    def render(self, prefix: str, suffix: str) -> str:
        return self.pattern.replace("{prefix}", prefix, 1).replace("{suffix}", suffix, 1)


TEMPLATES: dict[str, FimTemplate] = {
    "qwen": FimTemplate(
        "qwen",
        "<|fim_prefix|>{prefix}<|fim_suffix|>{suffix}<|fim_middle|>",
        ("<|endoftext|>", "<|fim_pad|>", "<|file_sep|>", "<|im_end|>", "<|repo_name|>"),
    ),
    "starcoder": FimTemplate(
        "starcoder",
        "<fim_prefix>{prefix}<fim_suffix>{suffix}<fim_middle>",
        ("<|endoftext|>", "<file_sep>", "<fim_prefix>", "<fim_suffix>", "<fim_middle>"),
    ),
    "deepseek": FimTemplate(
        "deepseek",
        "<\uff5cfim\u2581begin\uff5c>{prefix}<\uff5cfim\u2581hole\uff5c>{suffix}<\uff5cfim\u2581end\uff5c>",
        ("<\uff5cend\u2581of\u2581sentence\uff5c>", "<|EOT|>"),
    ),
    "codellama": FimTemplate("codellama", "<PRE> {prefix} <SUF>{suffix} <MID>", ("<EOT>", "</s>")),
}

_FAMILY_HINTS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("qwen", ("qwen2.5-coder", "qwen2.5coder", "qwen-coder", "qwen3-coder")),
    ("starcoder", ("starcoder",)),
    ("deepseek", ("deepseek-coder", "deepseekcoder")),
    ("codellama", ("codellama", "code-llama", "code_llama")),
)

_LINE_COMMENT = {
    "python": "#",
    "shell": "#",
    "bash": "#",
    "sh": "#",
    "ruby": "#",
    "perl": "#",
    "r": "#",
    "yaml": "#",
    "toml": "#",
    "dockerfile": "#",
    "makefile": "#",
    "powershell": "#",
    "elixir": "#",
    "julia": "#",
    "sql": "--",
    "lua": "--",
    "haskell": "--",
    "ada": "--",
    "html": None,
    "xml": None,
    "markdown": None,
    "css": None,
    "json": None,
    "plaintext": None,
}


def family_of(model: str) -> str | None:
    """The FIM family a model name belongs to, if we recognise it."""
    name = model.lower()
    for family, hints in _FAMILY_HINTS:
        if any(hint in name for hint in hints):
            return family
    return None


def template_for(setting: str, model: str) -> FimTemplate | None:
    """The template to use, or None to send ``suffix`` to the server (setting ``suffix``)."""
    if setting == "suffix":
        return None
    if setting in TEMPLATES:
        return TEMPLATES[setting]
    family = family_of(model)
    return TEMPLATES[family] if family else None


def comment_block(path: str, text: str, language: str) -> str:
    """Another file as a comment block, so a plain code model reads it as context."""
    marker = _LINE_COMMENT.get(language.lower(), "//")
    if marker is None:
        return f"Path: {path}\n{text}\n\n"
    lines = [f"{marker} Path: {path}", *(f"{marker} {line}" if line else marker for line in text.splitlines())]
    return "\n".join(lines) + "\n\n"


def with_context(request: FimRequest) -> str:
    """The prefix with the other files (and the current path) ahead of it as comments."""
    if not request.snippets:
        return request.prefix
    blocks = "".join(comment_block(s.path, s.text, request.language) for s in request.snippets)
    marker = _LINE_COMMENT.get(request.language.lower(), "//")
    header = f"{marker} Path: {request.path}\n" if marker else ""
    return blocks + header + request.prefix


def render(template: FimTemplate, request: FimRequest) -> str:
    """The whole prompt for ``template``, with other files in the family's preferred form."""
    if template.name == "qwen" and request.snippets:
        files = "".join(_qwen_file(s) for s in request.snippets)
        core = template.render(request.prefix, request.suffix)
        return f"<|repo_name|>workspace\n{files}<|file_sep|>{request.path}\n{core}"
    return template.render(with_context(request), request.suffix)


def _qwen_file(snippet: Snippet) -> str:
    return f"<|file_sep|>{snippet.path}\n{snippet.text}\n"
