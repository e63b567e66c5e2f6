// Package runtime runs the kubelet's containers on containerd and runc.
package runtime
