// Renders an Ollama TEMPLATE with Go's text/template, as Ollama does, for the Modelfile test.
// stdin: {"template": "...", "data": {"System": ..., "Tools": [...], "Messages": [...]}}.
// `json` is Ollama's template function of that name: encoding/json's Marshal.
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"text/template"
)

func main() {
	var input struct {
		Template string         `json:"template"`
		Data     map[string]any `json:"data"`
	}
	if err := json.NewDecoder(os.Stdin).Decode(&input); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	funcs := template.FuncMap{"json": func(v any) string {
		b, _ := json.Marshal(v)
		return string(b)
	}}
	tmpl, err := template.New("modelfile").Funcs(funcs).Parse(input.Template)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(3)
	}
	if err := tmpl.Execute(os.Stdout, input.Data); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(4)
	}
}
