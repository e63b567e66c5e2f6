package registry

import (
	"fmt"
	"math"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Limits of a pod's DNS configuration, as Kubernetes sets them.
const (
	maxDNSNameservers     = 3
	maxDNSSearchPaths     = 32
	maxDNSSearchListChars = 2048
)

// ValidatePodTemplateSpec checks a workload's pod template at path (for
// example spec.template): its labels and annotations, and its spec as
// ValidatePodSpec does at path.spec. Ephemeral containers are not allowed in
// a template.
func ValidatePodTemplateSpec(t *corev1.PodTemplateSpec, path *field.Path) field.ErrorList {
	if t == nil {
		return field.ErrorList{field.Required(path, "")}
	}
	metaPath := path.Child("metadata")
	errs := metav1validation.ValidateLabels(t.Labels, metaPath.Child("labels"))
	errs = append(errs, apivalidation.ValidateAnnotations(t.Annotations, metaPath.Child("annotations"))...)
	errs = append(errs, ValidatePodSpec(&t.Spec, path.Child("spec"))...)
	if len(t.Spec.EphemeralContainers) > 0 {
		errs = append(errs, field.Forbidden(path.Child("spec", "ephemeralContainers"), "ephemeral containers not allowed in pod template"))
	}
	return errs
}

// ValidatePodSpec checks a defaulted PodSpec at path (spec for a Pod,
// spec.template.spec for a workload) as Kubernetes does: containers and init
// containers, volumes and their mounts, restart and DNS policies, node
// selector, tolerations, names that must be DNS labels or subdomains, and the
// pod's security context. It returns every error found.
func ValidatePodSpec(spec *corev1.PodSpec, path *field.Path) field.ErrorList {
	if spec == nil {
		return field.ErrorList{field.Required(path, "")}
	}
	var errs field.ErrorList
	vols, volErrs := validateVolumes(spec.Volumes, path.Child("volumes"))
	errs = append(errs, volErrs...)
	errs = append(errs, validateContainers(spec, vols, path.Child("containers"))...)
	errs = append(errs, validateInitContainers(spec, vols, path.Child("initContainers"))...)
	errs = append(errs, validateHostNetworkPorts(spec, path)...)
	errs = append(errs, validateRestartPolicy(spec.RestartPolicy, path.Child("restartPolicy"))...)
	errs = append(errs, validateDNSPolicy(spec.DNSPolicy, path.Child("dnsPolicy"))...)
	errs = append(errs, metav1validation.ValidateLabels(spec.NodeSelector, path.Child("nodeSelector"))...)
	errs = append(errs, validatePodSecurityContext(spec.SecurityContext, path.Child("securityContext"))...)
	errs = append(errs, validatePodDNSConfig(spec.DNSConfig, spec.DNSPolicy, path.Child("dnsConfig"))...)
	errs = append(errs, validateReadinessGates(spec.ReadinessGates, path.Child("readinessGates"))...)
	errs = append(errs, validateSchedulingGates(spec.SchedulingGates, path.Child("schedulingGates"))...)
	errs = append(errs, validateTolerations(spec.Tolerations, path.Child("tolerations"))...)
	errs = append(errs, validateHostAliases(spec.HostAliases, path.Child("hostAliases"))...)
	errs = append(errs, validateNameIf(spec.ServiceAccountName, apivalidation.NameIsDNSSubdomain, path.Child("serviceAccountName"))...)
	errs = append(errs, validateNameIf(spec.NodeName, apivalidation.NameIsDNSSubdomain, path.Child("nodeName"))...)
	errs = append(errs, validateNameIf(spec.PriorityClassName, apivalidation.NameIsDNSSubdomain, path.Child("priorityClassName"))...)
	errs = append(errs, validateNameIf(spec.Hostname, apivalidation.NameIsDNSLabel, path.Child("hostname"))...)
	errs = append(errs, validateNameIf(spec.Subdomain, apivalidation.NameIsDNSLabel, path.Child("subdomain"))...)
	if spec.RuntimeClassName != nil {
		errs = append(errs, validateNameIf(*spec.RuntimeClassName, apivalidation.NameIsDNSSubdomain, path.Child("runtimeClassName"))...)
	}
	if v := spec.ActiveDeadlineSeconds; v != nil && (*v < 1 || *v > math.MaxInt32) {
		errs = append(errs, field.Invalid(path.Child("activeDeadlineSeconds"), *v, validation.InclusiveRangeError(1, math.MaxInt32)))
	}
	if v := spec.TerminationGracePeriodSeconds; v != nil && *v < 0 {
		errs = append(errs, field.Invalid(path.Child("terminationGracePeriodSeconds"), *v, apivalidation.IsNegativeErrorMsg))
	}
	if p := spec.PreemptionPolicy; p != nil && *p != corev1.PreemptLowerPriority && *p != corev1.PreemptNever {
		errs = append(errs, field.NotSupported(path.Child("preemptionPolicy"), *p, []corev1.PreemptionPolicy{corev1.PreemptLowerPriority, corev1.PreemptNever}))
	}
	if spec.OS != nil {
		errs = append(errs, validatePodOS(spec.OS, path.Child("os"))...)
	}
	return errs
}

// validateNameIf checks a reference to another object's name, when set.
func validateNameIf(name string, fn apivalidation.ValidateNameFunc, path *field.Path) field.ErrorList {
	if name == "" {
		return nil
	}
	return invalid(path, name, fn(name, false))
}

// validateRestartPolicy checks a pod's restartPolicy.
func validateRestartPolicy(p corev1.RestartPolicy, path *field.Path) field.ErrorList {
	switch p {
	case corev1.RestartPolicyAlways, corev1.RestartPolicyOnFailure, corev1.RestartPolicyNever:
		return nil
	case "":
		return field.ErrorList{field.Required(path, "")}
	default:
		return field.ErrorList{field.NotSupported(path, p, []corev1.RestartPolicy{corev1.RestartPolicyAlways, corev1.RestartPolicyOnFailure, corev1.RestartPolicyNever})}
	}
}

// validateDNSPolicy checks a pod's dnsPolicy.
func validateDNSPolicy(p corev1.DNSPolicy, path *field.Path) field.ErrorList {
	switch p {
	case corev1.DNSClusterFirstWithHostNet, corev1.DNSClusterFirst, corev1.DNSDefault, corev1.DNSNone:
		return nil
	case "":
		return field.ErrorList{field.Required(path, "")}
	default:
		return field.ErrorList{field.NotSupported(path, p, []corev1.DNSPolicy{corev1.DNSClusterFirstWithHostNet, corev1.DNSClusterFirst, corev1.DNSDefault, corev1.DNSNone})}
	}
}

// validatePodDNSConfig checks dnsConfig, which dnsPolicy None requires.
func validatePodDNSConfig(c *corev1.PodDNSConfig, policy corev1.DNSPolicy, path *field.Path) field.ErrorList {
	if policy == corev1.DNSNone {
		if c == nil {
			return field.ErrorList{field.Required(path, fmt.Sprintf("must provide `dnsConfig` when `dnsPolicy` is %s", corev1.DNSNone))}
		}
		if len(c.Nameservers) == 0 {
			return field.ErrorList{field.Required(path.Child("nameservers"), fmt.Sprintf("must provide at least one DNS nameserver when `dnsPolicy` is %s", corev1.DNSNone))}
		}
	}
	if c == nil {
		return nil
	}
	var errs field.ErrorList
	if len(c.Nameservers) > maxDNSNameservers {
		errs = append(errs, field.Invalid(path.Child("nameservers"), c.Nameservers, fmt.Sprintf("must not have more than %v nameservers", maxDNSNameservers)))
	}
	for i, ns := range c.Nameservers {
		errs = append(errs, validation.IsValidIP(path.Child("nameservers").Index(i), ns)...)
	}
	if len(c.Searches) > maxDNSSearchPaths {
		errs = append(errs, field.Invalid(path.Child("searches"), c.Searches, fmt.Sprintf("must not have more than %v search paths", maxDNSSearchPaths)))
	}
	if len(strings.Join(c.Searches, " ")) > maxDNSSearchListChars {
		errs = append(errs, field.Invalid(path.Child("searches"), c.Searches, fmt.Sprintf("must not have more than %v characters (including spaces) in the search list", maxDNSSearchListChars)))
	}
	for i, s := range c.Searches {
		if s == "." {
			continue
		}
		s = strings.TrimSuffix(s, ".")
		errs = append(errs, invalid(path.Child("searches").Index(i), s, validation.IsDNS1123Subdomain(s))...)
	}
	for i, o := range c.Options {
		if o.Name == "" {
			errs = append(errs, field.Required(path.Child("options").Index(i), "must not be empty"))
		}
	}
	return errs
}

// validateReadinessGates checks that condition types are qualified names.
func validateReadinessGates(gates []corev1.PodReadinessGate, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	for i, g := range gates {
		errs = append(errs, validateQualifiedName(string(g.ConditionType), path.Index(i).Child("conditionType"))...)
	}
	return errs
}

// validateSchedulingGates checks that gate names are qualified and unique.
func validateSchedulingGates(gates []corev1.PodSchedulingGate, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	seen := sets.New[string]()
	for i, g := range gates {
		errs = append(errs, validateQualifiedName(g.Name, path.Index(i).Child("name"))...)
		if seen.Has(g.Name) {
			errs = append(errs, field.Duplicate(path.Index(i), g.Name))
		}
		seen.Insert(g.Name)
	}
	return errs
}

// validateTolerations checks tolerations as Kubernetes does.
func validateTolerations(tolerations []corev1.Toleration, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	for i, t := range tolerations {
		p := path.Index(i)
		if t.Key != "" {
			errs = append(errs, metav1validation.ValidateLabelName(t.Key, p.Child("key"))...)
		}
		if t.Key == "" && t.Operator != corev1.TolerationOpExists {
			errs = append(errs, field.Invalid(p.Child("operator"), t.Operator,
				"operator must be Exists when `key` is empty, which means \"match all values and all keys\""))
		}
		if t.TolerationSeconds != nil && t.Effect != corev1.TaintEffectNoExecute {
			errs = append(errs, field.Invalid(p.Child("effect"), t.Effect, "effect must be 'NoExecute' when `tolerationSeconds` is set"))
		}
		switch t.Operator {
		case corev1.TolerationOpEqual, "":
			if msgs := validation.IsValidLabelValue(t.Value); len(msgs) != 0 {
				errs = append(errs, field.Invalid(p.Child("operator"), t.Value, strings.Join(msgs, ";")))
			}
		case corev1.TolerationOpExists:
			if t.Value != "" {
				errs = append(errs, field.Invalid(p.Child("operator"), t, "value must be empty when `operator` is 'Exists'"))
			}
		default:
			errs = append(errs, field.NotSupported(p.Child("operator"), t.Operator, []corev1.TolerationOperator{corev1.TolerationOpEqual, corev1.TolerationOpExists}))
		}
		if t.Effect != "" {
			errs = append(errs, validateTaintEffect(t.Effect, p.Child("effect"))...)
		}
	}
	return errs
}

// validateTaintEffect checks a taint or toleration effect.
func validateTaintEffect(e corev1.TaintEffect, path *field.Path) field.ErrorList {
	switch e {
	case corev1.TaintEffectNoSchedule, corev1.TaintEffectPreferNoSchedule, corev1.TaintEffectNoExecute:
		return nil
	case "":
		return field.ErrorList{field.Required(path, "")}
	default:
		return field.ErrorList{field.NotSupported(path, e, []corev1.TaintEffect{corev1.TaintEffectNoSchedule, corev1.TaintEffectPreferNoSchedule, corev1.TaintEffectNoExecute})}
	}
}

// validateHostAliases checks /etc/hosts entries.
func validateHostAliases(aliases []corev1.HostAlias, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	for i, a := range aliases {
		p := path.Index(i)
		errs = append(errs, validation.IsValidIPForLegacyField(p.Child("ip"), a.IP, false, nil)...)
		for j, h := range a.Hostnames {
			errs = append(errs, invalid(p.Child("hostnames").Index(j), h, validation.IsDNS1123Subdomain(h))...)
		}
	}
	return errs
}

// validateHostNetworkPorts requires hostPort to equal containerPort when the
// pod uses the host's network.
func validateHostNetworkPorts(spec *corev1.PodSpec, path *field.Path) field.ErrorList {
	if !spec.HostNetwork {
		return nil
	}
	var errs field.ErrorList
	check := func(cs []corev1.Container, p *field.Path) {
		for i, c := range cs {
			for j, port := range c.Ports {
				if port.HostPort != port.ContainerPort {
					errs = append(errs, field.Invalid(p.Index(i).Child("ports").Index(j).Child("hostPort"), port.HostPort, "must match `containerPort` when `hostNetwork` is true"))
				}
			}
		}
	}
	check(spec.Containers, path.Child("containers"))
	check(spec.InitContainers, path.Child("initContainers"))
	return errs
}

// validatePodOS checks spec.os.
func validatePodOS(os *corev1.PodOS, path *field.Path) field.ErrorList {
	switch os.Name {
	case corev1.Linux, corev1.Windows:
		return nil
	case "":
		return field.ErrorList{field.Required(path.Child("name"), "")}
	default:
		return field.ErrorList{field.NotSupported(path.Child("name"), os.Name, []corev1.OSName{corev1.Linux, corev1.Windows})}
	}
}

// validatePodSecurityContext checks the user and group IDs of a pod.
func validatePodSecurityContext(sc *corev1.PodSecurityContext, path *field.Path) field.ErrorList {
	if sc == nil {
		return nil
	}
	var errs field.ErrorList
	errs = append(errs, validateID(sc.RunAsUser, validation.IsValidUserID, path.Child("runAsUser"))...)
	errs = append(errs, validateID(sc.RunAsGroup, validation.IsValidGroupID, path.Child("runAsGroup"))...)
	errs = append(errs, validateID(sc.FSGroup, validation.IsValidGroupID, path.Child("fsGroup"))...)
	for i := range sc.SupplementalGroups {
		errs = append(errs, validateID(&sc.SupplementalGroups[i], validation.IsValidGroupID, path.Child("supplementalGroups").Index(i))...)
	}
	if p := sc.FSGroupChangePolicy; p != nil && *p != corev1.FSGroupChangeOnRootMismatch && *p != corev1.FSGroupChangeAlways {
		errs = append(errs, field.NotSupported(path.Child("fsGroupChangePolicy"), *p, []corev1.PodFSGroupChangePolicy{corev1.FSGroupChangeOnRootMismatch, corev1.FSGroupChangeAlways}))
	}
	return errs
}

// validateID checks a user or group ID, when set.
func validateID(id *int64, fn func(int64) []string, path *field.Path) field.ErrorList {
	if id == nil {
		return nil
	}
	return invalid(path, *id, fn(*id))
}

// validateQualifiedName checks a name such as a label key.
func validateQualifiedName(name string, path *field.Path) field.ErrorList {
	return invalid(path, name, validation.IsQualifiedName(name))
}

// validateDNS1123Label checks a name that must be a DNS-1123 label.
func validateDNS1123Label(name string, path *field.Path) field.ErrorList {
	return invalid(path, name, validation.IsDNS1123Label(name))
}
