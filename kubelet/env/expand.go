package env

import "strings"

// Expand expands the $(VAR) references in each of args against env
// ("NAME=value" strings), as the kubelet expands a container's command and
// args: $$ is a literal $, a reference to an undefined variable is left as
// written, and there is no recursion.
func Expand(args []string, env []string) []string {
	if args == nil {
		return nil
	}
	vars := make(map[string]string, len(env))
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		vars[k] = v
	}
	out := make([]string, len(args))
	for i, a := range args {
		out[i] = expand(a, lookupIn(vars))
	}
	return out
}

// lookupIn returns a mapping that looks a name up in each map in turn and
// leaves an unknown reference as written, like k8s' MappingFuncFor.
func lookupIn(maps ...map[string]string) func(string) string {
	return func(name string) string {
		for _, m := range maps {
			if v, ok := m[name]; ok {
				return v
			}
		}
		return "$(" + name + ")"
	}
}

// expand is the Kubernetes expansion of input (third_party/forked/golang/
// expansion): $(NAME) is replaced by mapping(NAME), $$ becomes $, and any
// other $ is kept with the character after it.
func expand(input string, mapping func(string) string) string {
	var b strings.Builder
	checkpoint := 0
	for cursor := 0; cursor < len(input); cursor++ {
		if input[cursor] != '$' || cursor+1 >= len(input) {
			continue
		}
		b.WriteString(input[checkpoint:cursor])
		read, isVar, advance := readVariableName(input[cursor+1:])
		if isVar {
			b.WriteString(mapping(read))
		} else {
			b.WriteString(read)
		}
		cursor += advance
		checkpoint = cursor + 1
	}
	return b.String() + input[checkpoint:]
}

// readVariableName reads what follows a $: the name of a $(NAME)
// reference, or the literal text to write, and how many bytes it used.
func readVariableName(input string) (string, bool, int) {
	switch input[0] {
	case '$':
		return "$", false, 1
	case '(':
		for i := 1; i < len(input); i++ {
			if input[i] == ')' {
				return input[1:i], true, i + 1
			}
		}
		return "$(", false, 1
	default:
		return "$" + input[:1], false, 1
	}
}
