// Package registry describes every kind the API server serves: its group, version and
// resource names, how a new object is defaulted and validated, which fields a field
// selector can match, and the columns `kubectl get` prints.
//
// The API server is generic: it stores, lists and watches any runtime.Object. What differs
// per kind lives here, one file per kind, collected by All in a fixed order (no init-time
// registration). A kind's hooks are pure functions of the objects they are given, so they
// are tested as tables:
//
//	k := registry.ByResource("", "pods")
//	pod := &corev1.Pod{...}
//	k.Default(pod)
//	if errs := k.Validate(pod); len(errs) > 0 { ... } // field paths at fault
package registry
