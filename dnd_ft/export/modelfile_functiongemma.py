"""The Ollama TEMPLATE of the FunctionGemma format (`dnd_ft.chat.functiongemma`), in Go text/template.

It follows `FunctionGemmaFormat._render` piece by piece, with the fixed strings imported from
the format, and writes declarations, calls and values the way `dnd_ft.chat.fg_syntax` does.
Ollama's template functions (json, currentDate, yesterdayDate, toTypeScriptType, plus Go's
builtins) have no upper-case, trim, sort or JSON parsing, so:

- Types are spelt in capitals by name (``"string"`` -> ``STRING``, the seven JSON-schema names);
  other spellings are written as given, where training upper-cased anything.
- Keys come out in Go's order: ``range`` over a map visits keys sorted by bytes, where
  `fg_syntax.dictsort` sorts case-insensitively. The two agree unless lower-casing changes
  the order of two keys at one level (``Zeta`` before ``alpha`` in bytes); the test checks
  that no key in our tool registries does. Ollama hands the template call arguments and
  top-level properties as Go maps; nested properties are its ordered ``ToolPropertiesMap``,
  reached through its ``ToMap`` method, so every level is sorted the same way.
- A key is written bare when it is a plain identifier, tested with ``urlquery`` (unchanged
  means only ``[A-Za-z0-9_.~-]``) and the first character; a ``~`` passes where training
  would ``<escape>`` the key.
- Message text is written as sent (training stripped surrounding whitespace). ``<bos>`` is
  written as training wrote it; Ollama drops a leading ``<bos>`` text when the tokenizer adds
  one itself (``completionPrompt`` in its llm/llama_server.go).
- Tool results are strings in Ollama's messages and the template cannot parse JSON, where
  training wrote an object result as ``{key:value}``. Content that starts with ``{`` and then
  neither ``"`` nor white space is written as it is: that is what `tool_content` returns for
  a JSON result, so a client that sends ``tool_content(result)`` gets the training text.
  Anything else is written ``{value:<escape>...<escape>}``: training's form for plain text
  and the embedded Jinja template's for every string result (a JSON one sent unchanged).
- Union types at property level (``type: [string, null]``) and ``anyOf`` are not written as
  training wrote them (no tool of ours uses them).
"""

from __future__ import annotations

from dnd_ft.chat.fg_syntax import ESC
from dnd_ft.chat.functiongemma import (
    BOS,
    CALL_END,
    CALL_START,
    DECL_END,
    DECL_START,
    EOT,
    RESP_END,
    RESP_START,
    SOT,
    TRIGGER,
    format_response,
)

LB = '{{ "{" }}'  # a literal "{" right before an action would read as "{{{"
_MAP = "map[string]interface {}"  # printf "%T" of a JSON object decoded into `any`
_LIST = "[]interface {}"

# fg_syntax.format_value of a value Ollama decoded from JSON into `any` (string, float64,
# bool, nil, map, list); @@E@@ is "" (bare keys) or "_esc" (every key <escape>d).
_VALUE = (
    '{{ define "fg_value@@E@@" }}{{ $t := printf "%T" . }}'
    '{{ if eq $t "string" }}<escape>{{ . }}<escape>'
    '{{ else if eq $t "bool" }}{{ if . }}true{{ else }}false{{ end }}'
    '{{ else if eq $t "<nil>" }}null'
    f'{{{{ else if eq $t "{_MAP}" }}}}{{{{ template "fg_object@@E@@" . }}}}'
    f'{{{{ else if eq $t "{_LIST}" }}}}[{{{{ range $i, $v := . }}}}{{{{ if $i }}}},{{{{ end }}}}'
    '{{ template "fg_value@@E@@" $v }}{{ end }}]'
    "{{ else }}{{ json . }}{{ end }}{{ end }}"
    '{{ define "fg_object@@E@@" }}' + LB + '{{ $sep := "" }}{{ range $k, $v := . }}{{ $sep }}'
    '@@KEY@@:{{ template "fg_value@@E@@" $v }}{{ $sep = "," }}{{ end }}}{{ end }}'
)
_KEYS = {"": '{{ template "fg_key" $k }}', "_esc": "<escape>{{ $k }}<escape>"}

# fg_syntax._BARE_KEY ([A-Za-z_][A-Za-z0-9_.-]*) or else <escape>d
_KEY = (
    '{{ define "fg_key" }}{{ $bare := false }}{{ if . }}{{ if eq (urlquery .) . }}'
    '{{ $c := slice . 0 1 }}{{ if or (eq $c "_") (and (ge $c "A") (le $c "Z")) '
    '(and (ge $c "a") (le $c "z")) }}{{ $bare = true }}{{ end }}{{ end }}{{ end }}'
    "{{ if $bare }}{{ . }}{{ else }}<escape>{{ . }}<escape>{{ end }}{{ end }}"
)
_JSON_TYPES = ("string", "number", "integer", "boolean", "array", "object", "null")
_TYPE = (
    '{{ define "fg_type" }}'
    + "".join(
        f'{{{{ {"else " if i else ""}if eq . "{t}" }}}}{t.upper()}'
        for i, t in enumerate(_JSON_TYPES)
    )
    + "{{ else }}{{ . }}{{ end }}{{ end }}"
)
_STRINGS = (
    '{{ define "fg_strings" }}[{{ range $i, $s := . }}{{ if $i }},{{ end }}'
    "<escape>{{ $s }}<escape>{{ end }}]{{ end }}"
)
# fg_syntax.format_declaration of an Ollama tool (its ToolFunction, ToolFunctionParameters)
_DECLARATION = (
    '{{ define "fg_declaration" }}declaration:{{ .Function.Name }}{description:<escape>'
    "{{ .Function.Description }}<escape>{{ $p := .Function.Parameters }}"
    "{{ if or $p.Type $p.Properties $p.Required }},parameters:" + LB + '{{ $sep := "" }}'
    "{{ if $p.Properties }}properties:" + LB + '{{ template "fg_properties" $p.Properties }}}'
    '{{ $sep = "," }}{{ end }}'
    '{{ if $p.Required }}{{ $sep }}required:{{ template "fg_strings" $p.Required }}'
    '{{ $sep = "," }}{{ end }}'
    '{{ if $p.Type }}{{ $sep }}type:<escape>{{ template "fg_type" $p.Type }}<escape>{{ end }}'
    "}{{ end }}}{{ end }}"
)
# fg_syntax._format_properties of Ollama's properties (name -> ToolProperty, whose Type is a
# []string and nested Properties an ordered map, handed over sorted by its ToMap method)
_PROPERTIES = (
    '{{ define "fg_properties" }}{{ $sep := "" }}{{ range $k, $v := . }}{{ $sep }}'
    '{{ $sep = "," }}{{ $k }}:{description:<escape>{{ $v.Description }}<escape>'
    '{{ $t := "" }}{{ if eq (len $v.Type) 1 }}{{ $t = index $v.Type 0 }}{{ end }}'
    '{{ if and (eq $t "string") $v.Enum }},enum:{{ template "fg_value_esc" $v.Enum }}'
    '{{ else if eq $t "object" }},properties:'
    + LB
    + '{{ template "fg_properties" $v.Properties.ToMap }}}'
    '{{ if $v.Required }},required:{{ template "fg_strings" $v.Required }}{{ end }}'
    f'{{{{ else if and (eq $t "array") (eq (printf "%T" $v.Items) "{_MAP}") $v.Items }}}}'
    ",items:" + LB + '{{ template "fg_items" $v.Items }}}'
    '{{ end }},type:<escape>{{ template "fg_type" $t }}<escape>}{{ end }}{{ end }}'
)
# the same for schemas that stay plain JSON: those inside `items`, which Ollama types `any`
_SCHEMA_PROPERTIES = (
    '{{ define "fg_schema_properties" }}{{ $sep := "" }}{{ range $k, $v := . }}{{ $sep }}'
    '{{ $sep = "," }}{{ $k }}:{description:<escape>{{ if $v.description }}{{ $v.description }}'
    '{{ end }}<escape>{{ $t := "" }}{{ if eq (printf "%T" $v.type) "string" }}'
    "{{ $t = $v.type }}{{ end }}"
    '{{ if and (eq $t "string") $v.enum }},enum:{{ template "fg_value_esc" $v.enum }}'
    '{{ else if eq $t "object" }},properties:'
    + LB
    + '{{ template "fg_schema_properties" $v.properties }}}'
    '{{ if $v.required }},required:{{ template "fg_value" $v.required }}{{ end }}'
    f'{{{{ else if and (eq $t "array") (eq (printf "%T" $v.items) "{_MAP}") $v.items }}}}'
    ",items:" + LB + '{{ template "fg_items" $v.items }}}'
    '{{ end }},type:<escape>{{ template "fg_type" $t }}<escape>}{{ end }}{{ end }}'
)
# fg_syntax._format_items: every keyword of an array's item schema, null ones left out
_ITEMS = (
    '{{ define "fg_items" }}{{ $sep := "" }}{{ range $k, $v := . }}'
    '{{ if ne (printf "%T" $v) "<nil>" }}{{ $sep }}{{ $sep = "," }}{{ $k }}:'
    f'{{{{ if and (eq $k "properties") (eq (printf "%T" $v) "{_MAP}") }}}}'
    + LB
    + '{{ template "fg_schema_properties" $v }}}'
    '{{ else if eq $k "required" }}{{ template "fg_value" $v }}'
    '{{ else if eq $k "type" }}{{ if eq (printf "%T" $v) "string" }}'
    '<escape>{{ template "fg_type" $v }}<escape>{{ else }}[{{ range $i, $e := $v }}'
    '{{ if $i }},{{ end }}<escape>{{ template "fg_type" $e }}<escape>{{ end }}]{{ end }}'
    '{{ else }}{{ template "fg_value_esc" $v }}{{ end }}{{ end }}{{ end }}{{ end }}'
)
# a tool message's content after response:NAME (see the module docstring)
_RESULT = (
    '{{ define "fg_result" }}{{ $raw := false }}{{ if gt (len .) 1 }}'
    '{{ if eq (slice . 0 1) "{" }}{{ $c := slice . 1 2 }}'
    '{{ if not (or (eq $c "\\"") (eq $c " ") (eq $c "\\n") (eq $c "\\t") (eq $c "\\r")) }}'
    "{{ $raw = true }}{{ end }}{{ end }}{{ end }}"
    "{{ if $raw }}{{ . }}{{ else }}{value:<escape>{{ . }}<escape>}{{ end }}{{ end }}"
)
_DEFINES = "".join(
    [_VALUE.replace("@@E@@", e).replace("@@KEY@@", key) for e, key in _KEYS.items()]
    + [_KEY, _TYPE, _STRINGS, _DECLARATION, _PROPERTIES, _SCHEMA_PROPERTIES, _ITEMS, _RESULT]
)

# No `{{-` anywhere: it would also trim the newlines the format writes.
_BODY = (
    BOS + "{{ if or .System .Tools }}" + SOT + "developer\n{{ .System }}{{ if .Tools }}@@TRIGGER@@"
    "{{ range .Tools }}" + DECL_START + '{{ template "fg_declaration" . }}' + DECL_END + "{{ end }}"
    "{{ end }}" + EOT + "\n{{ end }}"
    '{{ $state := "" }}{{ range $i, $m := .Messages }}'
    '{{ if eq .Role "tool" }}' + RESP_START + "response:"
    "{{ if .ToolName }}{{ .ToolName }}{{ else }}tool{{ end }}"
    '{{ template "fg_result" .Content }}' + RESP_END + '{{ $state = "tool_response" }}'
    '{{ else if ne .Role "system" }}'
    '{{ if and $state (ne .Role "assistant") }}' + EOT + '\n{{ $state = "" }}{{ end }}'
    '{{ if eq .Role "assistant" }}'
    '{{ if ne $state "tool_response" }}' + SOT + "model\n{{ end }}{{ .Content }}"
    "{{ range .ToolCalls }}" + CALL_START + "call:{{ .Function.Name }}"
    '{{ template "fg_object" .Function.Arguments }}' + CALL_END + "{{ end }}"
    '{{ if .ToolCalls }}{{ $state = "tool_call" }}{{ $rest := slice $.Messages $i }}'
    '{{ if or (eq (len $rest) 1) (ne (index $rest 1).Role "tool") }}' + RESP_START + "{{ end }}"
    "{{ else }}" + EOT + '\n{{ $state = "" }}{{ end }}'
    "{{ else }}" + SOT + "{{ .Role }}\n{{ .Content }}" + EOT + "\n{{ end }}"
    "{{ end }}{{ end }}"
    "{{ if not $state }}" + SOT + "model\n{{ end }}"
)

_TEMPLATE = (_DEFINES + _BODY).replace("<escape>", ESC)  # the format's token


def functiongemma_template(*, trigger: bool = True) -> str:
    """The TEMPLATE; ``trigger`` as the format's option of that name."""
    line = "{{ if .System }}\n\n{{ end }}" + TRIGGER if trigger else ""
    return _TEMPLATE.replace("@@TRIGGER@@", line)


def tool_content(content: str) -> str:
    """What a client sends as a tool message's content to get the training text: the part
    the format writes after ``response:NAME`` (``{key:value}`` for a JSON object result)."""
    text = format_response("x", content)
    return text[len(RESP_START + "response:x") : -len(RESP_END)]
