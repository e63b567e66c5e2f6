// Package volumes materialises a pod's volumes on the host and tells the
// runtime which host paths to bind-mount where, as the kubelet's volume
// manager does for the volume types berth supports: emptyDir, configMap,
// secret, downwardAPI, projected (configMap, secret and downwardAPI
// sources; not serviceAccountToken) and hostPath. It also writes each pod's /etc/hosts and
// /etc/resolv.conf.
//
// Layout under the Manager's directory, per pod:
//
//	<dir>/<podUID>/volumes/<name>/      emptyDir, configMap and secret volumes
//	<dir>/<podUID>/etc-hosts
//	<dir>/<podUID>/resolv.conf
//	<dir>/<podUID>/containers/<name>/termination-log
//
// ConfigMap, secret, downwardAPI and projected volumes are written like the kubelet's AtomicWriter
// (files in a timestamped directory behind a "..data" symlink swapped by
// rename), so calling Setup again updates them in place and running
// containers see the new contents; subPath mounts of them, as in
// Kubernetes, keep the file they were started with.
//
// emptyDir with medium Memory is a plain directory on the host's disk, not
// a tmpfs: nothing is ever mounted under the Manager's directory, so
// Cleanup is a plain recursive removal. sizeLimit is not enforced.
//
// The pod worker's sequence:
//
//	paths, err := m.Setup(pod)            // before the first container; again to refresh
//	hosts, resolv, err := m.EtcFiles(pod, podIP, dns)
//	mounts, err := m.Mounts(pod, &c, paths) // + /etc/hosts, /etc/resolv.conf
//	...
//	err = m.Cleanup(string(pod.UID))      // after the pod's containers are gone
package volumes
