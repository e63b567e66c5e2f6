// Package registry describes every kind the API server serves: its group, version and
// resource names, how a new object is defaulted and validated, which fields a field
// selector can match, and the columns `kubectl get` prints.
//
// The API server is generic: it stores, lists and watches any runtime.Object. What differs
// per kind lives here, one file per kind, collected by All in a fixed order (no init-time
// registration). The hooks follow Kubernetes' own defaulting, validation and printing
// (kube-apiserver's defaults.go, validation.go and printers.go), written against the
// k8s.io/api types. They are pure functions of the objects they are given, never panic
// on odd input, and are tested as tables.
//
// The caller's duties on create: fill metadata (a generated name, uid, creation time),
// then call PrepareForCreate, Default and ValidateCreate, and allocate what the server
// owns (cluster IPs, node ports) afterwards. On update: keep status and what the server
// allocated, call Default, then ValidateUpdateOf with the stored object. Default is
// idempotent, so running it on every write is safe. Validation expects a defaulted
// object, as Kubernetes' does: an empty restartPolicy, say, is reported as missing.
//
//	k := registry.ByResource("", "pods")
//	pod := &corev1.Pod{...}
//	k.PrepareForCreate(pod) // status: Pending, with the pod's QoS class
//	k.Default(pod)
//	if errs := k.ValidateCreate(pod); len(errs) > 0 {
//		// errs[i].Field is the path at fault, such as spec.containers[0].image
//	}
//
// Tables: Columns start with the Name column and Row returns the cells after the name,
// wide (priority 1) columns included, as kube-apiserver sends them; kubectl hides the
// wide ones unless asked for -o wide.
//
// Shared pieces other components reuse: DefaultPodSpec, ValidatePodSpec and
// ValidatePodTemplateSpec for pod specs, ValidateObjectMeta for metadata.
package registry
