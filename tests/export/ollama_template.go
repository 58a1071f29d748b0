// Renders an Ollama TEMPLATE the way Ollama's /api/chat does, for tests/export/test_modelfile.py.
//
// stdin: {"template": "...", "request": {"messages": [...], "tools": [...]}}, the request being
// the body a client sends to /api/chat. It is decoded into types that carry the field names and
// JSON tags of Ollama's api package (Message, ToolCall, ToolCallFunction, Tool, ToolFunction,
// ToolFunctionParameters, ToolProperty; checked against Ollama v0.33.0-rc2), so a JSON-schema
// keyword without a field is dropped as Ollama drops it. Call arguments and properties keep
// their JSON order, as Ollama's ordered maps do; numbers in `any` become float64.
//
// Then, as Ollama's template package does before executing: system messages are joined into
// .System (and stay in .Messages), consecutive messages of one role other than tool are merged,
// tools and messages are handed over in template form (call arguments and top-level properties
// as Go maps, so `range` visits them in sorted key order; nested properties stay ordered maps
// with a ToMap method), missingkey=zero, and the functions json, currentDate, yesterdayDate and
// toTypeScriptType. Not mirrored: truncation to the context window, images, the legacy
// .Prompt/.Response path (templates without .Messages are refused).
package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"text/template"
	"time"
)

// orderedMap keeps JSON object keys in their order, like Ollama's internal/orderedmap.
type orderedMap[V any] struct {
	keys   []string
	values map[string]V
}

func (m *orderedMap[V]) UnmarshalJSON(data []byte) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return fmt.Errorf("expected a JSON object, got %s", data)
	}
	m.keys, m.values = nil, map[string]V{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		key := tok.(string)
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return err
		}
		var value V
		if err := json.Unmarshal(raw, &value); err != nil {
			return err
		}
		if _, seen := m.values[key]; !seen {
			m.keys = append(m.keys, key)
		}
		m.values[key] = value
	}
	_, err := dec.Token()
	return err
}

func (m *orderedMap[V]) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, key := range m.keys {
		k, _ := json.Marshal(key)
		v, err := json.Marshal(m.values[key])
		if err != nil {
			return nil, err
		}
		if i > 0 {
			b.WriteByte(',')
		}
		b.Write(k)
		b.WriteByte(':')
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

func (m *orderedMap[V]) toMap() map[string]V {
	if m == nil {
		return nil
	}
	out := make(map[string]V, len(m.keys))
	for _, key := range m.keys {
		out[key] = m.values[key]
	}
	return out
}

// --- api types: Ollama's field names and JSON tags --------------------------------------

type ImageData []byte

type Message struct {
	Role       string      `json:"role"`
	Content    string      `json:"content"`
	Thinking   string      `json:"thinking,omitempty"`
	Images     []ImageData `json:"images,omitempty"`
	ToolCalls  []ToolCall  `json:"tool_calls,omitempty"`
	ToolName   string      `json:"tool_name,omitempty"`
	ToolCallID string      `json:"tool_call_id,omitempty"`
}

func (m *Message) UnmarshalJSON(data []byte) error {
	type plain Message
	var p plain
	if err := json.Unmarshal(data, &p); err != nil {
		return err
	}
	*m = Message(p)
	m.Role = strings.ToLower(m.Role) // as Ollama does
	return nil
}

type ToolCall struct {
	ID       string           `json:"id,omitempty"`
	Function ToolCallFunction `json:"function"`
}

type ToolCallFunction struct {
	Index     int                       `json:"index"`
	Name      string                    `json:"name"`
	Arguments ToolCallFunctionArguments `json:"arguments"`
}

type ToolCallFunctionArguments struct{ om *orderedMap[any] }

func (a *ToolCallFunctionArguments) UnmarshalJSON(data []byte) error {
	a.om = &orderedMap[any]{}
	return a.om.UnmarshalJSON(data)
}

func (a ToolCallFunctionArguments) MarshalJSON() ([]byte, error) {
	if a.om == nil {
		return []byte("{}"), nil
	}
	return a.om.MarshalJSON()
}

func (a *ToolCallFunctionArguments) ToMap() map[string]any { return a.om.toMap() }

type Tool struct {
	Type     string       `json:"type"`
	Items    any          `json:"items,omitempty"`
	Function ToolFunction `json:"function"`
}

type ToolFunction struct {
	Name        string                 `json:"name"`
	Description string                 `json:"description,omitempty"`
	Parameters  ToolFunctionParameters `json:"parameters"`
}

type ToolFunctionParameters struct {
	Type       string             `json:"type"`
	Defs       any                `json:"$defs,omitempty"`
	Items      any                `json:"items,omitempty"`
	Required   []string           `json:"required,omitempty"`
	Properties *ToolPropertiesMap `json:"properties"`
}

type ToolProperty struct {
	AnyOf       []ToolProperty     `json:"anyOf,omitempty"`
	Type        PropertyType       `json:"type,omitempty"`
	Items       any                `json:"items,omitempty"`
	Description string             `json:"description,omitempty"`
	Enum        []any              `json:"enum,omitempty"`
	Properties  *ToolPropertiesMap `json:"properties,omitempty"`
	Required    []string           `json:"required,omitempty"`
}

// PropertyType is a JSON-schema type, written as a string or a list of strings.
type PropertyType []string

func (t *PropertyType) UnmarshalJSON(data []byte) error {
	var one string
	if json.Unmarshal(data, &one) == nil {
		*t = PropertyType{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(data, &many); err != nil {
		return err
	}
	*t = many
	return nil
}

func (t PropertyType) MarshalJSON() ([]byte, error) {
	if len(t) == 1 {
		return json.Marshal(t[0])
	}
	return json.Marshal([]string(t))
}

func (t PropertyType) String() string {
	if len(t) == 1 {
		return t[0]
	}
	if len(t) == 0 {
		return ""
	}
	return fmt.Sprint([]string(t))
}

type ToolPropertiesMap struct{ om *orderedMap[ToolProperty] }

func (p *ToolPropertiesMap) UnmarshalJSON(data []byte) error {
	p.om = &orderedMap[ToolProperty]{}
	return p.om.UnmarshalJSON(data)
}

func (p ToolPropertiesMap) MarshalJSON() ([]byte, error) {
	if p.om == nil {
		return []byte("null"), nil
	}
	return p.om.MarshalJSON()
}

func (p *ToolPropertiesMap) ToMap() map[string]ToolProperty {
	if p == nil {
		return nil
	}
	return p.om.toMap()
}

func (p *ToolPropertiesMap) Len() int {
	if p == nil || p.om == nil {
		return 0
	}
	return len(p.om.keys)
}

// --- the template's view: Ollama's template-side types (field names matter) -------------

type templateArgs map[string]any

func (a templateArgs) String() string { return marshal(a, "{}") }

type templateProperties map[string]ToolProperty

func (p templateProperties) String() string { return marshal(p, "{}") }

type templateTool struct {
	Type     string               `json:"type"`
	Items    any                  `json:"items,omitempty"`
	Function templateToolFunction `json:"function"`
}

func (t templateTool) String() string { return marshal(t, "") }

type templateToolFunction struct {
	Name        string                         `json:"name"`
	Description string                         `json:"description"`
	Parameters  templateToolFunctionParameters `json:"parameters"`
}

type templateToolFunctionParameters struct {
	Type       string             `json:"type"`
	Defs       any                `json:"$defs,omitempty"`
	Items      any                `json:"items,omitempty"`
	Required   []string           `json:"required,omitempty"`
	Properties templateProperties `json:"properties"`
}

type templateToolCall struct {
	ID       string
	Function templateToolCallFunction
}

type templateToolCallFunction struct {
	Index     int
	Name      string
	Arguments templateArgs
}

type templateMessage struct {
	Role       string
	Content    string
	Thinking   string
	Images     []ImageData
	ToolCalls  []templateToolCall
	ToolName   string
	ToolCallID string
}

func marshal(v any, empty string) string {
	if b, err := json.Marshal(v); err == nil && string(b) != "null" {
		return string(b)
	}
	return empty
}

func templateTools(tools []Tool) []templateTool {
	if tools == nil {
		return nil
	}
	out := make([]templateTool, len(tools))
	for i, t := range tools {
		p := t.Function.Parameters
		out[i] = templateTool{Type: t.Type, Items: t.Items, Function: templateToolFunction{
			Name: t.Function.Name, Description: t.Function.Description,
			Parameters: templateToolFunctionParameters{
				Type: p.Type, Defs: p.Defs, Items: p.Items, Required: p.Required,
				Properties: templateProperties(p.Properties.ToMap()),
			},
		}}
	}
	return out
}

// collate: the system prompt and the messages as Ollama's template package hands them over.
func collate(messages []Message) (string, []*templateMessage) {
	var system []string
	var out []*templateMessage
	for i := range messages {
		m := &messages[i]
		if m.Role == "system" {
			system = append(system, m.Content)
		}
		if n := len(out); n > 0 && out[n-1].Role == m.Role && m.Role != "tool" {
			out[n-1].Content += "\n\n" + m.Content
			continue
		}
		var calls []templateToolCall
		for _, c := range m.ToolCalls {
			calls = append(calls, templateToolCall{ID: c.ID, Function: templateToolCallFunction{
				Index: c.Function.Index, Name: c.Function.Name,
				Arguments: templateArgs(c.Function.Arguments.ToMap()),
			}})
		}
		out = append(out, &templateMessage{
			Role: m.Role, Content: m.Content, Thinking: m.Thinking, Images: m.Images,
			ToolCalls: calls, ToolName: m.ToolName, ToolCallID: m.ToolCallID,
		})
	}
	return strings.Join(system, "\n\n"), out
}

func typeScriptType(v any) string {
	p, ok := v.(ToolProperty)
	if pp, isPtr := v.(*ToolProperty); isPtr && pp != nil {
		p, ok = *pp, true
	}
	if !ok || len(p.Type) == 0 {
		return "any"
	}
	names := map[string]string{"string": "string", "number": "number", "integer": "number",
		"boolean": "boolean", "array": "any[]", "object": "Record<string, any>", "null": "null"}
	var out []string
	for _, t := range p.Type {
		if name, known := names[t]; known {
			out = append(out, name)
		} else {
			out = append(out, "any")
		}
	}
	return strings.Join(out, " | ")
}

var funcs = template.FuncMap{
	"json": func(v any) string {
		b, _ := json.Marshal(v)
		return string(b)
	},
	"currentDate": func(...string) string { return time.Now().Format("2006-01-02") },
	"yesterdayDate": func(...string) string {
		return time.Now().AddDate(0, 0, -1).Format("2006-01-02")
	},
	"toTypeScriptType": typeScriptType,
}

func fail(code int, err any) {
	fmt.Fprintln(os.Stderr, err)
	os.Exit(code)
}

func main() {
	var input struct {
		Template string `json:"template"`
		Request  struct {
			Messages []Message `json:"messages"`
			Tools    []Tool    `json:"tools"`
		} `json:"request"`
	}
	if err := json.NewDecoder(os.Stdin).Decode(&input); err != nil {
		fail(2, err)
	}
	if !strings.Contains(input.Template, ".Messages") {
		fail(2, "the template does not use .Messages: Ollama would take its legacy "+
			".Prompt/.Response path, which this renderer does not mirror")
	}
	tmpl, err := template.New("").Option("missingkey=zero").Funcs(funcs).Parse(input.Template)
	if err != nil {
		fail(3, err)
	}
	system, messages := collate(input.Request.Messages)
	data := map[string]any{
		"System":     system,
		"Messages":   messages,
		"Tools":      templateTools(input.Request.Tools),
		"Response":   "",
		"Think":      false,
		"ThinkLevel": "",
		"IsThinkSet": false,
	}
	if err := tmpl.Execute(os.Stdout, data); err != nil {
		fail(4, err)
	}
}
