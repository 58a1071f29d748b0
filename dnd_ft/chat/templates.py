"""Jinja chat templates written into the model folders this package builds.

``dnd_ft.chat.formats`` is the source of truth for how conversations are rendered for
training; these templates reproduce its default options (speaker names on, the FunctionGemma
trigger line on, the empty Qwen3 think block for Qwen3 models) for the places that only know
``tokenizer.apply_chat_template``: TRL's generic path, quick manual generation, and exporters
that copy the template into GGUF metadata. The fixed strings (tool preambles, trigger line,
think block) are imported from the formats, and a test renders the same conversations both
ways and compares the text.

Where Jinja cannot follow (it cannot parse JSON or test a regex), the template differs:

- FunctionGemma tool results given as a JSON *string* are written as
  ``response:NAME{value:<escape>...<escape>}``; the renderer decodes the JSON and writes
  ``response:NAME{key:value}``. Pass the result as a dict to get the renderer's form.
- Tool-call arguments given as a JSON string are written verbatim (hermes) or after
  ``call:NAME`` unchanged (gemma formats), where the renderer re-serialises them.
- Object keys that are not plain identifiers are written bare, never ``<escape>``-quoted.

``chat_template(fmt, training=True)`` wraps what the assistant writes (the loss spans of the
renderers) in ``{% generation %}`` markers, which TRL's ``assistant_only_loss`` needs.
"""

from __future__ import annotations

import json

from dnd_ft.chat.errors import ChatFormatError
from dnd_ft.chat.functiongemma import TRIGGER
from dnd_ft.chat.gemma3 import TOOLS_PREAMBLE
from dnd_ft.chat.hermes import THINK_EMPTY, TOOLS_FOOTER, TOOLS_HEADER

_GEN, _ENDGEN = "@@GEN@@", "@@ENDGEN@@"

# Shared: the text of a user turn, "Name: text" when the player's name is known.
_USER_TEXT = r"""
{%- macro user_text(message) -%}
  {%- if message.role == 'user' and message.name -%}{{- message.name + ': ' -}}{%- endif -%}
  {{- message.content or '' -}}
{%- endmacro -%}
"""

# Shared: the leading system message's text (or none) and the messages after it.
_SPLIT_SYSTEM = r"""
{%- if messages and messages[0].role == 'system' -%}
  {%- set system = messages[0].content -%}{%- set loop_messages = messages[1:] -%}
{%- else -%}
  {%- set system = none -%}{%- set loop_messages = messages -%}
{%- endif -%}
"""

_HERMES = (
    _USER_TEXT
    + r"""
{%- set think = @@THINK@@ -%}
{%- set header = '<|im_start|>assistant\n' + @@THINK_EMPTY@@ -%}
"""
    + _SPLIT_SYSTEM
    + r"""
{%- if tools -%}
  {{- '<|im_start|>system\n' -}}
  {%- if system is not none -%}{{- system + '\n\n' -}}{%- endif -%}
  {{- @@TOOLS_HEADER@@ -}}
  {%- for tool in tools -%}{{- '\n' + (tool | tojson) -}}{%- endfor -%}
  {{- @@TOOLS_FOOTER@@ + '<|im_end|>\n' -}}
{%- elif system is not none -%}
  {{- '<|im_start|>system\n' + system + '<|im_end|>\n' -}}
{%- endif -%}
{%- for message in loop_messages -%}
  {%- if message.role == 'tool' -%}
    {%- if loop.first or loop_messages[loop.index0 - 1].role != 'tool' -%}{{- '<|im_start|>user' -}}{%- endif -%}
    {{- '\n<tool_response>\n' + (message.content or '') + '\n</tool_response>' -}}
    {%- if loop.last or loop_messages[loop.index0 + 1].role != 'tool' -%}{{- '<|im_end|>\n' -}}{%- endif -%}
  {%- elif message.role == 'assistant' -%}
    {{- header -}}
    {%- set content = message.content or '' -%}
    {%- if think -%}{%- set content = content.lstrip('\n') -%}{%- endif -%}
    @@GEN@@
    {{- content -}}
    {%- for call in (message.tool_calls or []) -%}
      {%- set fn = call.function if call.function is defined else call -%}
      {%- if content or not loop.first -%}{{- '\n' -}}{%- endif -%}
      {{- '<tool_call>\n{"name": "' + fn.name + '", "arguments": ' -}}
      {%- if fn.arguments is string -%}{{- fn.arguments -}}{%- else -%}{{- (fn.arguments or {}) | tojson -}}{%- endif -%}
      {{- '}\n</tool_call>' -}}
    {%- endfor -%}
    {{- '<|im_end|>' -}}
    @@ENDGEN@@
    {{- '\n' -}}
  {%- else -%}
    {{- '<|im_start|>' + message.role + '\n' + user_text(message) + '<|im_end|>\n' -}}
  {%- endif -%}
{%- endfor -%}
{%- if add_generation_prompt -%}{{- header -}}{%- endif -%}
"""
)

# FunctionGemma object syntax (dnd_ft.chat.fg_syntax): strings between <escape>,
# objects {k:v} with keys in dictsort order, lists [a,b], bare numbers/true/false/null.
_FG_MACROS = r"""
{%- macro fg(v) -%}
  {%- if v is none -%}{{- 'null' -}}
  {%- elif v is boolean -%}{{- 'true' if v else 'false' -}}
  {%- elif v is string -%}{{- '<escape>' + v + '<escape>' -}}
  {%- elif v is number -%}{{- v | tojson -}}
  {%- elif v is mapping -%}
    {{- '{' -}}{%- for key, item in v | dictsort -%}{{- key + ':' + fg(item) -}}{%- if not loop.last -%},{%- endif -%}{%- endfor -%}{{- '}' -}}
  {%- else -%}
    {{- '[' -}}{%- for item in v -%}{{- fg(item) -}}{%- if not loop.last -%},{%- endif -%}{%- endfor -%}{{- ']' -}}
  {%- endif -%}
{%- endmacro -%}
{%- macro fg_props(props) -%}
  {%- for key, schema in props | dictsort -%}
    {%- set kind = (schema.type or '') | string | upper -%}
    {{- key + ':{description:<escape>' + (schema.description or '') + '<escape>' -}}
    {%- if kind == 'STRING' and schema.enum -%}{{- ',enum:' + fg(schema.enum | list) -}}
    {%- elif kind == 'OBJECT' -%}
      {{- ',properties:{' + fg_props(schema.properties or {}) + '}' -}}
      {%- if schema.required -%}{{- ',required:' + fg(schema.required | list) -}}{%- endif -%}
    {%- elif kind == 'ARRAY' and schema['items'] is mapping and schema['items'] -%}
      {{- ',items:{' -}}
      {%- set ns = namespace(sep='') -%}
      {%- for ikey, ivalue in schema['items'] | dictsort -%}
        {%- if ivalue is not none -%}
          {{- ns.sep + ikey + ':' -}}{%- set ns.sep = ',' -%}
          {%- if ikey == 'properties' and ivalue is mapping -%}{{- '{' + fg_props(ivalue) + '}' -}}
          {%- elif ikey == 'type' and ivalue is string -%}{{- fg(ivalue | upper) -}}
          {%- elif ikey == 'type' -%}{{- fg(ivalue | map('upper') | list) -}}
          {%- else -%}{{- fg(ivalue) -}}{%- endif -%}
        {%- endif -%}
      {%- endfor -%}
      {{- '}' -}}
    {%- endif -%}
    {{- ',type:<escape>' + kind + '<escape>}' -}}{%- if not loop.last -%},{%- endif -%}
  {%- endfor -%}
{%- endmacro -%}
{%- macro fg_declaration(tool) -%}
  {%- set fn = tool.function if tool.function is defined else tool -%}
  {%- set p = fn.parameters -%}
  {{- 'declaration:' + fn.name + '{description:<escape>' + (fn.description or '') + '<escape>' -}}
  {%- if p -%}
    {%- set ns = namespace(sep='') -%}
    {{- ',parameters:{' -}}
    {%- if p.properties -%}{{- 'properties:{' + fg_props(p.properties) + '}' -}}{%- set ns.sep = ',' -%}{%- endif -%}
    {%- if p.required -%}{{- ns.sep + 'required:' + fg(p.required | list) -}}{%- set ns.sep = ',' -%}{%- endif -%}
    {%- if p.type -%}{{- ns.sep + 'type:<escape>' + (p.type | string | upper) + '<escape>' -}}{%- endif -%}
    {{- '}' -}}
  {%- endif -%}
  {{- '}' -}}
{%- endmacro -%}
"""

_FUNCTIONGEMMA = (
    _USER_TEXT
    + _FG_MACROS
    + r"""
{{- bos_token -}}
"""
    + _SPLIT_SYSTEM
    + r"""
{%- if tools or system is not none -%}
  {%- set developer = (system or '') | trim -%}
  {%- if tools -%}{%- set developer = (developer + '\n\n' + @@TRIGGER@@) if developer else @@TRIGGER@@ -%}{%- endif -%}
  {{- '<start_of_turn>developer\n' + developer -}}
  {%- for tool in (tools or []) -%}{{- '<start_function_declaration>' + fg_declaration(tool) + '<end_function_declaration>' -}}{%- endfor -%}
  {{- '<end_of_turn>\n' -}}
{%- endif -%}
{%- set ns = namespace(state=none) -%}
{%- for message in loop_messages -%}
  {%- set next = loop_messages[loop.index0 + 1].role if not loop.last else none -%}
  {%- if message.role == 'tool' -%}
    {%- if ns.state == 'tool_call' -%}@@GEN@@{{- '<start_function_response>' -}}@@ENDGEN@@
    {%- else -%}{{- '<start_function_response>' -}}{%- endif -%}
    {{- 'response:' + (message.name or 'tool') -}}
    {%- if message.content is mapping -%}{{- fg(message.content) -}}
    {%- else -%}{{- '{value:<escape>' + (message.content or '') + '<escape>}' -}}{%- endif -%}
    {{- '<end_function_response>' -}}
    {%- set ns.state = 'tool_response' -%}
  {%- else -%}
    {%- if ns.state is not none and message.role != 'assistant' -%}
      {{- '<end_of_turn>\n' -}}{%- set ns.state = none -%}
    {%- endif -%}
    {%- if message.role == 'assistant' -%}
      {%- if ns.state != 'tool_response' -%}{{- '<start_of_turn>model\n' -}}{%- endif -%}
      @@GEN@@
      {{- (message.content or '') | trim -}}
      {%- for call in (message.tool_calls or []) -%}
        {%- set fn = call.function if call.function is defined else call -%}
        {{- '<start_function_call>call:' + fn.name -}}
        {%- if fn.arguments is string -%}{{- fn.arguments -}}{%- else -%}{{- fg(fn.arguments or {}) -}}{%- endif -%}
        {{- '<end_function_call>' -}}
      {%- endfor -%}
      {%- if message.tool_calls -%}
        {%- if next != 'tool' -%}{{- '<start_function_response>' -}}{%- endif -%}
      {%- else -%}
        {{- '<end_of_turn>' -}}
      {%- endif -%}
      @@ENDGEN@@
      {%- if message.tool_calls -%}{%- set ns.state = 'tool_call' -%}
      {%- else -%}{{- '\n' -}}{%- set ns.state = none -%}{%- endif -%}
    {%- else -%}
      {%- set role = 'developer' if message.role == 'system' else message.role -%}
      {{- '<start_of_turn>' + role + '\n' + (user_text(message) | trim) + '<end_of_turn>\n' -}}
    {%- endif -%}
  {%- endif -%}
{%- endfor -%}
{%- if add_generation_prompt -%}
  {%- set last = loop_messages[-1] if loop_messages else none -%}
  {%- if last is none or not (last.role == 'tool' or (last.role == 'assistant' and last.tool_calls)) -%}
    {{- '<start_of_turn>model\n' -}}
  {%- endif -%}
{%- endif -%}
"""
)

# Plain Gemma 3: system prompt and tool list open the first user turn; calls are Python
# calls in a ```tool_code block, results come back in ```tool_output blocks.
_GEMMA3 = (
    _USER_TEXT
    + r"""
{%- macro py(v) -%}
  {%- if v is none -%}{{- 'None' -}}
  {%- elif v is boolean -%}{{- 'True' if v else 'False' -}}
  {%- elif v is string or v is number -%}{{- v | tojson -}}
  {%- elif v is mapping -%}
    {{- '{' -}}{%- for key, item in v.items() -%}{{- (key | string | tojson) + ': ' + py(item) -}}{%- if not loop.last -%}{{- ', ' -}}{%- endif -%}{%- endfor -%}{{- '}' -}}
  {%- else -%}
    {{- '[' -}}{%- for item in v -%}{{- py(item) -}}{%- if not loop.last -%}{{- ', ' -}}{%- endif -%}{%- endfor -%}{{- ']' -}}
  {%- endif -%}
{%- endmacro -%}
{{- bos_token -}}
"""
    + _SPLIT_SYSTEM
    + r"""
{%- set tools_text = namespace(value='') -%}
{%- if tools -%}
  {%- for tool in tools -%}
    {%- set tools_text.value = tools_text.value + ('\n' if not loop.first else '') + (tool | tojson) -%}
  {%- endfor -%}
  {%- set tools_text.value = @@PREAMBLE_PRE@@ + tools_text.value + @@PREAMBLE_POST@@ -%}
{%- endif -%}
{%- set ns = namespace(prefix='') -%}
{%- if system and tools_text.value -%}{%- set ns.prefix = system + '\n\n' + tools_text.value -%}
{%- else -%}{%- set ns.prefix = system or tools_text.value -%}{%- endif -%}
{%- if ns.prefix and (not loop_messages or loop_messages[0].role != 'user') -%}
  {{- '<start_of_turn>user\n' + (ns.prefix | trim) + '<end_of_turn>\n' -}}{%- set ns.prefix = '' -%}
{%- endif -%}
{%- for message in loop_messages -%}
  {%- if message.role == 'assistant' -%}
    {{- '<start_of_turn>model\n' -}}
    @@GEN@@
    {%- set content = (message.content or '') | trim -%}
    {{- content -}}
    {%- if message.tool_calls -%}
      {{- ('\n\n' if content else '') + '```tool_code\n' -}}
      {%- for call in message.tool_calls -%}
        {%- set fn = call.function if call.function is defined else call -%}
        {{- fn.name + '(' -}}
        {%- if fn.arguments is string -%}{{- fn.arguments -}}
        {%- else -%}
          {%- for key, value in (fn.arguments or {}).items() -%}{{- key + '=' + py(value) -}}{%- if not loop.last -%}{{- ', ' -}}{%- endif -%}{%- endfor -%}
        {%- endif -%}
        {{- ')' + ('\n' if not loop.last else '') -}}
      {%- endfor -%}
      {{- '\n```' -}}
    {%- endif -%}
    {{- '<end_of_turn>' -}}
    @@ENDGEN@@
    {{- '\n' -}}
  {%- elif message.role == 'tool' -%}
    {%- if loop.first or loop_messages[loop.index0 - 1].role != 'tool' -%}{{- '<start_of_turn>user\n' -}}{%- endif -%}
    {{- '```tool_output\n' + ((message.content or '') | trim) + '\n```' -}}
    {%- if not loop.last and loop_messages[loop.index0 + 1].role == 'tool' -%}{{- '\n' -}}{%- else -%}{{- '<end_of_turn>\n' -}}{%- endif -%}
  {%- else -%}
    {%- set text = user_text(message) | trim -%}
    {%- if ns.prefix -%}{%- set text = (ns.prefix | trim) + '\n\n' + text -%}{%- set ns.prefix = '' -%}{%- endif -%}
    {{- '<start_of_turn>user\n' + text + '<end_of_turn>\n' -}}
  {%- endif -%}
{%- endfor -%}
{%- if add_generation_prompt -%}{{- '<start_of_turn>model\n' -}}{%- endif -%}
"""
)

_PRE, _POST = TOOLS_PREAMBLE.split("{tools}")
_CONSTANTS = {
    "@@TOOLS_HEADER@@": TOOLS_HEADER,
    "@@TOOLS_FOOTER@@": TOOLS_FOOTER,
    "@@TRIGGER@@": TRIGGER,
    "@@PREAMBLE_PRE@@": _PRE,
    "@@PREAMBLE_POST@@": _POST,
}
_TEMPLATES = {"hermes": _HERMES, "functiongemma": _FUNCTIONGEMMA, "gemma3": _GEMMA3}


def chat_template(chat_format: str, *, training: bool = False, think: bool = False) -> str:
    """The Jinja chat template of ``chat_format``.

    ``training`` adds ``{% generation %}`` markers around the assistant's output; ``think``
    (hermes only) writes Qwen3's empty ``<think>`` block into every assistant header.
    """
    try:
        template = _TEMPLATES[chat_format]
    except KeyError:
        raise ChatFormatError(
            f"no built-in chat template for chat_format={chat_format!r}; built-in ones: "
            f"{', '.join(_TEMPLATES)}. With chat_format=template the model's own template is used."
        ) from None
    start, end = ("{%- generation -%}", "{%- endgeneration -%}") if training else ("", "")
    template = template.replace(_GEN, start).replace(_ENDGEN, end)
    # Only the think variant may mention <think>: the data stage detects it in templates.
    template = template.replace("@@THINK@@", "true" if think else "false")
    template = template.replace("@@THINK_EMPTY@@", json.dumps(THINK_EMPTY) if think else "''")
    for placeholder, text in _CONSTANTS.items():
        template = template.replace(placeholder, json.dumps(text))  # a valid Jinja literal
    # Indentation only helps reading: every tag is whitespace-controlled, drop it.
    return "".join(line.strip() for line in template.strip().splitlines() if line.strip())


def wants_think(model_cfg) -> bool:
    """Qwen3 models (by name or hub id) get the empty think block, as the data stage decides."""
    names = f"{getattr(model_cfg, 'name', '') or ''} {getattr(model_cfg, 'hub_id', '') or ''}"
    return "qwen3" in names.lower()


def template_messages(messages: list[dict], chat_format: str) -> list[dict]:
    """``messages`` as the templates want them (a copy): call arguments as dicts and, for the
    FunctionGemma template, object tool results as dicts (Jinja cannot parse JSON; see the
    module docstring). Rendered with the template they give the renderer's text."""
    import copy

    out = copy.deepcopy(list(messages))
    for m in out:
        for call in m.get("tool_calls") or []:
            fn = call.get("function", call)
            if isinstance(fn.get("arguments"), str):
                fn["arguments"] = json.loads(fn["arguments"])
        if chat_format == "functiongemma" and m.get("role") == "tool":
            m["content"] = _object_or_text(m.get("content"))
    return out


def _object_or_text(content):
    try:
        value = json.loads(content)
    except (TypeError, json.JSONDecodeError):
        return content
    return value if isinstance(value, dict) else content
