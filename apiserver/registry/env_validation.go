package registry

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// validateEnv checks env var names and their valueFrom sources.
func validateEnv(env []corev1.EnvVar, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	for i, ev := range env {
		ep := p.Index(i)
		if ev.Name == "" {
			errs = append(errs, field.Required(ep.Child("name"), ""))
		} else {
			errs = append(errs, invalid(ep.Child("name"), ev.Name, validation.IsRelaxedEnvVarName(ev.Name))...)
		}
		errs = append(errs, validateEnvVarValueFrom(ev, ep.Child("valueFrom"))...)
	}
	return errs
}

// validateEnvVarValueFrom checks that valueFrom names exactly one source and
// that value is empty when it is set.
func validateEnvVarValueFrom(ev corev1.EnvVar, p *field.Path) field.ErrorList {
	vf := ev.ValueFrom
	if vf == nil {
		return nil
	}
	var errs field.ErrorList
	n := 0
	if vf.FieldRef != nil {
		n++
		errs = append(errs, validateObjectFieldSelector(vf.FieldRef, envFieldPaths, p.Child("fieldRef"))...)
	}
	if vf.ResourceFieldRef != nil {
		n++
		errs = append(errs, validateResourceFieldSelector(vf.ResourceFieldRef, false, p.Child("resourceFieldRef"))...)
	}
	if vf.ConfigMapKeyRef != nil {
		n++
		errs = append(errs, validateKeySelector(vf.ConfigMapKeyRef.Name, vf.ConfigMapKeyRef.Key, p.Child("configMapKeyRef"))...)
	}
	if vf.SecretKeyRef != nil {
		n++
		errs = append(errs, validateKeySelector(vf.SecretKeyRef.Name, vf.SecretKeyRef.Key, p.Child("secretKeyRef"))...)
	}
	if vf.FileKeyRef != nil {
		n++
	}
	switch {
	case n == 0:
		errs = append(errs, field.Invalid(p, "", "must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`"))
	case ev.Value != "":
		errs = append(errs, field.Invalid(p, "", "may not be specified when `value` is not empty"))
	case n > 1:
		errs = append(errs, field.Invalid(p, "", "may not have more than one field specified at a time"))
	}
	return errs
}

// validateObjectFieldSelector checks a downward API fieldRef against the
// paths allowed where it is used; labels and annotations may be subscripted.
func validateObjectFieldSelector(fs *corev1.ObjectFieldSelector, allowed sets.Set[string], p *field.Path) field.ErrorList {
	if fs.APIVersion == "" {
		return field.ErrorList{field.Required(p.Child("apiVersion"), "")}
	}
	if fs.FieldPath == "" {
		return field.ErrorList{field.Required(p.Child("fieldPath"), "")}
	}
	if fs.APIVersion != "v1" {
		return field.ErrorList{field.Invalid(p.Child("fieldPath"), fs.FieldPath, fmt.Sprintf("error converting fieldPath: unsupported version %q", fs.APIVersion))}
	}
	if base, sub, ok := splitSubscript(fs.FieldPath); ok {
		switch base {
		case "metadata.annotations":
			return validateQualifiedName(strings.ToLower(sub), p)
		case "metadata.labels":
			return validateQualifiedName(sub, p)
		default:
			return field.ErrorList{field.Invalid(p, base, "does not support subscript")}
		}
	}
	if !allowed.Has(fs.FieldPath) {
		return field.ErrorList{field.NotSupported(p.Child("fieldPath"), fs.FieldPath, sets.List(allowed))}
	}
	return nil
}

// splitSubscript splits "metadata.labels['key']" into its path and key.
func splitSubscript(fp string) (base, sub string, ok bool) {
	if !strings.HasSuffix(fp, "']") {
		return "", "", false
	}
	i := strings.Index(fp, "['")
	if i < 0 {
		return "", "", false
	}
	return fp[:i], fp[i+2 : len(fp)-2], true
}

// validateResourceFieldSelector checks a resourceFieldRef; a volume's must
// name its container.
func validateResourceFieldSelector(fs *corev1.ResourceFieldSelector, needContainer bool, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if needContainer && fs.ContainerName == "" {
		errs = append(errs, field.Required(p.Child("containerName"), ""))
	}
	switch {
	case fs.Resource == "":
		errs = append(errs, field.Required(p.Child("resource"), ""))
	case resourceFieldPaths.Has(fs.Resource),
		strings.HasPrefix(fs.Resource, "limits.hugepages-"), strings.HasPrefix(fs.Resource, "requests.hugepages-"):
	default:
		errs = append(errs, field.NotSupported(p.Child("resource"), fs.Resource, sets.List(resourceFieldPaths)))
	}
	return errs
}

// validateKeySelector checks a configMapKeyRef or secretKeyRef.
func validateKeySelector(name, key string, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	errs = append(errs, invalid(p.Child("name"), name, validation.IsDNS1123Subdomain(name))...)
	if key == "" {
		errs = append(errs, field.Required(p.Child("key"), ""))
	} else {
		errs = append(errs, invalid(p.Child("key"), key, validation.IsConfigMapKey(key))...)
	}
	return errs
}

// validateEnvFrom checks envFrom sources: exactly one of configMapRef and secretRef each.
func validateEnvFrom(sources []corev1.EnvFromSource, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	for i, s := range sources {
		sp := p.Index(i)
		if s.Prefix != "" {
			errs = append(errs, invalid(sp.Child("prefix"), s.Prefix, validation.IsRelaxedEnvVarName(s.Prefix))...)
		}
		n := 0
		if s.ConfigMapRef != nil {
			n++
			errs = append(errs, validateEnvSourceName(s.ConfigMapRef.Name, sp.Child("configMapRef", "name"))...)
		}
		if s.SecretRef != nil {
			n++
			errs = append(errs, validateEnvSourceName(s.SecretRef.Name, sp.Child("secretRef", "name"))...)
		}
		switch {
		case n == 0:
			errs = append(errs, field.Invalid(p, "", "must specify one of: `configMapRef` or `secretRef`"))
		case n > 1:
			errs = append(errs, field.Invalid(p, "", "may not have more than one field specified at a time"))
		}
	}
	return errs
}

// validateEnvSourceName checks the name of an envFrom ConfigMap or Secret.
func validateEnvSourceName(name string, p *field.Path) field.ErrorList {
	if name == "" {
		return field.ErrorList{field.Required(p, "")}
	}
	return invalid(p, name, validation.IsDNS1123Subdomain(name))
}
