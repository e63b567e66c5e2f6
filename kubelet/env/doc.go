// Package env computes a container's environment as the kubelet does: the
// envFrom sources first (ConfigMaps and Secrets, with prefix, optional
// honoured), then env in order (literal values with $(VAR) expansion against
// the variables defined so far and the service variables, or valueFrom a
// field of the pod, a resource of a container, or a key of a ConfigMap or
// Secret), then the service variables not already defined.
//
// The pod worker calls Resolve before creating a container and uses a
// returned error as the CreateContainerConfigError message; the wording
// follows the kubelet's (`configmap "x" not found`,
// `couldn't find key y in ConfigMap ns/x`). It then expands the container's
// command and args against the result:
//
//	vars, err := env.Resolve(pod, c, env.Inputs{PodIP: ip, NodeName: node,
//		ConfigMap: getCM, Secret: getSecret, ServiceEnv: svc})
//	if err != nil {
//		return waiting("CreateContainerConfigError", err.Error())
//	}
//	cmd := env.Expand(c.Command, vars)
//	args := env.Expand(c.Args, vars)
package env
