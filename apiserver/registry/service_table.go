package registry

import (
	"fmt"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/sets"
)

// serviceColumns are the columns of `kubectl get services`.
var serviceColumns = []metav1.TableColumnDefinition{
	nameColumn,
	{Name: "Type", Type: "string", Description: corev1.ServiceSpec{}.SwaggerDoc()["type"]},
	{Name: "Cluster-IP", Type: "string", Description: corev1.ServiceSpec{}.SwaggerDoc()["clusterIP"]},
	{Name: "External-IP", Type: "string", Description: corev1.ServiceSpec{}.SwaggerDoc()["externalIPs"]},
	{Name: "Port(s)", Type: "string", Description: corev1.ServiceSpec{}.SwaggerDoc()["ports"]},
	ageColumn,
	{Name: "Selector", Type: "string", Priority: 1, Description: corev1.ServiceSpec{}.SwaggerDoc()["selector"]},
}

// serviceRow renders type, cluster IP, external IP, ports ("80:30080/TCP"),
// age and selector.
func serviceRow(svc *corev1.Service, now time.Time) []interface{} {
	internalIP := "<none>"
	if len(svc.Spec.ClusterIPs) > 0 {
		internalIP = svc.Spec.ClusterIPs[0]
	} else if svc.Spec.ClusterIP != "" {
		internalIP = svc.Spec.ClusterIP
	}
	ports := servicePortString(svc.Spec.Ports)
	if ports == "" {
		ports = "<none>"
	}
	return []interface{}{
		string(svc.Spec.Type), internalIP, serviceExternalIP(svc), ports,
		translateTimestampSince(svc.CreationTimestamp, now), labels.FormatLabels(svc.Spec.Selector),
	}
}

// servicePortString renders ports as "80/TCP" or "80:30080/TCP", comma separated.
func servicePortString(ports []corev1.ServicePort) string {
	pieces := make([]string, len(ports))
	for i, p := range ports {
		if p.NodePort > 0 {
			pieces[i] = fmt.Sprintf("%d:%d/%s", p.Port, p.NodePort, p.Protocol)
		} else {
			pieces[i] = fmt.Sprintf("%d/%s", p.Port, p.Protocol)
		}
	}
	return strings.Join(pieces, ",")
}

// serviceExternalIP renders the External-IP column. Tables are always wide,
// so load balancer addresses are not clipped.
func serviceExternalIP(svc *corev1.Service) string {
	switch svc.Spec.Type {
	case corev1.ServiceTypeClusterIP, corev1.ServiceTypeNodePort:
		if len(svc.Spec.ExternalIPs) > 0 {
			return strings.Join(svc.Spec.ExternalIPs, ",")
		}
		return "<none>"
	case corev1.ServiceTypeLoadBalancer:
		lb := loadBalancerStatus(svc.Status.LoadBalancer)
		if len(svc.Spec.ExternalIPs) > 0 {
			var out []string
			if lb != "" {
				out = append(out, strings.Split(lb, ",")...)
			}
			return strings.Join(append(out, svc.Spec.ExternalIPs...), ",")
		}
		if lb != "" {
			return lb
		}
		return "<pending>"
	case corev1.ServiceTypeExternalName:
		return svc.Spec.ExternalName
	}
	return "<unknown>"
}

// loadBalancerStatus joins the sorted, unique ingress IPs or hostnames.
func loadBalancerStatus(s corev1.LoadBalancerStatus) string {
	set := sets.New[string]()
	for _, in := range s.Ingress {
		if in.IP != "" {
			set.Insert(in.IP)
		} else if in.Hostname != "" {
			set.Insert(in.Hostname)
		}
	}
	list := set.UnsortedList()
	sort.Strings(list)
	return strings.Join(list, ",")
}
