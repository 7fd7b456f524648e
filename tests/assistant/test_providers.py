"""Each provider route against the loopback test provider: wire format, errors, cancellation."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest

from collabcode.assistant.providers.base import ChatMessage, Chunk, FimRequest, Snippet, make_client
from collabcode.assistant.providers.errors import ProviderFailed, ProviderUnavailable
from collabcode.assistant.providers.llamacpp import LlamaCpp
from collabcode.assistant.providers.ollama import Ollama
from collabcode.assistant.providers.openai import OpenAICompatible
from tests.fake_ai_provider import FakeAIProvider

FIM = FimRequest(
    model="qwen2.5-coder:1.5b",
    prefix="def add(a, b):\n    ",
    suffix="\n\nprint(add(1, 2))\n",
    path="src/calc.py",
    language="python",
    max_tokens=32,
    snippets=(Snippet("src/util.py", "def helper():\n    return 1\n"),),
)


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    http = make_client("sk-test-key-123456", timeout=2.0)
    try:
        yield http
    finally:
        await http.aclose()


async def collect(stream: AsyncIterator[Chunk]) -> tuple[str, list[Chunk]]:
    chunks = [chunk async for chunk in stream]
    return "".join(c.text for c in chunks), chunks


async def test_openai_chat_streams_sse_with_usage(fake_ai_provider: FakeAIProvider, client: httpx.AsyncClient) -> None:
    fake_ai_provider.script_chat(["Use ", "`sum`", "."])
    fake_ai_provider.usage = (40, 3)
    provider = OpenAICompatible(client, fake_ai_provider.url + "/v1/", timeout=2.0)
    text, chunks = await collect(provider.chat([ChatMessage("user", "hi")], model="m", max_tokens=50))
    assert text == "Use `sum`."
    assert chunks[-1].usage is not None and chunks[-1].usage.total == 43
    assert any(c.finish_reason == "stop" for c in chunks)
    request = fake_ai_provider.requests[-1]
    assert request.path == "/v1/chat/completions"
    assert request.json["stream"] is True and request.json["max_tokens"] == 50
    assert request.json["messages"] == [{"role": "user", "content": "hi"}]
    assert request.headers["authorization"] == "Bearer sk-test-key-123456"


async def test_openai_completions_with_suffix(fake_ai_provider: FakeAIProvider, client: httpx.AsyncClient) -> None:
    fake_ai_provider.script_completion(["return", " a + b"])
    provider = OpenAICompatible(client, fake_ai_provider.url, timeout=2.0, fim_template="suffix")
    text, _ = await collect(provider.complete(FIM))
    assert text == "return a + b"
    body = fake_ai_provider.requests[-1].json
    assert fake_ai_provider.requests[-1].path == "/v1/completions"
    assert body["suffix"] == FIM.suffix
    assert body["prompt"].endswith(FIM.prefix)
    assert "# Path: src/util.py" in body["prompt"] and "<|fim_prefix|>" not in body["prompt"]
    assert body["max_tokens"] == 32


@pytest.mark.parametrize(
    ("model", "setting", "begin", "middle"),
    [
        ("qwen2.5-coder:7b", "auto", "<|fim_prefix|>", "<|fim_middle|>"),
        ("bigcode/starcoder2-3b", "auto", "<fim_prefix>", "<fim_middle>"),
        ("deepseek-coder-1.3b-base", "auto", "<\uff5cfim\u2581begin\uff5c>", "<\uff5cfim\u2581end\uff5c>"),
        ("codellama-7b", "auto", "<PRE> ", " <MID>"),
        ("my-own-model", "starcoder", "<fim_prefix>", "<fim_middle>"),
    ],
)
async def test_fim_templates_over_v1_completions(
    fake_ai_provider: FakeAIProvider, client: httpx.AsyncClient, model: str, setting: str, begin: str, middle: str
) -> None:
    provider = OpenAICompatible(client, fake_ai_provider.url, timeout=2.0, fim_template=setting)
    request = FimRequest(model=model, prefix="x = ", suffix="\ny = 2\n", path="a.py", language="python", max_tokens=8)
    text, _ = await collect(provider.complete(request))
    assert text == "return a + b"
    body = fake_ai_provider.requests[-1].json
    assert "suffix" not in body
    assert body["prompt"].startswith(begin) and body["prompt"].endswith(middle)
    assert "x = " in body["prompt"] and "\ny = 2\n" in body["prompt"]
    assert body["stop"]


async def test_qwen_template_puts_other_files_in_repository_form(
    fake_ai_provider: FakeAIProvider, client: httpx.AsyncClient
) -> None:
    provider = OpenAICompatible(client, fake_ai_provider.url, timeout=2.0)
    await collect(provider.complete(FIM))
    prompt = fake_ai_provider.requests[-1].json["prompt"]
    assert prompt.startswith("<|repo_name|>")
    assert "<|file_sep|>src/util.py\ndef helper()" in prompt
    assert "<|file_sep|>src/calc.py\n<|fim_prefix|>def add(a, b):" in prompt


async def test_ollama_generate_with_suffix_and_raw_template(
    fake_ai_provider: FakeAIProvider, client: httpx.AsyncClient
) -> None:
    fake_ai_provider.script_completion(["a", " + ", "b"])
    fake_ai_provider.usage = (20, 5)
    provider = Ollama(client, fake_ai_provider.url, timeout=2.0)
    text, chunks = await collect(provider.complete(FIM))
    assert text == "a + b"
    assert chunks[-1].usage is not None and chunks[-1].usage.total == 25
    body = fake_ai_provider.requests[-1].json
    assert fake_ai_provider.requests[-1].path == "/api/generate"
    assert body["suffix"] == FIM.suffix and "raw" not in body
    assert body["options"]["num_predict"] == 32

    raw = Ollama(client, fake_ai_provider.url, timeout=2.0, fim_template="codellama")
    await collect(raw.complete(FIM))
    body = fake_ai_provider.requests[-1].json
    assert body["raw"] is True and "suffix" not in body
    assert body["prompt"].startswith("<PRE> # Path: src/util.py") and body["prompt"].endswith(" <MID>")
    assert "<EOT>" in body["options"]["stop"]


async def test_ollama_lists_models_from_tags(fake_ai_provider: FakeAIProvider, client: httpx.AsyncClient) -> None:
    assert await Ollama(client, fake_ai_provider.url, timeout=2.0).list_models() == fake_ai_provider.models
    assert await OpenAICompatible(client, fake_ai_provider.url, timeout=2.0).list_models() == fake_ai_provider.models


async def test_llamacpp_infill_sends_other_files_as_input_extra(
    fake_ai_provider: FakeAIProvider, client: httpx.AsyncClient
) -> None:
    fake_ai_provider.script_completion(["return a", " + b"])
    provider = LlamaCpp(client, fake_ai_provider.url, timeout=2.0)
    text, chunks = await collect(provider.complete(FIM))
    assert text == "return a + b"
    assert chunks[-1].finish_reason == "eos"
    request = fake_ai_provider.requests[-1]
    assert request.path == "/infill"
    assert request.json["input_prefix"] == FIM.prefix and request.json["input_suffix"] == FIM.suffix
    assert request.json["input_extra"] == [{"filename": "src/util.py", "text": "def helper():\n    return 1\n"}]
    assert request.json["n_predict"] == 32


ROUTES = [
    pytest.param("chat", OpenAICompatible, id="openai-chat"),
    pytest.param("complete", OpenAICompatible, id="openai-completions"),
    pytest.param("complete", Ollama, id="ollama-generate"),
    pytest.param("complete", LlamaCpp, id="llamacpp-infill"),
]


def answer(provider: OpenAICompatible, route: str) -> AsyncIterator[Chunk]:
    if route == "chat":
        return provider.chat([ChatMessage("user", "hi")], model="m", max_tokens=10)
    return provider.complete(FIM)


@pytest.mark.parametrize(("route", "cls"), ROUTES)
async def test_5xx_is_a_502(
    fake_ai_provider: FakeAIProvider, client: httpx.AsyncClient, route: str, cls: type[OpenAICompatible]
) -> None:
    fake_ai_provider.fail_next(500)
    with pytest.raises(ProviderFailed) as caught:
        await collect(answer(cls(client, fake_ai_provider.url, timeout=2.0), route))
    assert caught.value.status == 502
    assert "exploded" not in caught.value.message  # the provider's own text is never passed on


@pytest.mark.parametrize(("route", "cls"), ROUTES)
async def test_malformed_stream_is_a_502(
    fake_ai_provider: FakeAIProvider, client: httpx.AsyncClient, route: str, cls: type[OpenAICompatible]
) -> None:
    fake_ai_provider.next(malformed=True)
    with pytest.raises(ProviderFailed) as caught:
        await collect(answer(cls(client, fake_ai_provider.url, timeout=2.0), route))
    assert caught.value.code == "ai_malformed_answer"


@pytest.mark.parametrize(("route", "cls"), ROUTES)
async def test_disconnect_mid_stream_is_a_502(
    fake_ai_provider: FakeAIProvider, client: httpx.AsyncClient, route: str, cls: type[OpenAICompatible]
) -> None:
    fake_ai_provider.next(disconnect_after=2)
    with pytest.raises(ProviderFailed) as caught:
        await collect(answer(cls(client, fake_ai_provider.url, timeout=2.0), route))
    assert caught.value.code == "ai_answer_cut_off"


@pytest.mark.parametrize(("route", "cls"), ROUTES)
async def test_silence_times_out_as_503(
    fake_ai_provider: FakeAIProvider, route: str, cls: type[OpenAICompatible]
) -> None:
    fake_ai_provider.next(hang=True)
    http = make_client(None, timeout=0.3)
    try:
        started = asyncio.get_running_loop().time()
        with pytest.raises(ProviderUnavailable) as caught:
            await collect(answer(cls(http, fake_ai_provider.url, timeout=0.3), route))
        assert asyncio.get_running_loop().time() - started < 3
    finally:
        await http.aclose()
    assert caught.value.status == 503 and caught.value.code == "ai_timeout"
    assert caught.value.headers["Retry-After"]


async def test_unreachable_server_is_a_503(client: httpx.AsyncClient) -> None:
    from tests.services import free_port

    provider = OpenAICompatible(client, f"http://127.0.0.1:{free_port()}", timeout=2.0)
    with pytest.raises(ProviderUnavailable) as caught:
        await collect(provider.chat([ChatMessage("user", "hi")], model="m", max_tokens=5))
    assert caught.value.code == "ai_unavailable"


async def test_refused_key_is_a_clear_502(fake_ai_provider: FakeAIProvider, client: httpx.AsyncClient) -> None:
    fake_ai_provider.api_key = "the-right-key-000000"
    with pytest.raises(ProviderFailed) as caught:
        await collect(OpenAICompatible(client, fake_ai_provider.url, timeout=2.0).complete(FIM))
    assert caught.value.code == "ai_auth_failed"
    assert "COLLABCODE_AI_API_KEY" in caught.value.message


@pytest.mark.parametrize(("route", "cls"), ROUTES)
async def test_cancelling_closes_the_upstream_connection(
    fake_ai_provider: FakeAIProvider, client: httpx.AsyncClient, route: str, cls: type[OpenAICompatible]
) -> None:
    fake_ai_provider.next(delay=0.5, chunks=["a", "b", "c", "d", "e", "f"])
    got: list[str] = []

    async def consume() -> None:
        async for chunk in answer(cls(client, fake_ai_provider.url, timeout=5.0), route):
            got.append(chunk.text)

    task = asyncio.create_task(consume())
    (request,) = await fake_ai_provider.wait_requests(1)
    while not any(got):
        await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await fake_ai_provider.wait_finished_async(request, 5)
    assert request.client_closed, "the provider kept streaming to nobody"


def test_provider_errors_are_scrubbed_before_logging() -> None:
    from collabcode.assistant.providers.base import scrub

    long_key = "x" * 150 + "-my-own-key"
    assert scrub("Incorrect API key provided: " + long_key, long_key) == "Incorrect API key provided: ***"
    assert scrub("bad key sk-proj-abcdefghijklmnop given") == "bad key *** given"
    assert scrub("model 'qwen2.5-coder:1.5b' not found") == "model 'qwen2.5-coder:1.5b' not found"
