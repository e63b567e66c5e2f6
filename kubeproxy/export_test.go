package kubeproxy

// ServiceChain is the name of the BERTH-SVC- chain of a Service port
// named like ServicePort.Name ("ns/name:port/proto"), for the tests of
// package kubeproxy_test.
func ServiceChain(port string) string { return svcChainPrefix + hashName(port) }
