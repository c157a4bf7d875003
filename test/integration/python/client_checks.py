"""Drives the Strata test stack with the official openai Python SDK and prints one JSON object of
observations; test/integration/python-sdk.test.ts asserts on it. Reads STRATA_BASE_URL and
STRATA_API_KEY."""

import json
import os

import openai

client = openai.OpenAI(base_url=os.environ["STRATA_BASE_URL"], api_key=os.environ["STRATA_API_KEY"], max_retries=0)
out = {}

chat = client.chat.completions.create(model="claude-3-haiku", messages=[{"role": "user", "content": "hello from python"}])
out["chat"] = {
    "content": chat.choices[0].message.content,
    "finish_reason": chat.choices[0].finish_reason,
    "total_tokens": chat.usage.total_tokens,
}

text, usage, finish = [], None, []
for chunk in client.chat.completions.create(
    model="claude-3-haiku",
    messages=[{"role": "user", "content": "stream from python"}],
    stream=True,
    stream_options={"include_usage": True},
):
    if chunk.usage:
        usage = chunk.usage.completion_tokens
    for choice in chunk.choices:
        text.append(choice.delta.content or "")
        if choice.finish_reason:
            finish.append(choice.finish_reason)
out["stream"] = {"text": "".join(text), "finish": finish, "completion_tokens": usage}

tools = [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}]
called = client.chat.completions.create(
    model="claude-3-haiku", tools=tools, messages=[{"role": "user", "content": "[[emulator:tool=get_weather]] weather?"}]
)
call = called.choices[0].message.tool_calls[0]
answer = client.chat.completions.create(
    model="claude-3-haiku",
    tools=tools,
    messages=[
        {"role": "user", "content": "weather?"},
        called.choices[0].message.model_dump(exclude_none=True),
        {"role": "tool", "tool_call_id": call.id, "content": "rainy"},
    ],
)
out["tools"] = {"name": call.function.name, "arguments": json.loads(call.function.arguments), "answer": answer.choices[0].message.content}

# The Python SDK asks for base64 by default and decodes it with numpy or struct.
emb = client.embeddings.create(model="titan-embed-text-v2", input=["a", "b"], dimensions=256)
out["embeddings"] = {"count": len(emb.data), "length": len(emb.data[0].embedding), "first": emb.data[0].embedding[0]}
floats = client.embeddings.create(model="titan-embed-text-v2", input=["a", "b"], dimensions=256, encoding_format="float")
out["embeddings"]["float_first"] = floats.data[0].embedding[0]
# LangChain's OpenAIEmbeddings sends tiktoken ids (cl100k_base) instead of text by default.
tokens = client.embeddings.create(model="titan-embed-text-v2", input=[[15339, 1917]], dimensions=256)
text = client.embeddings.create(model="titan-embed-text-v2", input="hello world", dimensions=256)
out["embeddings"]["tokens_as_text"] = tokens.data[0].embedding == text.data[0].embedding


def error_of(call):
    try:
        call()
    except openai.APIStatusError as error:
        return {"class": type(error).__name__, "status": error.status_code, "code": error.code, "param": error.param,
                "request_id": error.request_id}
    return None


out["errors"] = {
    "bad_key": error_of(lambda: openai.OpenAI(base_url=os.environ["STRATA_BASE_URL"], api_key="sk-strata-nope", max_retries=0)
                        .chat.completions.create(model="claude-3-haiku", messages=[{"role": "user", "content": "x"}])),
    "unknown_model": error_of(lambda: client.chat.completions.create(model="gpt-17", messages=[{"role": "user", "content": "x"}])),
    "bad_param": error_of(lambda: client.chat.completions.create(model="claude-3-haiku", n=3, messages=[{"role": "user", "content": "x"}])),
    "throttled": error_of(lambda: client.chat.completions.create(model="claude-3-haiku", messages=[{"role": "user", "content": "[[emulator:throttle]]"}])),
}

try:
    for _ in client.chat.completions.create(
        model="claude-3-haiku", stream=True, messages=[{"role": "user", "content": "[[emulator:stream-error-after=2]] [[emulator:tokens=10]] x"}]
    ):
        pass
    out["mid_stream"] = None
except openai.APIError as error:
    out["mid_stream"] = {"class": type(error).__name__, "message": error.message}

print(json.dumps(out))
